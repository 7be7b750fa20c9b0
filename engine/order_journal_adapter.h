// The engine's side of the order book's journal: turns an OrderEvent (the
// book's words) into a group of journal entries (the journal's words), so
// neither knows the other. Header-only: the engine is its one user.
#ifndef FLASHSTOCK_ORDER_JOURNAL_ADAPTER_H_
#define FLASHSTOCK_ORDER_JOURNAL_ADAPTER_H_

#include <cstddef>
#include <cstdint>
#include <mutex>

#include "base/check.h"
#include "flashstock/options.h"
#include "journal/journal_writer.h"
#include "orders/order_journal.h"

namespace flashstock {

// The order book's journal: order records go through the calling thread's
// ring like takes (room reserved before the change, one group push after
// it), converted from the engine's steady clock to wall-clock time with the
// offset fixed at open. See docs/design.md, "Orders in the journal".
class EngineOrderJournal final : public OrderJournal {
 public:
  EngineOrderJournal(journal::JournalWriter* writer, Durability durability, std::int64_t wall_offset_nanos)
      : writer_(writer), durability_(durability), wall_offset_nanos_(wall_offset_nanos) {}

  Outcome Prepare(bool reads_floor) override {
    journal::Producer* p = writer_->ThisThreadProducer();
    if (p->shared) writer_->shared_mu().lock();  // held until Append or Abandon
    const Outcome o = writer_->Reserve(p, journal::kOrderEntriesMax);
    if (o != Outcome::kOk && p->shared) writer_->shared_mu().unlock();
    if (o == Outcome::kOk && reads_floor) journal::JournalWriter::BeginFloorRead(p);
    return o;
  }

  bool OrderAfter(const OrderTicket* deps, std::size_t count) override {
    const journal::Producer* own = writer_->ThisThreadProducer();
    for (std::size_t i = 0; i < count; ++i) {
      if (deps[i].producer == 0) continue;
      journal::Producer* p = writer_->ProducerAt(deps[i].producer - 1);
      FLASHSTOCK_CHECK(p != nullptr);
      if (p == own) continue;  // one ring: popped in push order
      if (!writer_->WaitSequenced(p, deps[i].seq)) return false;
    }
    return true;
  }

  bool WaitSequenced(const OrderTicket& ticket) override {
    if (ticket.producer == 0) return true;
    journal::Producer* p = writer_->ProducerAt(ticket.producer - 1);
    FLASHSTOCK_CHECK(p != nullptr);
    return writer_->WaitSequenced(p, ticket.seq);
  }

  OrderTicket Append(const OrderEvent& e) override {
    using journal::Entry;
    using journal::RecordType;
    constexpr RecordType kCont = journal::kEntryContinuation;
    journal::Producer* p = writer_->ThisThreadProducer();
    Entry entries[journal::kOrderEntriesMax];
    std::size_t n = 0;
    const auto id = static_cast<std::int64_t>(e.id);
    const std::int64_t deadline = e.deadline_nanos + wall_offset_nanos_;
    const std::int64_t at = e.at_nanos + wall_offset_nanos_;
    if (e.state == OrderState::kHeld) {
      entries[n++] = {RecordType::kOrderReserve, e.line_count, id};
      entries[n++] = {kCont, 0, deadline};
    } else if (e.state == OrderState::kFailed) {
      entries[n++] = {RecordType::kOrderReserveFailed, e.line_count, id};
      entries[n++] = {kCont, e.short_line, at};
      entries[n++] = {kCont, 0, e.available};
    } else {
      entries[n++] = {CloseRecordType(e.state), 0, id};
      entries[n++] = {kCont, 0, deadline};
      entries[n++] = {kCont, 0, at};
    }
    if (e.state == OrderState::kHeld || e.state == OrderState::kFailed) {
      for (std::uint32_t i = 0; i < e.line_count; ++i) entries[n++] = {kCont, e.lines[i].sku, e.lines[i].quantity};
    }
    const std::uint64_t seq = writer_->PushGroup(p, entries, n);
    // The push ended a floor read Prepare began (Producer::floor_read_until).
    if (p->shared) writer_->shared_mu().unlock();
    return {p->index + 1, seq};
  }

  void Abandon() override {
    journal::Producer* p = writer_->ThisThreadProducer();
    // Relaxed: the owner's own marker; non-zero and not yet pushed past: a
    // floor read Prepare began and no push ended.
    const std::uint64_t until = p->floor_read_until.load(std::memory_order_relaxed);
    if (until != 0 && p->pushed.load(std::memory_order_relaxed) < until) journal::JournalWriter::CancelFloorRead(p);
    if (p->shared) writer_->shared_mu().unlock();
  }

  bool WaitDurable(const OrderTicket* tickets, std::size_t count) override {
    if (durability_ != Durability::kSync) return true;
    for (std::size_t i = 0; i < count; ++i) {
      if (tickets[i].producer == 0) continue;
      journal::Producer* p = writer_->ProducerAt(tickets[i].producer - 1);
      FLASHSTOCK_CHECK(p != nullptr);
      if (!writer_->WaitDurable(p, tickets[i].seq)) return false;
    }
    return true;
  }

 private:
  static journal::RecordType CloseRecordType(OrderState s) {
    switch (s) {
      case OrderState::kCommitted: return journal::RecordType::kOrderCommit;
      case OrderState::kCancelled: return journal::RecordType::kOrderCancel;
      case OrderState::kReturned: return journal::RecordType::kOrderReturn;
      case OrderState::kExpired: return journal::RecordType::kOrderExpire;
      default: FLASHSTOCK_CHECK(false);
    }
    return journal::RecordType::kZero;
  }

  journal::JournalWriter* const writer_;
  const Durability durability_;
  const std::int64_t wall_offset_nanos_;
};

}  // namespace flashstock

#endif  // FLASHSTOCK_ORDER_JOURNAL_ADAPTER_H_
