// A hierarchical timing wheel over item ids [0, capacity): schedule an item
// for a tick, advance to a tick, and get a callback for every item whose tick
// has come. O(1) schedule; an advance costs O(ticks passed + items due +
// items cascaded). One structure for all holds: no thread or timer per item.
//
// Layout: kLevels levels of kSlots buckets each. Level L's buckets each span
// kSlots^L ticks; an item lands on the lowest level whose range covers its
// distance from now, in the bucket named by its tick's digits at that level,
// and is re-placed ("cascaded") one level down when the wheel reaches the
// start of that bucket's span. Items further away than the top level's range
// (kSlots^kLevels ticks; with 1 ms ticks, 2^32 ms ~ 49 days) are parked in
// the top level and re-placed every time it comes round, so any int64 tick
// works. Buckets are singly-linked lists through the wheel's own `next_`
// array: an item is in at most one bucket, and nothing is ever unlinked from
// the middle (the owner cancels lazily by ignoring a callback).
//
// Idle time is skipped: when the lowest non-empty level is L > 0, the wheel
// jumps to level L's next bucket boundary, so an advance over a long quiet
// stretch costs at most kSlots steps per level, not one step per tick.
//
// Lateness: an item fires in the first Advance(now) with now >= its tick, so
// never early; how late depends only on how often the owner advances.
//
// Thread-safety: none. One thread owns the wheel (the engine's expiry driver).
#ifndef FLASHSTOCK_INTERNAL_TIMER_WHEEL_H_
#define FLASHSTOCK_INTERNAL_TIMER_WHEEL_H_

#include <cassert>
#include <cstdint>
#include <memory>

namespace flashstock::internal {

class TimerWheel {
 public:
  static constexpr int kBitsPerLevel = 8;
  static constexpr int kLevels = 4;
  static constexpr std::uint32_t kSlots = 1u << kBitsPerLevel;
  static constexpr std::uint32_t kNone = UINT32_MAX;

  // Items are ids in [0, capacity). `start_tick` is the first tick Advance
  // will process. REQUIRES: capacity < kNone.
  TimerWheel(std::uint32_t capacity, std::int64_t start_tick);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Schedules `item` to fire at `tick` (a tick already passed means the next
  // one processed). REQUIRES: item < capacity, item not already scheduled.
  void Schedule(std::uint32_t item, std::int64_t tick);

  // Processes every tick up to and including `now_tick`, calling
  // on_due(item, tick_it_was_scheduled_for) for each due item, in tick order.
  // The item is no longer scheduled when on_due runs, so on_due may
  // Schedule it again (for a tick <= now_tick it fires in this same call).
  template <typename OnDue>
  void Advance(std::int64_t now_tick, OnDue&& on_due);

  // Items currently scheduled.
  std::uint32_t size() const { return size_; }
  // The next tick Advance will process.
  std::int64_t next_tick() const { return next_tick_; }

 private:
  void Place(std::uint32_t item);
  // Re-places every item of one bucket relative to next_tick_.
  void Cascade(int level, std::uint32_t bucket);

  const std::uint32_t capacity_;
  std::int64_t next_tick_;
  std::uint32_t size_ = 0;
  std::uint32_t counts_[kLevels] = {};  // items per level; they sum to size_
  std::uint32_t heads_[kLevels][kSlots];
  // Per item: the next item in its bucket, and the tick it is due. Left
  // uninitialised until used, so a large wheel costs no memory until filled.
  std::unique_ptr<std::uint32_t[]> next_;
  std::unique_ptr<std::int64_t[]> due_;
};

template <typename OnDue>
void TimerWheel::Advance(std::int64_t now_tick, OnDue&& on_due) {
  while (next_tick_ <= now_tick) {
    if (size_ == 0) {
      // Buckets are named by absolute ticks, so an empty wheel may jump.
      next_tick_ = now_tick + 1;
      return;
    }
    const std::int64_t t = next_tick_;
    int lowest = 0;
    while (counts_[lowest] == 0) ++lowest;  // size_ > 0: some level is non-empty
    if (lowest > 0) {
      // Nothing can fire before level `lowest`'s next bucket boundary.
      const std::uint64_t span = std::uint64_t{1} << (kBitsPerLevel * lowest);
      const auto boundary =
          static_cast<std::int64_t>((static_cast<std::uint64_t>(t) + span - 1) & ~(span - 1));
      if (boundary > t) {
        if (boundary > now_tick) {
          next_tick_ = now_tick + 1;
          return;
        }
        next_tick_ = boundary;
        continue;
      }
    }
    // Cascade from the top down, so items fall through every level whose
    // bucket starts at t before level 0's bucket for t is taken.
    for (int level = kLevels - 1; level >= 1; --level) {
      const int shift = kBitsPerLevel * level;
      if ((static_cast<std::uint64_t>(t) & ((std::uint64_t{1} << shift) - 1)) == 0) {
        Cascade(level, static_cast<std::uint32_t>(static_cast<std::uint64_t>(t) >> shift) & (kSlots - 1));
      }
    }
    const std::uint32_t bucket = static_cast<std::uint32_t>(t) & (kSlots - 1);
    std::uint32_t item = heads_[0][bucket];
    heads_[0][bucket] = kNone;
    // From here, a Schedule for a tick <= t (from on_due) lands on t + 1.
    next_tick_ = t + 1;
    while (item != kNone) {
      const std::uint32_t following = next_[item];
      const std::int64_t due = due_[item];
      --size_;
      --counts_[0];
      assert(due <= t);
      on_due(item, due);
      item = following;
    }
  }
}

}  // namespace flashstock::internal

#endif  // FLASHSTOCK_INTERNAL_TIMER_WHEEL_H_
