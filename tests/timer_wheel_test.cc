#include "orders/timer_wheel.h"

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace flashstock::internal {
namespace {

TEST(TimerWheelTest, FiresAtItsTickNeverEarly) {
  TimerWheel wheel(8, 0);
  wheel.Schedule(0, 5);
  wheel.Schedule(1, 0);
  wheel.Schedule(2, 300);      // level 1
  wheel.Schedule(3, 70000);    // level 2
  std::vector<std::pair<std::uint32_t, std::int64_t>> fired;
  auto record = [&](std::uint32_t item, std::int64_t due) { fired.emplace_back(item, due); };
  wheel.Advance(4, record);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].first, 1u);
  wheel.Advance(5, record);
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[1].first, 0u);
  wheel.Advance(299, record);
  EXPECT_EQ(fired.size(), 2u);
  wheel.Advance(300, record);
  ASSERT_EQ(fired.size(), 3u);
  EXPECT_EQ(fired[2].first, 2u);
  wheel.Advance(69999, record);
  EXPECT_EQ(fired.size(), 3u);
  wheel.Advance(70000, record);
  ASSERT_EQ(fired.size(), 4u);
  EXPECT_EQ(fired[3].first, 3u);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, PastTickFiresOnNextAdvanceAndCallbackMayReschedule) {
  TimerWheel wheel(2, 100);
  wheel.Schedule(0, 3);  // already past
  int fires = 0;
  wheel.Advance(100, [&](std::uint32_t item, std::int64_t) {
    ++fires;
    if (fires == 1) wheel.Schedule(item, 50);  // past again: next tick processed, same call if due
  });
  EXPECT_EQ(fires, 1);  // rescheduled for 101, not yet processed
  wheel.Advance(101, [&](std::uint32_t, std::int64_t) { ++fires; });
  EXPECT_EQ(fires, 2);
}

TEST(TimerWheelTest, BeyondTopLevelRangeIsParkedAndStillExact) {
  TimerWheel wheel(2, 0);
  const std::int64_t far = (std::int64_t{1} << 33) + 12345;  // > 2^32 ticks ahead
  wheel.Schedule(0, far);
  int fires = 0;
  wheel.Schedule(1, 1);
  wheel.Advance(far - 1, [&](std::uint32_t item, std::int64_t) {
    EXPECT_EQ(item, 1u);
    ++fires;
  });
  EXPECT_EQ(fires, 1);
  EXPECT_EQ(wheel.size(), 1u);
  wheel.Advance(far, [&](std::uint32_t item, std::int64_t due) {
    EXPECT_EQ(item, 0u);
    EXPECT_EQ(due, far);
    ++fires;
  });
  EXPECT_EQ(fires, 2);
}

// Against a model: random schedules and advances (small steps and big
// jumps across every level); each item fires exactly once, in the first
// advance whose end is >= its tick, and in tick order.
TEST(TimerWheelTest, MatchesModelUnderRandomUse) {
  constexpr std::uint32_t kItems = 2000;
  std::mt19937_64 rng(42);
  TimerWheel wheel(kItems, 1000);
  std::multimap<std::int64_t, std::uint32_t> model;
  std::vector<bool> scheduled(kItems, false);
  std::int64_t now = 999;
  for (int round = 0; round < 400; ++round) {
    for (int k = 0; k < 20; ++k) {
      const std::uint32_t item = static_cast<std::uint32_t>(rng() % kItems);
      if (scheduled[item]) continue;
      std::int64_t distance;
      switch (rng() % 4) {
        case 0: distance = static_cast<std::int64_t>(rng() % 300); break;
        case 1: distance = static_cast<std::int64_t>(rng() % 70000); break;
        case 2: distance = static_cast<std::int64_t>(rng() % 20'000'000); break;
        default: distance = static_cast<std::int64_t>(rng() % 5'000'000'000LL); break;
      }
      const std::int64_t tick = now + 1 + distance;
      wheel.Schedule(item, tick);
      model.emplace(tick, item);
      scheduled[item] = true;
    }
    const std::int64_t step = (rng() % 8 == 0) ? static_cast<std::int64_t>(rng() % 3'000'000'000LL)
                                                : static_cast<std::int64_t>(rng() % 2000);
    now += step;
    std::int64_t last_due = INT64_MIN;
    std::vector<std::uint32_t> fired;
    wheel.Advance(now, [&](std::uint32_t item, std::int64_t due) {
      EXPECT_LE(due, now);
      EXPECT_GE(due, last_due);  // tick order
      last_due = due;
      fired.push_back(item);
      scheduled[item] = false;
    });
    std::vector<std::uint32_t> expected;
    while (!model.empty() && model.begin()->first <= now) {
      expected.push_back(model.begin()->second);
      model.erase(model.begin());
    }
    std::sort(fired.begin(), fired.end());
    std::sort(expected.begin(), expected.end());
    ASSERT_EQ(fired, expected) << "round " << round;
    ASSERT_EQ(wheel.size(), model.size());
  }
}

}  // namespace
}  // namespace flashstock::internal
