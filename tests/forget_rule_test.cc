// When an order is forgotten (base/forget_rule.h): one rule, fed only
// what the journal records, for the live book, the snapshot's pruning and
// recovery; and what follows from it across a restart: a RETURN accepted
// live survives, and a reused id comes back as its newest incarnation.
#include <cstdint>
#include <limits>
#include <vector>

#include "flashstock/engine.h"
#include "gtest/gtest.h"
#include "base/forget_rule.h"
#include "journal_test_util.h"
#include "journal/snapshot.h"

namespace flashstock {
namespace {

using testing::OpenOrDie;
using testing::TempDir;

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

struct Triple {
  std::int64_t changed, deadline, retention, forget_at;
};
const Triple kTable[] = {
    {100, 50, 10, 110},                          // hold long over: retention decides
    {100, 500, 10, 500},                         // closed early: kept until the deadline
    {100, 110, 10, 110},                         // both at once
    {100, internal::kNoDeadline, 0, 100},        // failed, retention 0
    {kMax - 5, kMax - 100, 10, kMax},            // saturates instead of wrapping
    {kMax, internal::kNoDeadline, kMax, kMax},   // saturates
    {kMin, kMin, 0, kMin},                       // the clock's very start
};

TEST(ForgetRuleTest, TheLaterOfLastChangePlusRetentionAndTheDeadline) {
  for (const Triple& t : kTable) {
    EXPECT_EQ(internal::OrderForgetAtNanos(t.changed, t.deadline, t.retention), t.forget_at)
        << t.changed << " " << t.deadline << " " << t.retention;
    if (t.forget_at != kMin) {
      EXPECT_FALSE(internal::OrderForgottenAt(t.forget_at, t.forget_at - 1));
    }
    EXPECT_TRUE(internal::OrderForgottenAt(t.forget_at, t.forget_at));
  }
}

// The same (close time, ttl, retention) triples in the live book and in a
// journal state's pruning: both forget at the rule's time, never earlier.
TEST(ForgetRuleTest, LiveBookAndSnapshotPruneForgetAtTheSameTime) {
  struct Live {
    std::int64_t close_after_ms, ttl_ms, retention_ms;
  };
  const Live cases[] = {{0, 50, 10}, {0, 10, 50}, {30, 50, 10}, {4, 5, 0}, {0, 1, 100}};
  for (const Live& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(std::vector<std::int64_t>{c.close_after_ms, c.ttl_ms, c.retention_ms}));
    const std::int64_t start = 1000 * kMs;
    const std::int64_t closed = start + c.close_after_ms * kMs;
    const std::int64_t forget_at =
        internal::OrderForgetAtNanos(closed, start + c.ttl_ms * kMs, c.retention_ms * kMs);
    // Live: with and without the driver seeing the hold open first.
    for (bool driver_saw_it : {false, true}) {
      ManualClock clock(start);
      EngineOptions o;
      o.skus_max = 1;
      o.clock = &clock;
      o.order_retention_ms = c.retention_ms;
      o.expiry_thread = false;
      Engine e(o);
      ASSERT_TRUE(e.Define("a", 10).ok());
      const std::vector<OrderLine> one = {{*e.Resolve("a"), 1}};
      ASSERT_TRUE(e.Reserve(1, one, c.ttl_ms).ok());
      if (driver_saw_it) (void)e.SweepExpired();
      clock.AdvanceMs(c.close_after_ms);
      ASSERT_TRUE(e.Commit(1).ok());
      clock.AdvanceNanos(forget_at - 1 - clock.NowNanos());
      (void)e.SweepExpired();
      EXPECT_TRUE(e.GetOrder(1).has_value()) << driver_saw_it;
      clock.AdvanceNanos(1);
      (void)e.SweepExpired();
      EXPECT_FALSE(e.GetOrder(1).has_value()) << driver_saw_it;
    }
    // Snapshot: the state keeps it until forget_at + the margin.
    journal::JournalState s;
    journal::Record r;
    r.type = journal::RecordType::kDefine;
    r.sequence = 1;
    r.value = 10;
    r.name = "a";
    ASSERT_TRUE(s.Apply(r).ok());
    r = {};
    r.type = journal::RecordType::kOrderReserve;
    r.sequence = 2;
    r.order_id = 1;
    r.deadline = start + c.ttl_ms * kMs;
    r.line_count = 1;
    r.lines[0] = {0, 1};
    ASSERT_TRUE(s.Apply(r).ok());
    r.type = journal::RecordType::kOrderCommit;
    r.sequence = 3;
    r.line_count = 0;
    r.at = closed;
    ASSERT_TRUE(s.Apply(r).ok());
    s.wall_high = forget_at + journal::kOrderPruneMarginNanos - 1;
    s.PruneClosed(c.retention_ms * kMs);
    EXPECT_EQ(s.orders.size(), 1u);
    s.wall_high += 1;
    s.PruneClosed(c.retention_ms * kMs);
    EXPECT_TRUE(s.orders.empty());
  }
}

struct Clocks {
  ManualClock steady{5 * kMs};
  ManualClock wall{1'700'000'000'000'000'000};
  void Advance(std::int64_t nanos) {
    steady.AdvanceNanos(nanos);
    wall.AdvanceNanos(nanos);
  }
};

EngineOptions Options(const std::string& dir, Clocks* c, std::int64_t retention_ms) {
  EngineOptions o = testing::JournalOptions(dir, Durability::kSync);
  o.clock = &c->steady;
  o.wall_clock = &c->wall;
  o.order_retention_ms = retention_ms;
  o.expiry_thread = false;
  return o;
}

// An order the driver saw held, committed early, is kept
// until its deadline; a checkpoint after its close + retention + 10 min
// used to prune it, so a RETURN accepted live after that was dropped at
// recovery (95 / 5 instead of 100 / 0). One rule now decides both.
TEST(ForgetRuleTest, ReturnAcceptedLiveSurvivesARestartAcrossACheckpoint) {
  TempDir dir;
  Clocks c;
  {
    std::unique_ptr<Engine> e = OpenOrDie(Options(dir.path(), &c, 100));
    ASSERT_TRUE(e->Define("a", 100).ok());
    const std::vector<OrderLine> five = {{*e->Resolve("a"), 5}};
    ASSERT_TRUE(e->Reserve(1, five, kHoldTtlMsMax).ok());
    (void)e->SweepExpired();  // the driver sees it held
    ASSERT_TRUE(e->Commit(1).ok());
    c.Advance(11 * 60 * 1000 * kMs);  // past close + retention + the prune margin
    (void)e->SweepExpired();
    ASSERT_TRUE(e->GetOrder(1).has_value());  // its deadline is hours away
    // Another order's close stamps the journal's clock forward, then a checkpoint.
    ASSERT_TRUE(e->Reserve(2, five, 1000).ok());
    ASSERT_TRUE(e->Cancel(2).ok());
    ASSERT_TRUE(e->Checkpoint().ok());
    ASSERT_TRUE(e->Return(1).ok());
    const StockLevels l = e->Levels(*e->Resolve("a"));
    EXPECT_EQ(l.available, 100);
    EXPECT_EQ(l.sold, 0);
  }
  std::unique_ptr<Engine> e = OpenOrDie(Options(dir.path(), &c, 100));
  const StockLevels l = e->Levels(*e->Resolve("a"));
  EXPECT_EQ(l.available, 100) << e->recovery_summary();
  EXPECT_EQ(l.sold, 0);
  ASSERT_TRUE(e->GetOrder(1).has_value());
  EXPECT_EQ(e->GetOrder(1)->state, OrderState::kReturned);
}

// Once forgotten, a RESERVE under the id is a new order;
// after a restart the newest incarnation is the one remembered.
TEST(ForgetRuleTest, AReusedIdRestoresItsNewestIncarnation) {
  for (bool checkpoint : {false, true}) {
    SCOPED_TRACE(checkpoint ? "with a checkpoint between" : "journal only");
    TempDir dir;
    Clocks c;
    const std::vector<OrderLine>* lines = nullptr;
    std::vector<OrderLine> one, two;
    {
      std::unique_ptr<Engine> e = OpenOrDie(Options(dir.path(), &c, 100));
      ASSERT_TRUE(e->Define("a", 10).ok());
      one = {{*e->Resolve("a"), 1}};
      two = {{*e->Resolve("a"), 2}};
      ASSERT_TRUE(e->Reserve(7, one, 1).ok());
      ASSERT_TRUE(e->Commit(7).ok());
      c.Advance(200 * kMs);
      (void)e->SweepExpired();
      ASSERT_FALSE(e->GetOrder(7).has_value());  // forgotten
      ASSERT_TRUE(e->Reserve(7, two, 1).ok());   // a new order
      ASSERT_TRUE(e->Commit(7).ok());
      if (checkpoint) {
        ASSERT_TRUE(e->Checkpoint().ok());
      }
    }
    lines = &two;
    std::unique_ptr<Engine> e = OpenOrDie(Options(dir.path(), &c, 100));
    ASSERT_TRUE(e->GetOrder(7).has_value());
    EXPECT_EQ(e->GetOrder(7)->lines[0].quantity, 2);
    const OrderResult retry = e->Reserve(7, *lines, 1);
    EXPECT_EQ(retry.outcome, Outcome::kOk);
    EXPECT_EQ(retry.state, OrderState::kCommitted);
    EXPECT_TRUE(e->Return(7).ok());
    const StockLevels l = e->Levels(*e->Resolve("a"));
    EXPECT_EQ(l.available, 9);  // the first incarnation's unit stays sold
    EXPECT_EQ(l.sold, 1);
  }
}

}  // namespace
}  // namespace flashstock
