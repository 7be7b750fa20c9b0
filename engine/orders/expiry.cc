// The expiry driver: takes new slots off the hand-off lists, files them in
// the timer wheel, and expires holds whose deadline has come; its thread.
#include <chrono>
#include <mutex>

#include "base/check.h"
#include "base/test_point.h"
#include "base/thread_name.h"
#include "orders/expiry_tick.h"
#include "orders/order_book.h"
#include "orders/order_slot.h"
#include "orders/prepared.h"
#include "orders/timer_wheel.h"

namespace flashstock {

void OrderBook::HandOff(Shard& shard, std::uint32_t index) {
  std::uint32_t head = shard.incoming.load(std::memory_order_relaxed);
  do {
    slots_[index].next.store(head, std::memory_order_relaxed);
    // Release: pairs with the driver's acquire exchange in Sweep (edge 3).
  } while (!shard.incoming.compare_exchange_weak(head, index, std::memory_order_release,
                                                 std::memory_order_relaxed));
}

std::size_t OrderBook::Sweep() {
  std::lock_guard<std::mutex> lock(sweep_mu_);
  return SweepLocked();
}

std::uint64_t OrderBook::HelpSweep() {
  // Blocking: if the driver is sweeping, its sweep may have drained the
  // hand-off lists before our closes; ours, right after, sees them.
  std::lock_guard<std::mutex> lock(sweep_mu_);
  const std::uint64_t forgotten_before = forgotten_.load(std::memory_order_relaxed);
  (void)SweepLocked();
  helped_sweeps_.store(helped_sweeps_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return forgotten_.load(std::memory_order_relaxed) - forgotten_before;
}

std::size_t OrderBook::SweepLocked() {
  const std::int64_t now = clock_->NowNanos();
  // Take every slot handed off since the last sweep (edge 3). A hold still
  // open waits in the wheel for its deadline; an order that closed (or
  // failed) before the driver saw it never enters the wheel for its
  // deadline: it is due at its forget time, which with a short retention is
  // this very sweep. That is the common case of a cart that commits in
  // well under a millisecond, and it costs the driver one look at the slot.
  for (std::size_t s = 0; s < kOrderShards; ++s) {
    std::uint32_t index = shards_[s].incoming.exchange(kNoSlot, std::memory_order_acquire);
    while (index != kNoSlot) {
      const Slot& slot = slots_[index];
      const std::uint32_t following = slot.next.load(std::memory_order_relaxed);
      // Acquire: pairs with the release stores of edges 2 and 5.
      const std::uint32_t word = slot.state.load(std::memory_order_acquire);
      if (Settled(word)) {
        ScheduleForget(index, word, now);
      } else {
        wheel_->Schedule(index, internal::TickCeil(slot.deadline_nanos));
      }
      index = following;
    }
  }
  std::size_t expired = 0;
  wheel_->Advance(internal::TickFloor(now), [&](std::uint32_t index, std::int64_t) { Visit(index, now, &expired); });
  FinishExpiries(now);
  ForgetDue(now);
  sweeps_.store(sweeps_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  scheduled_.store(wheel_->size(), std::memory_order_relaxed);
  return expired;
}

bool OrderBook::Settled(std::uint32_t word) {
  if ((word & kMovingBit) != 0) return false;
  const OrderState state = StateOf(word);
  return state != OrderState::kHeld && state != OrderState::kReserving && state != OrderState::kNone;
}

void OrderBook::Visit(std::uint32_t index, std::int64_t now, std::size_t* expired) {
  Slot& slot = slots_[index];
  // Acquire: pairs with the release stores of edges 2 and 5.
  std::uint32_t word = slot.state.load(std::memory_order_acquire);
  if (word == StateWord(OrderState::kHeld)) {
    if (now < slot.deadline_nanos) {  // cannot happen with ceil/floor ticks; kept for safety
      wheel_->Schedule(index, internal::TickCeil(slot.deadline_nanos));
      return;
    }
    // Journal room before the decision; without it (backpressure, read-only)
    // the hold stays held and is looked at again next tick.
    Prepared prepared(journal_);
    if (prepared.Begin() != Outcome::kOk) {
      wheel_->Schedule(index, internal::TickFloor(now) + 1);
      return;
    }
    // The decision (edge 4), racing at most one API thread.
    if (slot.state.compare_exchange_strong(word, StateWord(OrderState::kExpired) | kMovingBit,
                                           std::memory_order_relaxed, std::memory_order_relaxed)) {
      if (journal_ != nullptr) {
        // As in Decide: behind its reserve; the stock moves in
        // FinishExpiries once the sweep's last expiry record is sequenced.
        (void)journal_->OrderAfter(&tickets_[index].reserve, 1);
        expiring_last_ = tickets_[index].close = prepared.Append(EventOf(slot, OrderState::kExpired, now));
        expiring_.push_back(index);
        ++*expired;
        return;
      }
      Finish(index, OrderState::kExpired, now);
      ++*expired;
      expired_.store(expired_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      lateness_.Record(clock_->NowNanos() - slot.deadline_nanos);
      ScheduleForget(index, StateWord(OrderState::kExpired), now);
      return;
    }
    // Lost to a commit or cancel; fall through with the winner's word.
  }
  if (!Settled(word)) {
    wheel_->Schedule(index, internal::TickFloor(now) + 1);  // a winner is still moving stock
    return;
  }
  ScheduleForget(index, word, now);
}

void OrderBook::FinishExpiries(std::int64_t now) {
  if (expiring_.empty()) return;
  FLASHSTOCK_TEST_POINT(kCauseQueued, expiring_.back());
  (void)journal_->WaitSequenced(expiring_last_);
  for (const std::uint32_t index : expiring_) Finish(index, OrderState::kExpired, now);
  FLASHSTOCK_TEST_POINT(kCauseVisible, expiring_.back());
  const std::int64_t back = clock_->NowNanos();  // stock is back: the lateness clock stops
  for (const std::uint32_t index : expiring_) {
    expired_.store(expired_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    lateness_.Record(back - slots_[index].deadline_nanos);
    ScheduleForget(index, StateWord(OrderState::kExpired), now);
  }
  expiring_.clear();
  expiring_last_ = {};
}

ExpiryStats OrderBook::expiry_stats() const {
  ExpiryStats stats;
  stats.sweeps = sweeps_.load(std::memory_order_relaxed);
  stats.expired = expired_.load(std::memory_order_relaxed);
  stats.forgotten = forgotten_.load(std::memory_order_relaxed);
  stats.scheduled = scheduled_.load(std::memory_order_relaxed);
  stats.helped_sweeps = helped_sweeps_.load(std::memory_order_relaxed);
  lateness_.Report(&stats);
  return stats;
}

void OrderBook::StartExpiryThread() {
  FLASHSTOCK_CHECK(!expiry_thread_.joinable());
  expiry_thread_ = std::thread([this] {
    internal::NameThisThread("fs-expiry");
    std::unique_lock<std::mutex> lock(thread_mu_);
    while (!stop_) {
      lock.unlock();
      Sweep();
      lock.lock();
      // Sleeps one interval, or wakes at once when the book is destroyed.
      thread_cv_.wait_for(lock, std::chrono::nanoseconds(kExpirySweepIntervalNanos), [this] { return stop_; });
    }
  });
}

void OrderBook::StopExpiryThread() {
  {
    std::lock_guard<std::mutex> lock(thread_mu_);
    stop_ = true;
  }
  thread_cv_.notify_all();
  if (expiry_thread_.joinable()) expiry_thread_.join();
}

}  // namespace flashstock
