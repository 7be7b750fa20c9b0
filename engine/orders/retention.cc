// Retention: when a settled order's id is forgotten, and forgetting the ids
// that are due, so their slots go back on the free list.
#include <mutex>
#include <vector>

#include "absl/hash/hash.h"
#include "base/forget_rule.h"
#include "orders/expiry_tick.h"
#include "orders/order_book.h"
#include "orders/order_slot.h"
#include "orders/timer_wheel.h"

namespace flashstock {

// The one forget rule (base/forget_rule.h), fed what the journal records
// about the slot: its last change and, unless it failed (a failed reserve's
// record has no deadline), its hold's deadline. So a hold that closed early
// is kept until its deadline whether or not the driver saw it open.
std::int64_t OrderBook::ForgetAt(const Slot& slot, std::uint32_t word) const {
  const std::int64_t deadline =
      StateOf(word) == OrderState::kFailed ? internal::kNoDeadline : slot.deadline_nanos;
  return internal::OrderForgetAtNanos(slot.changed_nanos.load(std::memory_order_relaxed), deadline,
                                      retention_nanos_);
}

void OrderBook::ScheduleForget(std::uint32_t index, std::uint32_t word, std::int64_t now) {
  const Slot& slot = slots_[index];
  const std::int64_t forget_at = ForgetAt(slot, word);
  if (!internal::OrderForgottenAt(forget_at, now)) {
    wheel_->Schedule(index, internal::TickCeil(forget_at));
    return;
  }
  forget_due_[ShardIndex(absl::Hash<OrderId>{}(slot.id))].push_back({index, word});
}

void OrderBook::ForgetDue(std::int64_t now) {
  std::uint32_t chain_first = kNoSlot, chain_last = kNoSlot;
  std::uint64_t forgotten = 0;
  // One lock of each shard for all of its ids due in this sweep.
  for (std::size_t s = 0; s < kOrderShards; ++s) {
    std::vector<DueForget>& due_here = forget_due_[s];
    if (due_here.empty()) continue;
    Shard& shard = shards_[s];
    if (journal_ != nullptr) {
      // Once the id is forgotten a reserve may reuse it, on any thread: the
      // old incarnation's records must be placed in the file first (durable
      // order follows dependence), or replay would find the new reserve of
      // an id still held. Long sequenced by now, except with a tiny retention.
      for (const DueForget& due : due_here) {
        (void)journal_->WaitSequenced(tickets_[due.index].reserve);
        (void)journal_->WaitSequenced(tickets_[due.index].close);
      }
    }
    {
      std::lock_guard<std::mutex> lock(shard.mu);
      for (const DueForget& due : due_here) {
        Slot& slot = slots_[due.index];
        // Under the mutex no API thread can decide (edge 4); if a return
        // won since the driver looked, look again next tick.
        if (slot.state.load(std::memory_order_acquire) != due.word) {
          wheel_->Schedule(due.index, internal::TickFloor(now) + 1);
          continue;
        }
        shard.ids.erase(slot.id);
        slot.state.store(StateWord(OrderState::kNone), std::memory_order_relaxed);  // ours alone now
        slot.next.store(chain_first, std::memory_order_relaxed);
        if (chain_last == kNoSlot) chain_last = due.index;
        chain_first = due.index;
        ++forgotten;
      }
    }
    due_here.clear();
  }
  forgotten_.store(forgotten_.load(std::memory_order_relaxed) + forgotten, std::memory_order_relaxed);
  if (chain_first != kNoSlot) FreeChain(chain_first, chain_last);
}

}  // namespace flashstock
