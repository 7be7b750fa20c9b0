// One validator per input: every limit of limits.h is checked here and
// nowhere else. The API (Engine, Catalog, OrderBook), the shell, journal
// replay and the snapshot loader all call these, so the same value gets the
// same answer whichever way it arrives, and a journal or snapshot value the
// API would refuse is refused as damage.
//
// Each function returns kOk or the Outcome the API answers for that input.
// Where one command has several inputs, the order of the checks is part of
// the answer and is written down once: ValidateDefine (name, floor, level;
// then the caller checks the name is new, then capacity) and
// ValidateReserveShape (id, ttl, line count; then each line's quantity).
#ifndef FLASHSTOCK_VALIDATE_H_
#define FLASHSTOCK_VALIDATE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "flashstock/limits.h"
#include "flashstock/outcome.h"

namespace flashstock {

// 1..kNameBytesMax bytes.
constexpr Outcome ValidateName(std::string_view name) {
  return name.size() >= kNameBytesMin && name.size() <= kNameBytesMax ? Outcome::kOk : Outcome::kInvalidName;
}

// A floor is in [kFloorMin, 0]: 0 refuses backorders, below 0 allows them.
constexpr Outcome ValidateFloor(std::int64_t floor) {
  return floor >= kFloorMin && floor <= 0 ? Outcome::kOk : Outcome::kInvalidQuantity;
}

// Units moved by one take, take-up-to or restock: [1, kQuantityMax].
constexpr Outcome ValidateQuantity(std::int64_t quantity) {
  return quantity >= 1 && quantity <= kQuantityMax ? Outcome::kOk : Outcome::kInvalidQuantity;
}

// A level a define (or a restock's result) may set: [0, kLevelMax]. The
// ceiling keeps kGiveBackHeadroom free for give-backs (limits.h).
constexpr Outcome ValidateLevel(std::int64_t level) {
  return level >= 0 && level <= kLevelMax ? Outcome::kOk : Outcome::kInvalidQuantity;
}

// A new SKU, checked in this order: name, floor, level. Whether the name is
// already defined and whether the catalog has room are checked after these
// by the caller (they need the catalog), in that order.
constexpr Outcome ValidateDefine(std::string_view name, std::int64_t level, std::int64_t floor) {
  if (Outcome o = ValidateName(name); o != Outcome::kOk) return o;
  if (Outcome o = ValidateFloor(floor); o != Outcome::kOk) return o;
  return ValidateLevel(level);  // level >= 0 >= floor, so the level is never below the floor
}

// One order line's units, before and after summing lines of one SKU.
constexpr Outcome ValidateOrderLineQuantity(std::int64_t quantity) {
  return quantity >= 1 && quantity <= kOrderLineQuantityMax ? Outcome::kOk : Outcome::kInvalidQuantity;
}

// A reserve's shape, checked in this order: id != 0, ttl in
// [kHoldTtlMsMin, kHoldTtlMsMax], at least one line (kInvalidOrder). The
// lines' quantities, SKUs and the distinct-SKU count (<= kOrderLinesMax)
// are checked next, line by line, by the order book's normalisation.
constexpr Outcome ValidateReserveShape(std::uint64_t id, std::int64_t ttl_ms, std::size_t lines) {
  if (id == 0) return Outcome::kInvalidOrder;
  if (ttl_ms < kHoldTtlMsMin || ttl_ms > kHoldTtlMsMax) return Outcome::kInvalidOrder;
  return lines >= 1 ? Outcome::kOk : Outcome::kInvalidOrder;
}

// Lines of an order after normalising: 1..kOrderLinesMax distinct SKUs.
constexpr Outcome ValidateLineCount(std::size_t lines) {
  return lines >= 1 && lines <= kOrderLinesMax ? Outcome::kOk : Outcome::kInvalidOrder;
}

// EngineOptions::order_retention_ms: [0, kOrderRetentionMsMax] (0 forgets a
// closed order at the first sweep; tests use it). The shell's flag asks for
// at least kOrderRetentionMsOperatorMin on top of this.
constexpr bool ValidOrderRetentionMs(std::int64_t ms) { return ms >= 0 && ms <= kOrderRetentionMsMax; }
constexpr bool ValidOperatorRetentionMs(std::int64_t ms) {
  return ValidOrderRetentionMs(ms) && ms >= kOrderRetentionMsOperatorMin;
}

}  // namespace flashstock

#endif  // FLASHSTOCK_VALIDATE_H_
