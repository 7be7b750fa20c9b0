// Closing an order: commit, cancel and return, each one state transition
// that exactly one thread wins (the expiry driver's is in expiry.cc).
#include "flashstock/internal/catalog.h"
#include "flashstock/internal/stock_cell.h"
#include "base/check.h"
#include "base/test_point.h"
#include "orders/order_book.h"
#include "orders/order_slot.h"
#include "orders/prepared.h"

namespace flashstock {

OrderResult OrderBook::Commit(OrderId id) { return Decide(id, OrderState::kCommitted, true); }
OrderResult OrderBook::Cancel(OrderId id) { return Decide(id, OrderState::kCancelled, true); }
OrderResult OrderBook::Return(OrderId id) { return Decide(id, OrderState::kReturned, true); }

OrderResult OrderBook::Decide(OrderId id, OrderState target, bool honour_deadline) {
  // Journal room first: a refusal here has changed nothing.
  Prepared prepared(journal_);
  if (const Outcome o = prepared.Begin(); o != Outcome::kOk) return {o};
  Shard& shard = ShardFor(id);
  for (internal::Backoff backoff;; backoff.Wait()) {
    Decision d;
    switch (DecideLocked(shard, id, target, honour_deadline, &d)) {
      case DecideStep::kRetry:
        continue;
      case DecideStep::kAnswer:
        return d.answer;
      case DecideStep::kLost: {
        prepared.Release();
        const OrderTicket waits[2] = {d.deps.reserve, d.deps.close};
        return Acknowledge(d.answer, waits, 2);
      }
      case DecideStep::kWon:
        return CloseWon(d, target, prepared);
    }
  }
}

OrderBook::DecideStep OrderBook::DecideLocked(Shard& shard, OrderId id, OrderState target, bool honour_deadline,
                                              Decision* d) {
  const OrderState from = target == OrderState::kReturned ? OrderState::kCommitted : OrderState::kHeld;
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.ids.find(id);
  if (it == shard.ids.end()) {
    d->answer = {Outcome::kUnknownOrder};
    return DecideStep::kAnswer;
  }
  d->index = it->second;
  Slot& slot = slots_[d->index];
  // Acquire: pairs with the release stores of edges 2 and 5.
  std::uint32_t word = slot.state.load(std::memory_order_acquire);
  if (word == StateWord(OrderState::kReserving)) return DecideStep::kRetry;
  // A return waits for a commit to finish moving its stock (edge 5).
  if (word == (StateWord(from) | kMovingBit)) return DecideStep::kRetry;
  // Journaled: a loser names the winner only once the winner's record is
  // pushed (its ticket is stored before the final state is).
  if (journal_ != nullptr && (word & kMovingBit) != 0) return DecideStep::kRetry;
  if (word != StateWord(from)) {
    d->answer = {Outcome::kOrderClosed, StateOf(word)};
    if (target == OrderState::kReturned && StateOf(word) == OrderState::kHeld) {
      d->answer = {Outcome::kOrderOpen, OrderState::kHeld};
    }
    if (journal_ == nullptr) return DecideStep::kAnswer;
    if (StateOf(word) == OrderState::kHeld) {
      // Only the reserve's ticket: it was stored before HELD was published,
      // while the expiry driver may be writing `close` right now (it
      // decides outside the shard mutex).
      d->deps.reserve = tickets_[d->index].reserve;
    } else {
      d->deps = tickets_[d->index];  // final: stored before the final state (edge 2)
    }
    return DecideStep::kLost;
  }
  // The one clock reading of this decision: the deadline check, the close's
  // time in the slot and in the journal record.
  d->now = clock_->NowNanos();
  d->won = target;
  if (honour_deadline && from == OrderState::kHeld && d->now >= slot.deadline_nanos) {
    d->won = OrderState::kExpired;  // a late commit or cancel performs the expiry
  }
  // The decision (edge 4). Relaxed: publishes nothing; see the top.
  if (!slot.state.compare_exchange_strong(word, StateWord(d->won) | kMovingBit, std::memory_order_relaxed,
                                          std::memory_order_relaxed)) {
    // Only the expiry driver decides outside this mutex, and only from
    // HELD: it won. Journaled, wait for its record (retry); else answer.
    if (journal_ != nullptr) return DecideStep::kRetry;
    d->answer = {Outcome::kOrderClosed, StateOf(word)};
    return DecideStep::kAnswer;
  }
  // Read before this close overwrites them: the reserve (and, for a
  // return, the commit) this answer depends on.
  if (journal_ != nullptr) d->deps = tickets_[d->index];
  return DecideStep::kWon;
}

OrderResult OrderBook::CloseWon(const Decision& d, OrderState target, Prepared& prepared) {
  OrderTicket own;
  if (journal_ != nullptr) {
    // Won, stock not moved yet. The record goes behind the reserve it
    // closes (a return: behind the commit), then is pushed (room was
    // reserved); its ticket is stored before Finish publishes the final
    // state. A give-back's units appear only once the record is
    // sequenced, so nothing that uses them is written before it. A failed
    // journal writes nothing more, so then the stock may move regardless.
    const OrderTicket after[2] = {d.deps.reserve, target == OrderState::kReturned ? d.deps.close : OrderTicket{}};
    (void)journal_->OrderAfter(after, 2);
    own = prepared.Append(EventOf(slots_[d.index], d.won, d.now));
    tickets_[d.index].close = own;
    if (d.won != OrderState::kCommitted) {
      FLASHSTOCK_TEST_POINT(kCauseQueued, d.index);
      (void)journal_->WaitSequenced(own);
    }
  }
  Finish(d.index, d.won, d.now);
  if (d.won != OrderState::kCommitted) FLASHSTOCK_TEST_POINT(kCauseVisible, d.index);
  const OrderResult result =
      d.won != target ? OrderResult{Outcome::kOrderClosed, d.won} : OrderResult{Outcome::kOk, d.won};
  if (journal_ == nullptr) return result;
  // In sync mode the answer waits for this record, the reserve's and, for a
  // return, the commit's: they may sit in other threads' rings, and the
  // journal thread may write them in a later batch than this one.
  const OrderTicket waits[3] = {own, d.deps.reserve, target == OrderState::kReturned ? d.deps.close : OrderTicket{}};
  return Acknowledge(result, waits, 3);
}

void OrderBook::Finish(std::uint32_t index, OrderState won, std::int64_t now_nanos) {
  Slot& slot = slots_[index];
  for (std::uint32_t i = 0; i < slot.line_count; ++i) {
    StockCell& cell = catalog_->cell(slot.lines[i].sku);
    const std::int64_t q = slot.lines[i].quantity;
    switch (won) {
      case OrderState::kCommitted: cell.SellHold(q); break;
      case OrderState::kCancelled:
      case OrderState::kExpired: cell.ReleaseHold(q); break;
      case OrderState::kReturned: cell.Unsell(q); break;
      default: FLASHSTOCK_CHECK(false);
    }
  }
  slot.changed_nanos.store(now_nanos, std::memory_order_relaxed);
  // Release: the stock is moved and the lines read (edge 5).
  slot.state.store(StateWord(won), std::memory_order_release);
}

}  // namespace flashstock
