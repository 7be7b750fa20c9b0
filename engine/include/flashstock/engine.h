// flashstock's public facade: define SKUs, resolve names to handles, and take,
// take-up-to, restock and read stock, by handle (the hot path) or by name.
//
// Thread-safety: every method may be called from any thread at any time.
// By handle, a take is one compare-and-swap on the SKU's own cache line: no
// allocation, no lock, no syscall. By name, a lookup first reads the catalog
// without writing shared memory (see catalog.h).
//
// Errors: expected outcomes come back as an Outcome in a StockResult; no
// method throws.
//
// Example:
//   flashstock::Engine engine({.skus_max = 1000});
//   (void)engine.Define("tee-black-m", 500);
//   flashstock::SkuHandle tee = *engine.Resolve("tee-black-m");
//   flashstock::StockResult r = engine.Take(tee, 2);
//   if (r.outcome == flashstock::Outcome::kInsufficient) { /* r.available left */ }
#ifndef FLASHSTOCK_ENGINE_H_
#define FLASHSTOCK_ENGINE_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "flashstock/catalog.h"
#include "flashstock/limits.h"
#include "flashstock/outcome.h"
#include "flashstock/sku_handle.h"

namespace flashstock {

struct EngineOptions {
  // Maximum number of SKUs, fixed for the engine's life; cells for all of
  // them are allocated up front. REQUIRES: 1 <= skus_max <= kSkusMaxLimit.
  std::uint32_t skus_max = kSkusMaxDefault;
};

class Engine {
 public:
  explicit Engine(const EngineOptions& options);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Adds a SKU with `quantity` units (>= 0) and a floor (<= 0; negative allows
  // backorders down to it). Returns kOk with the level, or kInvalidName,
  // kInvalidQuantity, kAlreadyDefined, kCatalogFull. Redefining is an error:
  // restock instead.
  StockResult Define(std::string_view name, std::int64_t quantity, std::int64_t floor = 0);

  // Name -> handle; nullopt for an unknown or invalid name. Resolve once, keep
  // the handle: it is valid for the engine's life.
  std::optional<SkuHandle> Resolve(std::string_view name) const;
  std::string_view Name(SkuHandle sku) const;

  // All or nothing. kOk with the level after; kInsufficient with the level
  // seen; kInvalidQuantity unless 0 < quantity; kUnknownSku.
  StockResult Take(SkuHandle sku, std::int64_t quantity);
  // Takes min(quantity, level - floor): kOk with `taken` (maybe 0) and the
  // level after; kInvalidQuantity; kUnknownSku.
  StockResult TakeUpTo(SkuHandle sku, std::int64_t quantity);
  // Adds units. kOk with the level after; kInvalidQuantity for quantity <= 0
  // or a level past INT64_MAX (nothing changes); kUnknownSku.
  StockResult Restock(SkuHandle sku, std::int64_t quantity);
  // kOk with the level now; kUnknownSku.
  StockResult Level(SkuHandle sku) const;
  // Changes the floor (<= 0, else kInvalidQuantity). Takes that start after
  // this returns obey the new floor. kOk with the level.
  StockResult SetFloor(SkuHandle sku, std::int64_t floor);
  std::optional<std::int64_t> Floor(SkuHandle sku) const;

  // The same operations by name: one lookup each, then as by handle.
  // kInvalidName for an empty or over-long name, kUnknownSku for no such SKU.
  StockResult Take(std::string_view name, std::int64_t quantity);
  StockResult TakeUpTo(std::string_view name, std::int64_t quantity);
  StockResult Restock(std::string_view name, std::int64_t quantity);
  StockResult Level(std::string_view name) const;
  StockResult SetFloor(std::string_view name, std::int64_t floor);

  std::uint32_t sku_count() const { return catalog_.size(); }
  std::uint32_t skus_max() const { return catalog_.capacity(); }

 private:
  // Resolves a name for a by-name call, or says why it cannot.
  std::optional<SkuHandle> Lookup(std::string_view name, Outcome* why) const;

  Catalog catalog_;
};

}  // namespace flashstock

#endif  // FLASHSTOCK_ENGINE_H_
