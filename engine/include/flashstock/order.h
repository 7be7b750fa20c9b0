// Orders' value types: ids, lines, states and the answers of Engine::Reserve,
// Commit, Cancel, Return and GetOrder. The lifecycle of one order id:
//
//   Reserve --short line--> FAILED (held nothing; stays failed)
//      |
//      v
//    HELD --commit--> COMMITTED --return--> RETURNED
//      |--cancel----> CANCELLED
//      '--deadline--> EXPIRED
//
// Exactly one of commit, cancel and expiry decides an order, and a retry
// of a reserve with the same lines answers as the first did. The contract
// in full is in docs/api.md; how the engine keeps it, in docs/design.md
// ("Orders").
#ifndef FLASHSTOCK_ORDER_H_
#define FLASHSTOCK_ORDER_H_

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "flashstock/limits.h"
#include "flashstock/outcome.h"
#include "flashstock/sku_handle.h"

namespace flashstock {

// Chosen by the caller (a gateway's request or cart id). 0 is not an id.
using OrderId = std::uint64_t;

enum class OrderState : std::uint8_t {
  kNone = 0,   // not an order
  kReserving,  // a reserve is moving stock right now; settles to kHeld or kFailed
  kHeld,
  kCommitted,
  kCancelled,
  kExpired,
  kReturned,
  kFailed,     // the reserve found a line short; it holds nothing
};
// "HELD", "COMMITTED", ... as the shell prints them.
std::string_view OrderStateName(OrderState state);

struct OrderLine {
  SkuHandle sku;
  std::int64_t quantity = 0;

  friend bool operator==(const OrderLine&, const OrderLine&) = default;
};

// One order operation's answer.
//   kOk                 the operation took effect (or, for a repeated
//                       reserve, had taken effect the first time); `state`
//                       is the order's state now.
//   kInsufficient       reserve: `short_sku` had only `available` units
//                       (state kFailed); repeated identically by retries.
//   kOrderClosed        `state` is the final state that won earlier.
//   kOrderOpen          return of an order still held.
//   kUnknownOrder, kOrderConflict, kOrdersFull, kInvalidOrder,
//   kInvalidQuantity, kUnknownSku: nothing changed.
struct [[nodiscard]] OrderResult {
  Outcome outcome = Outcome::kOk;
  OrderState state = OrderState::kNone;
  SkuHandle short_sku{};
  std::int64_t available = 0;

  bool ok() const { return outcome == Outcome::kOk; }
};

// What GetOrder reports: the normalised lines (summed per SKU, sorted by
// SKU index) and the hold's deadline on the engine's clock.
struct OrderInfo {
  OrderState state = OrderState::kNone;
  std::int64_t deadline_nanos = 0;
  std::uint32_t line_count = 0;
  std::array<OrderLine, kOrderLinesMax> lines{};

  std::span<const OrderLine> Lines() const { return {lines.data(), line_count}; }
};

// The expiry driver's record, for monitoring and the lateness benchmark.
// Lateness = the clock when the expired hold's stock was back in available,
// minus the hold's deadline.
struct ExpiryStats {
  std::uint64_t sweeps = 0;
  std::uint64_t expired = 0;     // holds the driver expired (not those a late commit/cancel expired)
  std::uint64_t forgotten = 0;   // ids forgotten after retention; slots reused
  std::uint64_t scheduled = 0;   // slots in the wheel: open holds + remembered closed orders
  std::uint64_t helped_sweeps = 0;  // sweeps run by a reserve that found every slot busy
  std::int64_t lateness_p50_nanos = 0;
  std::int64_t lateness_p99_nanos = 0;
  std::int64_t lateness_max_nanos = 0;
};

}  // namespace flashstock

#endif  // FLASHSTOCK_ORDER_H_
