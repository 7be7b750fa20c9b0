// What tests of the engine's internals may reach inside an Engine: the order
// book, to drive its recovery entry points directly, and auto escrow's
// contention count, to cross its threshold exactly. Not part of the API;
// only targets that link the internal ones can include it.
#ifndef FLASHSTOCK_ENGINE_ACCESS_H_
#define FLASHSTOCK_ENGINE_ACCESS_H_

#include "flashstock/engine.h"
#include "orders/order_book.h"

namespace flashstock::internal {

struct EngineAccess {
  static OrderBook& orders(Engine& engine) { return *engine.orders_; }
  static void NoteContention(Engine& engine, SkuHandle sku, std::uint32_t retries) {
    engine.NoteContention(sku.index, retries);
  }
};

}  // namespace flashstock::internal

#endif  // FLASHSTOCK_ENGINE_ACCESS_H_
