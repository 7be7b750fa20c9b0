// Results of stock operations as values: an enum for the expected outcomes on
// the hot path (TigerBeetle's result codes), no allocation, no exceptions.
#ifndef FLASHSTOCK_OUTCOME_H_
#define FLASHSTOCK_OUTCOME_H_

#include <cstdint>
#include <string_view>

namespace flashstock {

enum class Outcome : std::uint8_t {
  kOk = 0,
  kInsufficient,     // a take would go below the floor; `available` is what was seen
  kUnknownSku,       // no SKU of that name, or a handle this engine never issued
  kInvalidQuantity,  // zero, negative, or a result past INT64_MAX; floor out of range
  kInvalidName,      // empty or longer than kNameBytesMax
  kAlreadyDefined,   // define of an existing name (restock instead)
  kCatalogFull,      // define past the capacity set at construction
  kBackpressure,     // the journal queue is full and the engine is set to refuse; nothing changed
  kReadOnly,         // the journal failed; changes are refused, reads still answered
  // Orders; see order.h.
  kUnknownOrder,     // no order with that id (never seen, or forgotten after retention)
  kOrderClosed,      // the order's final state was already decided; `state` names it
  kOrderConflict,    // a reserve reused an order id with different lines
  kOrdersFull,       // every order slot is open or still remembered; nothing changed
  kInvalidOrder,     // order id 0, no lines, too many lines, or a ttl out of range
  kOrderOpen,        // RETURN of an order that is still held (cancel it instead)
  // Escrow; see engine.h.
  kEscrowFull,       // SetEscrow(on) past kEscrowSkusMax SKUs in escrow; nothing changed
};

// The wire name used by the shell (`ERR <CODE> …`) and in logs.
std::string_view OutcomeCode(Outcome outcome);

// One operation's answer. `available` is the level after the operation when it
// succeeded, or the level seen when it was refused for insufficiency.
// `taken` is what TakeUpTo took (0 is an answer, not an error).
struct [[nodiscard]] StockResult {
  Outcome outcome = Outcome::kOk;
  std::int64_t available = 0;
  std::int64_t taken = 0;

  bool ok() const { return outcome == Outcome::kOk; }
};

}  // namespace flashstock

#endif  // FLASHSTOCK_OUTCOME_H_
