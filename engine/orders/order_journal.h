// What the order book needs from a journal, and what it hands it: the
// engine implements OrderJournal over its journal writer (engine/
// order_journal_adapter.cc), so the book knows no record bytes and the
// journal knows no order book.
#ifndef FLASHSTOCK_ORDERS_ORDER_JOURNAL_H_
#define FLASHSTOCK_ORDERS_ORDER_JOURNAL_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "flashstock/limits.h"
#include "flashstock/order.h"
#include "flashstock/outcome.h"

namespace flashstock {

// Identifies one journaled order record so that another thread can wait for
// it to be durable: the journal producer that pushed it (index + 1; 0 = no
// record) and that producer's local sequence.
struct OrderTicket {
  std::uint32_t producer = 0;
  std::uint64_t seq = 0;
};

// One order line as journaled: SKU index and quantity.
struct JournalLine {
  std::uint32_t sku = 0;
  std::uint32_t quantity = 0;
};

// One order state change to journal. Times are on the book's Clock.
struct OrderEvent {
  OrderState state = OrderState::kNone;  // kHeld: reserve; kFailed: failed reserve; else the close
  OrderId id = 0;
  std::int64_t deadline_nanos = 0;       // the hold's deadline (a close's tag)
  std::int64_t at_nanos = 0;             // when
  std::uint32_t short_line = 0;          // kFailed
  std::int64_t available = 0;            // kFailed
  std::uint32_t line_count = 0;          // kHeld, kFailed
  std::array<JournalLine, kOrderLinesMax> lines{};
};

// Where an OrderBook journals (the engine implements it over its journal
// writer). Protocol, per operation and thread: Prepare() before anything
// changes; if it returns kOk, exactly one of Append() (after the transition
// is won, before the final state is published) or Abandon() follows on the
// same thread. Prepare refusing (kBackpressure, kReadOnly) means the
// operation must change nothing; `reads_floor` (a reserve) marks the thread
// as reading floors until Append or Abandon, so a floor raise can wait for
// its record. WaitDurable blocks until every given ticket is durable (sync
// mode; returns at once otherwise); false: the journal failed and the
// answer must not be acknowledged.
//
// Durable order follows dependence (docs/design.md): a close must land in
// the file after the reserve it closes (a return after its commit), and a
// give-back's units must not be used before its record is placed. So,
// between Prepare and Append, OrderAfter(deps) waits until the records of
// `deps` pushed by other threads are sequenced (this thread's own are ahead
// of its next push anyway); and a give-back moves its stock only after
// WaitSequenced(own ticket). Both return false once the journal failed.
class OrderJournal {
 public:
  virtual ~OrderJournal() = default;
  virtual Outcome Prepare(bool reads_floor) = 0;
  virtual OrderTicket Append(const OrderEvent& event) = 0;
  virtual void Abandon() = 0;
  virtual bool WaitDurable(const OrderTicket* tickets, std::size_t count) = 0;
  virtual bool OrderAfter(const OrderTicket* deps, std::size_t count) = 0;
  virtual bool WaitSequenced(const OrderTicket& ticket) = 0;
};

}  // namespace flashstock

#endif  // FLASHSTOCK_ORDERS_ORDER_JOURNAL_H_
