#include "flashstock/order.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "engine_access.h"
#include "flashstock/engine.h"
#include "gtest/gtest.h"

namespace flashstock {
namespace {

constexpr std::int64_t kRetentionMs = 1000;

class OrdersTest : public ::testing::Test {
 protected:
  static EngineOptions Options(std::uint32_t orders_max = 64) {
    EngineOptions o;
    o.skus_max = 32;
    o.clock = &clock_;
    o.orders_max = orders_max;
    o.order_retention_ms = kRetentionMs;
    o.expiry_thread = false;
    return o;
  }
  void SetUp() override {
    ASSERT_TRUE(engine_.Define("a", 10).ok());
    ASSERT_TRUE(engine_.Define("b", 5).ok());
    ASSERT_TRUE(engine_.Define("c", 1).ok());
    a_ = *engine_.Resolve("a");
    b_ = *engine_.Resolve("b");
    c_ = *engine_.Resolve("c");
  }
  void ExpectLevels(SkuHandle sku, std::int64_t available, std::int64_t held, std::int64_t sold) {
    const StockLevels l = engine_.Levels(sku);
    ASSERT_TRUE(l.ok());
    EXPECT_EQ(l.available, available) << engine_.Name(sku);
    EXPECT_EQ(l.held, held) << engine_.Name(sku);
    EXPECT_EQ(l.sold, sold) << engine_.Name(sku);
  }

  static inline ManualClock clock_{1'000'000'000};
  Engine engine_{Options()};
  SkuHandle a_, b_, c_;
};

TEST_F(OrdersTest, ReserveCommitReturn) {
  const std::vector<OrderLine> lines = {{a_, 2}, {b_, 1}};
  OrderResult r = engine_.Reserve(1, lines, 60'000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.state, OrderState::kHeld);
  ExpectLevels(a_, 8, 2, 0);
  ExpectLevels(b_, 4, 1, 0);

  r = engine_.Commit(1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.state, OrderState::kCommitted);
  ExpectLevels(a_, 8, 0, 2);
  ExpectLevels(b_, 4, 0, 1);

  for (OrderResult again : {engine_.Commit(1), engine_.Cancel(1)}) {
    EXPECT_EQ(again.outcome, Outcome::kOrderClosed);
    EXPECT_EQ(again.state, OrderState::kCommitted);
  }
  ExpectLevels(a_, 8, 0, 2);

  r = engine_.Return(1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.state, OrderState::kReturned);
  ExpectLevels(a_, 10, 0, 0);
  ExpectLevels(b_, 5, 0, 0);
  for (OrderResult again : {engine_.Return(1), engine_.Commit(1), engine_.Cancel(1)}) {
    EXPECT_EQ(again.outcome, Outcome::kOrderClosed);
    EXPECT_EQ(again.state, OrderState::kReturned);
  }
  ExpectLevels(a_, 10, 0, 0);
}

TEST_F(OrdersTest, CancelRestocksOnce) {
  ASSERT_TRUE(engine_.Reserve(7, std::vector<OrderLine>{{a_, 4}}, 60'000).ok());
  ExpectLevels(a_, 6, 4, 0);
  EXPECT_TRUE(engine_.Cancel(7).ok());
  ExpectLevels(a_, 10, 0, 0);
  const OrderResult again = engine_.Cancel(7);
  EXPECT_EQ(again.outcome, Outcome::kOrderClosed);
  EXPECT_EQ(again.state, OrderState::kCancelled);
  EXPECT_EQ(engine_.Return(7).outcome, Outcome::kOrderClosed);
  ExpectLevels(a_, 10, 0, 0);
}

TEST_F(OrdersTest, ShortLineRollsBackEverythingAndNamesTheSku) {
  // Lines come back in SKU order; a and b are taken before c is found short.
  const std::vector<OrderLine> lines = {{c_, 2}, {a_, 3}, {b_, 1}};
  const OrderResult r = engine_.Reserve(2, lines, 60'000);
  EXPECT_EQ(r.outcome, Outcome::kInsufficient);
  EXPECT_EQ(r.state, OrderState::kFailed);
  EXPECT_EQ(r.short_sku, c_);
  EXPECT_EQ(r.available, 1);
  ExpectLevels(a_, 10, 0, 0);
  ExpectLevels(b_, 5, 0, 0);
  ExpectLevels(c_, 1, 0, 0);
  ASSERT_TRUE(engine_.GetOrder(2).has_value());
  EXPECT_EQ(engine_.GetOrder(2)->state, OrderState::kFailed);

  // A failed reserve stays failed, even once the stock is there, and a
  // retry answers exactly as the first time.
  ASSERT_TRUE(engine_.Restock(c_, 5).ok());
  const OrderResult retry = engine_.Reserve(2, lines, 60'000);
  EXPECT_EQ(retry.outcome, Outcome::kInsufficient);
  EXPECT_EQ(retry.short_sku, c_);
  EXPECT_EQ(retry.available, 1);
  ExpectLevels(c_, 6, 0, 0);
  EXPECT_EQ(engine_.Commit(2).outcome, Outcome::kOrderClosed);
  EXPECT_EQ(engine_.Commit(2).state, OrderState::kFailed);
  EXPECT_EQ(engine_.Reserve(2, std::vector<OrderLine>{{c_, 1}}, 60'000).outcome, Outcome::kOrderConflict);
}

TEST_F(OrdersTest, LinesOfOneSkuAreSummedBeforeAnyCheck) {
  // 2 + 2 > 3 would pass if checked line by line.
  ASSERT_TRUE(engine_.Restock(c_, 2).ok());  // c = 3
  const std::vector<OrderLine> lines = {{c_, 2}, {a_, 1}, {c_, 2}};
  const OrderResult r = engine_.Reserve(3, lines, 60'000);
  EXPECT_EQ(r.outcome, Outcome::kInsufficient);
  EXPECT_EQ(r.short_sku, c_);
  EXPECT_EQ(r.available, 3);
  ExpectLevels(c_, 3, 0, 0);
  ExpectLevels(a_, 10, 0, 0);

  // Normalised: summed and sorted by SKU index; a reordered retry is the same order.
  ASSERT_TRUE(engine_.Reserve(4, std::vector<OrderLine>{{b_, 1}, {a_, 1}, {b_, 2}}, 60'000).ok());
  const std::optional<OrderInfo> info = engine_.GetOrder(4);
  ASSERT_TRUE(info.has_value());
  ASSERT_EQ(info->line_count, 2u);
  EXPECT_EQ(info->lines[0], (OrderLine{a_, 1}));
  EXPECT_EQ(info->lines[1], (OrderLine{b_, 3}));
  EXPECT_EQ(info->deadline_nanos, clock_.NowNanos() + 60'000'000'000LL);
  EXPECT_TRUE(engine_.Reserve(4, std::vector<OrderLine>{{b_, 3}, {a_, 1}}, 60'000).ok());
  ExpectLevels(b_, 2, 3, 0);
}

TEST_F(OrdersTest, IdempotentAndConflictingRetries) {
  const std::vector<OrderLine> lines = {{a_, 2}};
  ASSERT_TRUE(engine_.Reserve(5, lines, 60'000).ok());
  for (int i = 0; i < 3; ++i) {
    const OrderResult r = engine_.Reserve(5, lines, 30'000);  // ttl is not part of identity
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.state, OrderState::kHeld);
  }
  ExpectLevels(a_, 8, 2, 0);
  EXPECT_EQ(engine_.Reserve(5, std::vector<OrderLine>{{a_, 3}}, 60'000).outcome, Outcome::kOrderConflict);
  EXPECT_EQ(engine_.Reserve(5, std::vector<OrderLine>{{a_, 2}, {b_, 1}}, 60'000).outcome,
            Outcome::kOrderConflict);
  ExpectLevels(a_, 8, 2, 0);
  ExpectLevels(b_, 5, 0, 0);
  ASSERT_TRUE(engine_.Commit(5).ok());
  // The first answer was OK: a retry after the commit still answers OK and
  // names the state now, and sells nothing more.
  const OrderResult after = engine_.Reserve(5, lines, 60'000);
  EXPECT_TRUE(after.ok());
  EXPECT_EQ(after.state, OrderState::kCommitted);
  ExpectLevels(a_, 8, 0, 2);
}

TEST_F(OrdersTest, ValidationRefusesAndRemembersNothing) {
  const std::vector<OrderLine> one = {{a_, 1}};
  EXPECT_EQ(engine_.Reserve(0, one, 1000).outcome, Outcome::kInvalidOrder);
  EXPECT_EQ(engine_.Reserve(9, one, kHoldTtlMsMin - 1).outcome, Outcome::kInvalidOrder);
  EXPECT_EQ(engine_.Reserve(9, one, kHoldTtlMsMax + 1).outcome, Outcome::kInvalidOrder);
  EXPECT_EQ(engine_.Reserve(9, std::vector<OrderLine>{}, 1000).outcome, Outcome::kInvalidOrder);
  EXPECT_EQ(engine_.Reserve(9, std::vector<OrderLine>{{a_, 0}}, 1000).outcome, Outcome::kInvalidQuantity);
  EXPECT_EQ(engine_.Reserve(9, std::vector<OrderLine>{{a_, -1}}, 1000).outcome, Outcome::kInvalidQuantity);
  EXPECT_EQ(engine_.Reserve(9, std::vector<OrderLine>{{a_, kOrderLineQuantityMax + 1}}, 1000).outcome,
            Outcome::kInvalidQuantity);
  EXPECT_EQ(engine_.Reserve(9, std::vector<OrderLine>{{a_, kOrderLineQuantityMax}, {a_, 1}}, 1000).outcome,
            Outcome::kInvalidQuantity);
  EXPECT_EQ(engine_.Reserve(9, std::vector<OrderLine>{{SkuHandle{31}, 1}}, 1000).outcome, Outcome::kUnknownSku);
  // kOrderLinesMax distinct SKUs is the edge; one more is refused.
  std::vector<OrderLine> many;
  for (std::size_t i = 0; i <= kOrderLinesMax; ++i) {
    const std::string name = "m" + std::to_string(i);
    ASSERT_TRUE(engine_.Define(name, 1).ok());
    many.push_back({*engine_.Resolve(name), 1});
  }
  EXPECT_EQ(engine_.Reserve(9, many, 1000).outcome, Outcome::kInvalidOrder);
  EXPECT_FALSE(engine_.GetOrder(9).has_value());
  many.pop_back();
  EXPECT_TRUE(engine_.Reserve(9, many, 1000).ok());
  EXPECT_EQ(engine_.GetOrder(9)->line_count, kOrderLinesMax);
  // The largest line is accepted (and is short here).
  EXPECT_EQ(engine_.Reserve(10, std::vector<OrderLine>{{a_, kOrderLineQuantityMax}}, kHoldTtlMsMax).outcome,
            Outcome::kInsufficient);
}

TEST_F(OrdersTest, UnknownOrdersAndReturnOfAnOpenOrder) {
  EXPECT_EQ(engine_.Commit(77).outcome, Outcome::kUnknownOrder);
  EXPECT_EQ(engine_.Cancel(77).outcome, Outcome::kUnknownOrder);
  EXPECT_EQ(engine_.Return(77).outcome, Outcome::kUnknownOrder);
  EXPECT_FALSE(engine_.GetOrder(77).has_value());
  ASSERT_TRUE(engine_.Reserve(78, std::vector<OrderLine>{{a_, 1}}, 1000).ok());
  const OrderResult r = engine_.Return(78);
  EXPECT_EQ(r.outcome, Outcome::kOrderOpen);
  EXPECT_EQ(r.state, OrderState::kHeld);
  ExpectLevels(a_, 9, 1, 0);
}

TEST_F(OrdersTest, FloorsBindHoldsAsTheyBindTakes) {
  ASSERT_TRUE(engine_.SetFloor(c_, -2).ok());  // c = 1, may go to -2
  EXPECT_TRUE(engine_.Reserve(11, std::vector<OrderLine>{{c_, 3}}, 1000).ok());
  const OrderResult r = engine_.Reserve(12, std::vector<OrderLine>{{c_, 1}}, 1000);
  EXPECT_EQ(r.outcome, Outcome::kInsufficient);
  EXPECT_EQ(r.available, -2);
  ExpectLevels(c_, -2, 3, 0);
}

TEST_F(OrdersTest, ExpiryAtTheDeadlineWithTheTestClock) {
  ASSERT_TRUE(engine_.Reserve(20, std::vector<OrderLine>{{a_, 3}, {b_, 2}}, 100).ok());
  clock_.AdvanceMs(99);
  EXPECT_EQ(engine_.SweepExpired(), 0u);
  ExpectLevels(a_, 7, 3, 0);
  clock_.AdvanceNanos(999'999);
  EXPECT_EQ(engine_.SweepExpired(), 0u);  // 1 ns before the deadline
  clock_.AdvanceNanos(1);
  EXPECT_EQ(engine_.SweepExpired(), 1u);
  ExpectLevels(a_, 10, 0, 0);
  ExpectLevels(b_, 5, 0, 0);
  for (OrderResult r : {engine_.Commit(20), engine_.Cancel(20), engine_.Return(20)}) {
    EXPECT_EQ(r.outcome, Outcome::kOrderClosed);
    EXPECT_EQ(r.state, OrderState::kExpired);
  }
  EXPECT_EQ(engine_.SweepExpired(), 0u);
  ExpectLevels(a_, 10, 0, 0);
  const ExpiryStats stats = engine_.expiry_stats();
  EXPECT_EQ(stats.expired, 1u);
  EXPECT_EQ(stats.lateness_max_nanos, 0);
}

TEST_F(OrdersTest, CommitAtTheDeadlineExpiresEvenBeforeTheSweep) {
  ASSERT_TRUE(engine_.Reserve(21, std::vector<OrderLine>{{a_, 1}}, 50).ok());
  ASSERT_TRUE(engine_.Reserve(22, std::vector<OrderLine>{{a_, 1}}, 50).ok());
  clock_.AdvanceMs(50);
  OrderResult r = engine_.Commit(21);
  EXPECT_EQ(r.outcome, Outcome::kOrderClosed);
  EXPECT_EQ(r.state, OrderState::kExpired);
  r = engine_.Cancel(22);
  EXPECT_EQ(r.outcome, Outcome::kOrderClosed);
  EXPECT_EQ(r.state, OrderState::kExpired);
  ExpectLevels(a_, 10, 0, 0);
  EXPECT_EQ(engine_.SweepExpired(), 0u);  // nothing left for the driver
  ExpectLevels(a_, 10, 0, 0);
}

// Give-backs (cancel, expiry, return) add without a check and must restock
// exactly once, so the level ceiling leaves room for every outstanding one
// (limits.h, kGiveBackHeadroom): at the ceiling, they land above it without
// wrapping, and restocks wait until the level is back under it.
TEST_F(OrdersTest, GiveBacksAtTheLevelCeilingNeverWrap) {
  constexpr std::int64_t q = kOrderLineQuantityMax;
  ASSERT_TRUE(engine_.Define("edge", kLevelMax).ok());
  const SkuHandle edge = *engine_.Resolve("edge");
  const std::vector<OrderLine> line = {{edge, q}};
  ASSERT_TRUE(engine_.Reserve(1, line, 60'000).ok());
  ASSERT_TRUE(engine_.Reserve(2, line, 60'000).ok());
  ASSERT_TRUE(engine_.Reserve(3, line, 60'000).ok());
  ASSERT_TRUE(engine_.Restock(edge, 3 * q).ok());  // back at the ceiling, 3q owed
  EXPECT_EQ(engine_.Restock(edge, 1).outcome, Outcome::kInvalidQuantity);
  ASSERT_TRUE(engine_.Commit(2).ok());
  ASSERT_TRUE(engine_.Cancel(1).ok());
  EXPECT_EQ(engine_.Cancel(1).state, OrderState::kCancelled);  // once
  ExpectLevels(edge, kLevelMax + q, q, q);
  ASSERT_TRUE(engine_.Return(2).ok());
  EXPECT_EQ(engine_.Return(2).outcome, Outcome::kOrderClosed);  // once
  ExpectLevels(edge, kLevelMax + 2 * q, q, 0);
  clock_.AdvanceMs(60'000);
  ASSERT_EQ(engine_.SweepExpired(), 1u);  // order 3
  ExpectLevels(edge, kLevelMax + 3 * q, 0, 0);
  EXPECT_GT(engine_.Levels(edge).available, 0);  // no wrap
  EXPECT_EQ(engine_.Restock(edge, 1).outcome, Outcome::kInvalidQuantity);
  // initial + restocked == available + held + sold.
  const StockLevels l = engine_.Levels(edge);
  EXPECT_EQ(l.available - 3 * q + l.held + l.sold, kLevelMax);
}

// One SKU, retention 0, no expiry thread: the capacity tests' book.
EngineOptions CapacityOptions(const Clock* clock, std::uint32_t orders_max) {
  EngineOptions o;
  o.skus_max = 1;
  o.clock = clock;
  o.orders_max = orders_max;
  o.order_retention_ms = 0;
  o.expiry_thread = false;
  return o;
}

// Forgotten slots return to one free list, whatever shard their ids were
// filed under. So the book fills to exactly orders_max whatever shards the
// ids land in, again and again.
TEST(OrdersCapacityTest, EverySlotIsReusableWhateverTheShards) {
  ManualClock clock(1'000'000'000);
  Engine engine(CapacityOptions(&clock, 100));
  ASSERT_TRUE(engine.Define("a", 1'000'000).ok());
  const std::vector<OrderLine> one = {{*engine.Resolve("a"), 1}};
  OrderId next = 1;
  for (int round = 0; round < 20; ++round) {
    // Each round uses ids spread differently over the shards.
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(engine.Reserve(next++ * (round + 1), one, 1).ok()) << round;
    EXPECT_EQ(engine.Reserve(next++ * (round + 1), one, 1).outcome, Outcome::kOrdersFull);
    clock.AdvanceMs(1);
    ASSERT_EQ(engine.SweepExpired(), 100u);
    clock.AdvanceMs(1);
    engine.SweepExpired();
    EXPECT_EQ(engine.expiry_stats().scheduled, 0u);
  }
  EXPECT_EQ(engine.expiry_stats().forgotten, 2000u);
  const StockLevels l = engine.Levels(*engine.Resolve("a"));
  EXPECT_EQ(l.available, 1'000'000);
  EXPECT_EQ(l.held, 0);
}

// A driver that has fallen behind (starved of CPU) must not fill the book
// with ids already due to be forgotten: a reserve that finds every slot
// busy runs the sweep itself. Here the driver never runs at all.
TEST(OrdersCapacityTest, AFullBookSweepsBeforeRefusing) {
  ManualClock clock(1'000'000'000);
  Engine engine(CapacityOptions(&clock, 8));
  ASSERT_TRUE(engine.Define("a", 1'000).ok());
  const std::vector<OrderLine> one = {{*engine.Resolve("a"), 1}};
  for (OrderId id = 1; id <= 8; ++id) {
    ASSERT_TRUE(engine.Reserve(id, one, 1).ok());
    ASSERT_TRUE(engine.Commit(id).ok());
  }
  EXPECT_EQ(engine.expiry_stats().helped_sweeps, 0u);
  // Each is remembered until its hold's deadline (1 ms; retention is 0).
  clock.AdvanceMs(1);
  // Every slot holds a committed, unswept order due to be forgotten: the
  // ninth reserve sweeps, forgets all eight and takes a slot.
  ASSERT_TRUE(engine.Reserve(9, one, 60'000).ok());
  EXPECT_EQ(engine.expiry_stats().helped_sweeps, 1u);
  EXPECT_EQ(engine.expiry_stats().forgotten, 8u);
  EXPECT_FALSE(engine.GetOrder(1).has_value());
  // Open holds are never forgotten: with 8 held, the ninth is refused after
  // one more helping sweep, and nothing changed.
  for (OrderId id = 10; id <= 16; ++id) ASSERT_TRUE(engine.Reserve(id, one, 60'000).ok());
  EXPECT_EQ(engine.Reserve(17, one, 60'000).outcome, Outcome::kOrdersFull);
  EXPECT_EQ(engine.expiry_stats().helped_sweeps, 2u);
  EXPECT_FALSE(engine.GetOrder(17).has_value());
  const StockLevels l = engine.Levels(*engine.Resolve("a"));
  EXPECT_EQ(l.available, 1'000 - 8 - 8);
  EXPECT_EQ(l.held, 8);
  EXPECT_EQ(l.sold, 8);
}

// orders_max and retention at their edges: every slot busy -> ORDERS_FULL;
// an id is remembered for retention after its last change and at least
// until its hold's deadline, then forgotten and its slot reused.
class OrdersLimitsTest : public ::testing::Test {
 protected:
  OrdersLimitsTest() : engine_(Options(&clock_)) {}
  static EngineOptions Options(const Clock* clock) {
    EngineOptions o;
    o.skus_max = 2;
    o.clock = clock;
    o.orders_max = 4;
    o.order_retention_ms = kRetentionMs;
    o.expiry_thread = false;
    return o;
  }
  void SetUp() override {
    ASSERT_TRUE(engine_.Define("a", 100).ok());
    ASSERT_TRUE(engine_.Define("scarce", 0).ok());
    a_ = *engine_.Resolve("a");
    one_ = {{a_, 1}};
  }
  void Advance(std::int64_t nanos) {
    clock_.AdvanceNanos(nanos);
    engine_.SweepExpired();
  }
  ManualClock clock_{5'000'000'000};
  Engine engine_;
  SkuHandle a_;
  std::vector<OrderLine> one_;
};

TEST_F(OrdersLimitsTest, CapacityAndRetentionAtTheirEdges) {
  constexpr std::int64_t kMs = 1'000'000;
  ASSERT_TRUE(engine_.Reserve(1, one_, 60'000).ok());
  ASSERT_TRUE(engine_.Reserve(2, one_, 60'000).ok());
  ASSERT_TRUE(engine_.Reserve(3, one_, 60'000).ok());
  // A failed reserve is remembered too, and takes a slot.
  ASSERT_EQ(engine_.Reserve(4, std::vector<OrderLine>{{*engine_.Resolve("scarce"), 1}}, 60'000).outcome,
            Outcome::kInsufficient);
  EXPECT_EQ(engine_.Reserve(5, one_, 60'000).outcome, Outcome::kOrdersFull);
  EXPECT_FALSE(engine_.GetOrder(5).has_value());  // a refusal is not remembered
  Advance(0);  // the driver files holds 1-3 at their deadlines
  ASSERT_TRUE(engine_.Commit(1).ok());

  Advance(kRetentionMs * kMs - 1);  // 1 ns before order 4 may be forgotten
  EXPECT_EQ(engine_.Reserve(5, one_, 60'000).outcome, Outcome::kOrdersFull);
  EXPECT_EQ(engine_.GetOrder(4)->state, OrderState::kFailed);
  Advance(1);
  EXPECT_FALSE(engine_.GetOrder(4).has_value());
  EXPECT_EQ(engine_.Commit(4).outcome, Outcome::kUnknownOrder);
  ASSERT_TRUE(engine_.Reserve(5, one_, 60'000).ok());  // reuses order 4's slot
  EXPECT_EQ(engine_.Reserve(6, one_, 60'000).outcome, Outcome::kOrdersFull);

  // Order 1 closed long ago but its hold's deadline is t0 + 60 s.
  Advance(59'000 * kMs - 1);
  EXPECT_EQ(engine_.Reserve(6, one_, 60'000).outcome, Outcome::kOrdersFull);
  Advance(1);  // t0 + 60 s: 2 and 3 expire, 1 is forgotten
  EXPECT_EQ(engine_.GetOrder(2)->state, OrderState::kExpired);
  EXPECT_EQ(engine_.GetOrder(3)->state, OrderState::kExpired);
  EXPECT_FALSE(engine_.GetOrder(1).has_value());
  EXPECT_EQ(engine_.Return(1).outcome, Outcome::kUnknownOrder);
  ASSERT_TRUE(engine_.Reserve(6, one_, 60'000).ok());
  EXPECT_EQ(engine_.Reserve(7, one_, 60'000).outcome, Outcome::kOrdersFull);
  const StockLevels l = engine_.Levels(a_);
  EXPECT_EQ(l.available, 97);  // 100 - order 1 sold - orders 5 and 6 held
  EXPECT_EQ(l.held, 2);
  EXPECT_EQ(l.sold, 1);
  EXPECT_EQ(l.available + l.held + l.sold, 100);
}

// Was ClosedBeforeTheDriverSawItIsForgottenAtRetention. The forget rule
// reads only what the journal records: a closed order is forgotten at the
// later of its close + retention and its hold's deadline, whether or not
// the expiry driver saw it open (order 2 here: filed in the wheel before its
// cancel; order 1: committed before any sweep).
TEST_F(OrdersLimitsTest, ClosedEarlyIsForgottenAtTheLaterOfRetentionAndDeadline) {
  constexpr std::int64_t kMs = 1'000'000;
  constexpr std::int64_t kTtlMs = 3 * kRetentionMs;
  ASSERT_TRUE(engine_.Reserve(1, one_, kTtlMs).ok());
  ASSERT_TRUE(engine_.Commit(1).ok());
  ASSERT_TRUE(engine_.Reserve(2, one_, kTtlMs).ok());
  Advance(0);  // the driver sees order 2 open
  ASSERT_TRUE(engine_.Cancel(2).ok());
  Advance(kTtlMs * kMs - 1);  // retention long over, 1 ns before the deadlines
  EXPECT_EQ(engine_.GetOrder(1)->state, OrderState::kCommitted);
  EXPECT_EQ(engine_.Reserve(2, one_, kTtlMs).state, OrderState::kCancelled);  // a retry: the first answer
  Advance(1);
  EXPECT_FALSE(engine_.GetOrder(1).has_value());
  EXPECT_FALSE(engine_.GetOrder(2).has_value());
  EXPECT_EQ(engine_.expiry_stats().forgotten, 2u);
  EXPECT_EQ(engine_.expiry_stats().scheduled, 0u);
  // Both slots are free again: the book takes 4 new orders.
  for (OrderId id = 10; id < 14; ++id) ASSERT_TRUE(engine_.Reserve(id, one_, 60'000).ok()) << id;
  EXPECT_EQ(engine_.Reserve(14, one_, 60'000).outcome, Outcome::kOrdersFull);
  const StockLevels l = engine_.Levels(a_);
  EXPECT_EQ(l.available, 95);  // 100 - order 1 sold - 10..13 held
  EXPECT_EQ(l.held, 4);
  EXPECT_EQ(l.sold, 1);
}

// A hold shorter than retention: forgotten at close + retention.
TEST_F(OrdersLimitsTest, ClosedWithAShortHoldIsForgottenAtRetention) {
  constexpr std::int64_t kMs = 1'000'000;
  ASSERT_TRUE(engine_.Reserve(1, one_, 10).ok());
  ASSERT_TRUE(engine_.Commit(1).ok());
  Advance(kRetentionMs * kMs - 1);
  EXPECT_EQ(engine_.GetOrder(1)->state, OrderState::kCommitted);
  Advance(1);
  EXPECT_FALSE(engine_.GetOrder(1).has_value());
}

TEST_F(OrdersLimitsTest, ReturnRestartsTheRetentionWindow) {
  constexpr std::int64_t kMs = 1'000'000;
  ASSERT_TRUE(engine_.Reserve(1, one_, 100).ok());
  ASSERT_TRUE(engine_.Commit(1).ok());
  Advance(900 * kMs);
  ASSERT_TRUE(engine_.Return(1).ok());
  Advance(1000 * kMs - 1);  // 1 ns before return + retention
  EXPECT_EQ(engine_.GetOrder(1)->state, OrderState::kReturned);
  EXPECT_EQ(engine_.Return(1).state, OrderState::kReturned);
  Advance(1);
  EXPECT_FALSE(engine_.GetOrder(1).has_value());
  // A forgotten id starts a new order.
  ASSERT_TRUE(engine_.Reserve(1, std::vector<OrderLine>{{a_, 2}}, 100).ok());
  const StockLevels l = engine_.Levels(a_);
  EXPECT_EQ(l.available, 98);
  EXPECT_EQ(l.held, 2);
  EXPECT_EQ(l.sold, 0);
  EXPECT_EQ(engine_.expiry_stats().forgotten, 1u);
}

TEST(OrdersRecoveryTest, RestoreHoldsAndClosesThenExpireWhatPassedWhileDown) {
  ManualClock clock(10'000'000'000);
  EngineOptions o;
  o.skus_max = 4;
  o.clock = &clock;
  o.expiry_thread = false;
  Engine engine(o);
  ASSERT_TRUE(engine.Define("a", 10).ok());
  const SkuHandle a = *engine.Resolve("a");
  OrderBook& book = internal::EngineAccess::orders(engine);
  const std::vector<OrderLine> two = {{a, 2}};
  // Journaled holds re-apply without a floor check (level 10 - 12 = -2).
  ASSERT_TRUE(book.RestoreHold(1, two, clock.NowNanos() + 5'000'000'000).ok());
  ASSERT_TRUE(book.RestoreHold(2, two, clock.NowNanos() - 1).ok());  // passed while down
  ASSERT_TRUE(book.RestoreHold(3, two, clock.NowNanos() + 5'000'000'000).ok());
  ASSERT_TRUE(book.RestoreHold(4, std::vector<OrderLine>{{a, 6}}, clock.NowNanos() + 1).ok());
  EXPECT_EQ(book.RestoreHold(3, two, 0).outcome, Outcome::kOrderConflict);
  ASSERT_TRUE(book.RestoreClose(3, OrderState::kCommitted).ok());
  ASSERT_TRUE(book.RestoreClose(3, OrderState::kReturned).ok());
  ASSERT_TRUE(book.RestoreClose(4, OrderState::kCommitted).ok());
  EXPECT_EQ(book.RestoreClose(4, OrderState::kCancelled).outcome, Outcome::kOrderClosed);
  // A failed reserve restores with kOk (it once answered kInsufficient).
  const OrderResult failed = book.RestoreFailed(5, std::vector<OrderLine>{{a, 50}}, 0, 2);
  EXPECT_EQ(failed.outcome, Outcome::kOk);
  EXPECT_EQ(failed.state, OrderState::kFailed);
  EXPECT_EQ(engine.GetOrder(5)->state, OrderState::kFailed);
  EXPECT_EQ(book.RestoreFailed(5, std::vector<OrderLine>{{a, 50}}, 0, 2).outcome, Outcome::kOrderConflict);
  EXPECT_EQ(engine.SweepExpired(), 1u);  // order 2
  EXPECT_EQ(engine.GetOrder(2)->state, OrderState::kExpired);
  EXPECT_EQ(engine.GetOrder(1)->state, OrderState::kHeld);
  const StockLevels l = engine.Levels(a);
  EXPECT_EQ(l.available, 2);  // 10 - 2 held (order 1) - 6 sold (order 4)
  EXPECT_EQ(l.held, 2);
  EXPECT_EQ(l.sold, 6);
}

// The engine's own expiry thread, on the steady clock: the one test that
// takes (a few milliseconds of) wall time. It polls with a deadline, never
// sleeps hoping for an interleaving.
TEST(OrdersExpiryThreadTest, ExpiresOnTheSteadyClock) {
  Engine engine(EngineOptions{.skus_max = 2});
  ASSERT_TRUE(engine.Define("a", 3).ok());
  const SkuHandle a = *engine.Resolve("a");
  ASSERT_TRUE(engine.Reserve(1, std::vector<OrderLine>{{a, 3}}, 5).ok());
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (engine.GetOrder(1)->state == OrderState::kHeld && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(engine.GetOrder(1)->state, OrderState::kExpired);
  const StockLevels l = engine.Levels(a);
  EXPECT_EQ(l.available, 3);
  EXPECT_EQ(l.held, 0);
  EXPECT_EQ(engine.expiry_stats().expired, 1u);
}

}  // namespace
}  // namespace flashstock
