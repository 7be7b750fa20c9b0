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
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "flashstock/catalog.h"
#include "flashstock/clock.h"
#include "flashstock/limits.h"
#include "flashstock/orders.h"
#include "flashstock/outcome.h"
#include "flashstock/sku_handle.h"

namespace flashstock {

struct EngineOptions {
  // Maximum number of SKUs, fixed for the engine's life; cells for all of
  // them are allocated up front. REQUIRES: 1 <= skus_max <= kSkusMaxLimit.
  std::uint32_t skus_max = kSkusMaxDefault;

  // ---- Orders (issue 4); see orders.h ----
  // Time source for hold deadlines and expiry; nullptr = Clock::Steady().
  // Tests pass a ManualClock. REQUIRES: outlives the engine.
  const Clock* clock = nullptr;
  // Orders remembered at once (open + within retention). REQUIRES:
  // 1 <= orders_max <= kOrdersMaxLimit.
  std::uint32_t orders_max = kOrdersMaxDefault;
  // How long a closed order's id is remembered. REQUIRES: 0 <= value <= kOrderRetentionMsMax.
  std::int64_t order_retention_ms = kOrderRetentionMsDefault;
  // Run the expiry driver on a thread the engine owns. Tests that drive
  // expiry by hand set this false and call SweepExpired().
  bool expiry_thread = true;
};

// A SKU's three counters (see stock_cell.h for what they mean together).
struct [[nodiscard]] StockLevels {
  Outcome outcome = Outcome::kOk;
  std::int64_t available = 0;
  std::int64_t held = 0;
  std::int64_t sold = 0;

  bool ok() const { return outcome == Outcome::kOk; }
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

  // ---- Orders (issue 4) ------------------------------------------------------
  // Holds, all-or-nothing reserves, one final state per order, returns and
  // idempotent retries; the contract is in orders.h.
  OrderResult Reserve(OrderId id, std::span<const OrderLine> lines, std::int64_t ttl_ms) {
    return orders_.Reserve(id, lines, ttl_ms);
  }
  OrderResult Commit(OrderId id) { return orders_.Commit(id); }
  OrderResult Cancel(OrderId id) { return orders_.Cancel(id); }
  OrderResult Return(OrderId id) { return orders_.Return(id); }
  std::optional<OrderInfo> GetOrder(OrderId id) const { return orders_.Get(id); }
  // available, held, sold; kUnknownSku (or kInvalidName by name).
  StockLevels Levels(SkuHandle sku) const;
  StockLevels Levels(std::string_view name) const;
  // Runs the expiry driver once at the clock's time (what the expiry thread
  // does every kExpirySweepIntervalNanos); returns the holds it expired.
  std::size_t SweepExpired() { return orders_.Sweep(); }
  ExpiryStats expiry_stats() const { return orders_.expiry_stats(); }
  // Recovery entry points (RestoreHold, RestoreClose) for journal replay.
  OrderBook& orders() { return orders_; }

 private:
  // Resolves a name for a by-name call, or says why it cannot.
  std::optional<SkuHandle> Lookup(std::string_view name, Outcome* why) const;

  Catalog catalog_;
  OrderBook orders_;  // after catalog_: destroyed (expiry thread stopped) first
};

}  // namespace flashstock

#endif  // FLASHSTOCK_ENGINE_H_
