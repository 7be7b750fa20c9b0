// When an order id is forgotten: one rule for the live order book, the
// snapshot's pruning and recovery (docs/design.md, "When an order is
// forgotten"). It reads only what the journal records about the order, so a
// recovered engine forgets each id exactly when the engine that wrote the
// journal would have, whatever its threads were doing.
#ifndef FLASHSTOCK_INTERNAL_FORGET_RULE_H_
#define FLASHSTOCK_INTERNAL_FORGET_RULE_H_

#include <cstdint>
#include <limits>

namespace flashstock::internal {

// a + b, clamped to the int64 range instead of overflowing.
constexpr std::int64_t SaturatingAdd(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
}

// No deadline to wait for: a failed reserve held nothing, and its record
// carries no deadline.
inline constexpr std::int64_t kNoDeadline = std::numeric_limits<std::int64_t>::min();

// The time at which a settled order (closed, returned or failed) is
// forgotten: the later of its last state change + retention and the hold's
// deadline. The deadline term keeps a hold that closed early known until
// its deadline, so a RESERVE retried within its ttl is recognised (answered
// as the first time) and never starts a second order. Times are on one
// clock (the book's, or the journal's wall clock: the rule commutes with
// the fixed offset between them). REQUIRES: retention_nanos >= 0.
constexpr std::int64_t OrderForgetAtNanos(std::int64_t changed_nanos, std::int64_t deadline_nanos,
                                          std::int64_t retention_nanos) {
  const std::int64_t after_retention = SaturatingAdd(changed_nanos, retention_nanos);
  return after_retention > deadline_nanos ? after_retention : deadline_nanos;
}

// Whether an order with that forget time is forgotten at `now_nanos`.
constexpr bool OrderForgottenAt(std::int64_t forget_at_nanos, std::int64_t now_nanos) {
  return now_nanos >= forget_at_nanos;
}

}  // namespace flashstock::internal

#endif  // FLASHSTOCK_INTERNAL_FORGET_RULE_H_
