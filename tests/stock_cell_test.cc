#include "flashstock/internal/stock_cell.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace flashstock {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

TEST(StockCellTest, TakeIsAllOrNothing) {
  StockCell cell;
  cell.Init(10, 0);
  EXPECT_TRUE(cell.TryTake(3).ok);
  EXPECT_EQ(cell.Level(), 7);
  StockCell::Change refused = cell.TryTake(8);
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.available, 7);
  EXPECT_EQ(cell.Level(), 7);
  StockCell::Change last = cell.TryTake(7);
  EXPECT_TRUE(last.ok);
  EXPECT_EQ(last.available, 0);
  EXPECT_FALSE(cell.TryTake(1).ok);
}

TEST(StockCellTest, NegativeFloorAllowsBackorders) {
  StockCell cell;
  cell.Init(2, -5);
  EXPECT_TRUE(cell.TryTake(7).ok);
  EXPECT_EQ(cell.Level(), -5);
  EXPECT_FALSE(cell.TryTake(1).ok);
}

TEST(StockCellTest, TakeUpToFillsPartially) {
  StockCell cell;
  cell.Init(5, 0);
  StockCell::Partial p = cell.TakeUpTo(3);
  EXPECT_EQ(p.taken, 3);
  EXPECT_EQ(p.available, 2);
  p = cell.TakeUpTo(10);
  EXPECT_EQ(p.taken, 2);
  EXPECT_EQ(p.available, 0);
  p = cell.TakeUpTo(10);
  EXPECT_EQ(p.taken, 0);
  EXPECT_EQ(p.available, 0);
}

TEST(StockCellTest, TakeUpToWithExtremeHeadroom) {
  // level - floor exceeds INT64_MAX: the headroom must not overflow.
  StockCell cell;
  cell.Init(kMax, kMin);
  StockCell::Partial p = cell.TakeUpTo(kMax);
  EXPECT_EQ(p.taken, kMax);
  EXPECT_EQ(p.available, 0);
  p = cell.TakeUpTo(kMax);
  EXPECT_EQ(p.taken, kMax);
  EXPECT_EQ(p.available, -kMax);
  p = cell.TakeUpTo(kMax);
  EXPECT_EQ(p.taken, 1);
  EXPECT_EQ(p.available, kMin);
  EXPECT_EQ(cell.TakeUpTo(1).taken, 0);
}

TEST(StockCellTest, TakeAtTheInt64Edges) {
  StockCell cell;
  cell.Init(kMax, 0);
  EXPECT_TRUE(cell.TryTake(kMax).ok);
  EXPECT_EQ(cell.Level(), 0);
  StockCell low;
  low.Init(0, kMin);
  EXPECT_TRUE(low.TryTake(kMax).ok);  // 0 - kMax >= kMin
  EXPECT_EQ(low.Level(), -kMax);
  EXPECT_TRUE(low.TryTake(1).ok);
  EXPECT_EQ(low.Level(), kMin);
  StockCell::Change refused = low.TryTake(1);
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.available, kMin);
}

TEST(StockCellTest, RestockRefusesOverflow) {
  // The ceiling is kLevelMax, kGiveBackHeadroom below INT64_MAX (limits.h).
  StockCell cell;
  cell.Init(kLevelMax - 1, 0);
  EXPECT_TRUE(cell.Restock(1).ok);
  EXPECT_EQ(cell.Level(), kLevelMax);
  StockCell::Change refused = cell.Restock(1);
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.available, kLevelMax);
  EXPECT_EQ(cell.Level(), kLevelMax);
  EXPECT_FALSE(cell.Restock(kMax).ok);
  StockCell negative;
  negative.Init(-10, -10);
  EXPECT_TRUE(negative.Restock(kLevelMax).ok);
  EXPECT_EQ(negative.Level(), kLevelMax - 10);
}

// Give-backs add without a check; the headroom above kLevelMax is what
// keeps them from wrapping (limits.h, kGiveBackHeadroom).
TEST(StockCellTest, GiveBacksAboveTheCeilingStayInRange) {
  StockCell cell;
  cell.Init(kLevelMax, 0);
  ASSERT_TRUE(cell.TryHold(kOrderLineQuantityMax).ok);
  ASSERT_TRUE(cell.Restock(kOrderLineQuantityMax).ok);  // back at the ceiling
  EXPECT_FALSE(cell.Restock(1).ok);
  cell.ReleaseHold(kOrderLineQuantityMax);
  EXPECT_EQ(cell.Level(), kLevelMax + kOrderLineQuantityMax);
  EXPECT_GT(cell.Level(), 0);  // no wrap
  EXPECT_FALSE(cell.Restock(1).ok);  // above the ceiling: restocks wait
  EXPECT_EQ(cell.Held(), 0);
}

TEST(StockCellTest, FloorChangeAppliesToLaterTakes) {
  StockCell cell;
  cell.Init(0, 0);
  EXPECT_FALSE(cell.TryTake(1).ok);
  cell.SetFloor(-3);
  EXPECT_EQ(cell.Floor(), -3);
  EXPECT_TRUE(cell.TryTake(3).ok);
  EXPECT_FALSE(cell.TryTake(1).ok);
  cell.SetFloor(0);  // above the level: no further takes until restocked
  EXPECT_FALSE(cell.TryTake(1).ok);
  EXPECT_EQ(cell.TakeUpTo(5).taken, 0);
  EXPECT_TRUE(cell.Restock(4).ok);
  EXPECT_TRUE(cell.TryTake(1).ok);
  EXPECT_EQ(cell.Level(), 0);
}

}  // namespace
}  // namespace flashstock
