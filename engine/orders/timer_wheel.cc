#include "orders/timer_wheel.h"

#include "base/check.h"

namespace flashstock::internal {

TimerWheel::TimerWheel(std::uint32_t capacity, std::int64_t start_tick)
    : capacity_(capacity),
      next_tick_(start_tick),
      next_(new std::uint32_t[capacity]),
      due_(new std::int64_t[capacity]) {
  FLASHSTOCK_CHECK(capacity < kNone);
  for (auto& level : heads_) {
    for (std::uint32_t& head : level) head = kNone;
  }
}

void TimerWheel::Schedule(std::uint32_t item, std::int64_t tick) {
  assert(item < capacity_);
  due_[item] = tick;
  ++size_;
  Place(item);
}

void TimerWheel::Place(std::uint32_t item) {
  const std::int64_t due = due_[item] < next_tick_ ? next_tick_ : due_[item];
  // due >= next_tick_: the distance is non-negative; compute it unsigned so a
  // far tick (up to INT64_MAX) cannot overflow.
  const std::uint64_t distance = static_cast<std::uint64_t>(due) - static_cast<std::uint64_t>(next_tick_);
  int level = 0;
  while (level < kLevels - 1 && distance >= (std::uint64_t{1} << (kBitsPerLevel * (level + 1)))) ++level;
  // Beyond the top level's range, park at the furthest tick it can name
  // without aliasing a nearer bucket; the cascade there re-places the item.
  constexpr std::uint64_t kRange = std::uint64_t{1} << (kBitsPerLevel * kLevels);
  const std::uint64_t placed = distance >= kRange ? static_cast<std::uint64_t>(next_tick_) + kRange - 1
                                                  : static_cast<std::uint64_t>(due);
  const std::uint32_t bucket = static_cast<std::uint32_t>(placed >> (kBitsPerLevel * level)) & (kSlots - 1);
  next_[item] = heads_[level][bucket];
  heads_[level][bucket] = item;
  ++counts_[level];
}

void TimerWheel::Cascade(int level, std::uint32_t bucket) {
  std::uint32_t item = heads_[level][bucket];
  heads_[level][bucket] = kNone;
  while (item != kNone) {
    const std::uint32_t following = next_[item];
    --counts_[level];
    Place(item);  // lands strictly lower, or back on top if still out of range
    item = following;
  }
}

}  // namespace flashstock::internal
