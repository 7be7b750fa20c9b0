// What tests of the engine's internals may reach inside an Engine: the order
// book, to drive its recovery entry points directly. Not part of the API;
// only targets that link the internal ones can include it.
#ifndef FLASHSTOCK_ENGINE_ACCESS_H_
#define FLASHSTOCK_ENGINE_ACCESS_H_

#include "flashstock/engine.h"
#include "orders/order_book.h"

namespace flashstock::internal {

struct EngineAccess {
  static OrderBook& orders(Engine& engine) { return *engine.orders_; }
};

}  // namespace flashstock::internal

#endif  // FLASHSTOCK_ENGINE_ACCESS_H_
