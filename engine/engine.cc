#include "flashstock/engine.h"

namespace flashstock {

Engine::Engine(const EngineOptions& options)
    : catalog_(options.skus_max),
      orders_(&catalog_, options.clock != nullptr ? options.clock : Clock::Steady(), options.orders_max,
              options.order_retention_ms) {
  if (options.expiry_thread) orders_.StartExpiryThread();
}

StockResult Engine::Define(std::string_view name, std::int64_t quantity, std::int64_t floor) {
  const Catalog::Defined defined = catalog_.Define(name, quantity, floor);
  if (defined.outcome != Outcome::kOk) return {defined.outcome, 0, 0};
  return {Outcome::kOk, quantity, 0};
}

std::optional<SkuHandle> Engine::Resolve(std::string_view name) const {
  std::optional<std::uint32_t> index = catalog_.Find(name);
  if (!index.has_value()) return std::nullopt;
  return SkuHandle{*index};
}

std::string_view Engine::Name(SkuHandle sku) const {
  if (!catalog_.Contains(sku.index)) return {};
  return catalog_.name(sku.index);
}

StockResult Engine::Take(SkuHandle sku, std::int64_t quantity) {
  if (quantity <= 0) return {Outcome::kInvalidQuantity, 0, 0};
  if (!catalog_.Contains(sku.index)) return {Outcome::kUnknownSku, 0, 0};
  const StockCell::Change change = catalog_.cell(sku.index).TryTake(quantity);
  if (!change.ok) return {Outcome::kInsufficient, change.available, 0};
  return {Outcome::kOk, change.available, quantity};
}

StockResult Engine::TakeUpTo(SkuHandle sku, std::int64_t quantity) {
  if (quantity <= 0) return {Outcome::kInvalidQuantity, 0, 0};
  if (!catalog_.Contains(sku.index)) return {Outcome::kUnknownSku, 0, 0};
  const StockCell::Partial partial = catalog_.cell(sku.index).TakeUpTo(quantity);
  return {Outcome::kOk, partial.available, partial.taken};
}

StockResult Engine::Restock(SkuHandle sku, std::int64_t quantity) {
  if (quantity <= 0) return {Outcome::kInvalidQuantity, 0, 0};
  if (!catalog_.Contains(sku.index)) return {Outcome::kUnknownSku, 0, 0};
  const StockCell::Change change = catalog_.cell(sku.index).Restock(quantity);
  if (!change.ok) return {Outcome::kInvalidQuantity, change.available, 0};
  return {Outcome::kOk, change.available, 0};
}

StockResult Engine::Level(SkuHandle sku) const {
  if (!catalog_.Contains(sku.index)) return {Outcome::kUnknownSku, 0, 0};
  return {Outcome::kOk, catalog_.cell(sku.index).Level(), 0};
}

StockResult Engine::SetFloor(SkuHandle sku, std::int64_t floor) {
  if (!catalog_.Contains(sku.index)) return {Outcome::kUnknownSku, 0, 0};
  if (floor > 0) return {Outcome::kInvalidQuantity, 0, 0};
  StockCell& cell = catalog_.cell(sku.index);
  cell.SetFloor(floor);
  return {Outcome::kOk, cell.Level(), 0};
}

std::optional<std::int64_t> Engine::Floor(SkuHandle sku) const {
  if (!catalog_.Contains(sku.index)) return std::nullopt;
  return catalog_.cell(sku.index).Floor();
}

std::optional<SkuHandle> Engine::Lookup(std::string_view name, Outcome* why) const {
  if (!Catalog::ValidName(name)) {
    *why = Outcome::kInvalidName;
    return std::nullopt;
  }
  std::optional<SkuHandle> sku = Resolve(name);
  if (!sku.has_value()) *why = Outcome::kUnknownSku;
  return sku;
}

StockResult Engine::Take(std::string_view name, std::int64_t quantity) {
  Outcome why;
  std::optional<SkuHandle> sku = Lookup(name, &why);
  return sku ? Take(*sku, quantity) : StockResult{why, 0, 0};
}

StockResult Engine::TakeUpTo(std::string_view name, std::int64_t quantity) {
  Outcome why;
  std::optional<SkuHandle> sku = Lookup(name, &why);
  return sku ? TakeUpTo(*sku, quantity) : StockResult{why, 0, 0};
}

StockResult Engine::Restock(std::string_view name, std::int64_t quantity) {
  Outcome why;
  std::optional<SkuHandle> sku = Lookup(name, &why);
  return sku ? Restock(*sku, quantity) : StockResult{why, 0, 0};
}

StockResult Engine::Level(std::string_view name) const {
  Outcome why;
  std::optional<SkuHandle> sku = Lookup(name, &why);
  return sku ? Level(*sku) : StockResult{why, 0, 0};
}

StockResult Engine::SetFloor(std::string_view name, std::int64_t floor) {
  Outcome why;
  std::optional<SkuHandle> sku = Lookup(name, &why);
  return sku ? SetFloor(*sku, floor) : StockResult{why, 0, 0};
}

// ---- Orders (issue 4) ----------------------------------------------------------

StockLevels Engine::Levels(SkuHandle sku) const {
  if (!catalog_.Contains(sku.index)) return {Outcome::kUnknownSku};
  const StockCell& cell = catalog_.cell(sku.index);
  return {Outcome::kOk, cell.Level(), cell.Held(), cell.Sold()};
}

StockLevels Engine::Levels(std::string_view name) const {
  Outcome why;
  std::optional<SkuHandle> sku = Lookup(name, &why);
  return sku ? Levels(*sku) : StockLevels{why};
}

}  // namespace flashstock
