// Escrow (engine/include/flashstock/internal/escrow.h) through the engine: a split SKU answers
// like a joined one wherever the contract is exact, and the one race that
// decides exactness, a refusal against a refill in flight, is forced with
// test points (tests/test_gate.h) rather than hoped for.
//
// Links flashstock_engine_test_points (the engine with its test points).
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "base/reader_slots.h"
#include "engine_access.h"
#include "flashstock/clock.h"
#include "flashstock/engine.h"
#include "gtest/gtest.h"
#include "journal_test_util.h"
#include "test_gate.h"

namespace flashstock {
namespace {

using testing::Gate;
using testing::GateGuard;
using testing::TestPoint;

EngineOptions Small() {
  EngineOptions o;
  o.skus_max = 16;
  o.expiry_thread = false;
  return o;
}

TEST(EscrowTest, OnOffAndStatus) {
  Engine e(Small());
  ASSERT_TRUE(e.Define("hot", 1000).ok());
  ASSERT_TRUE(e.Define("thin", kEscrowSplitMin - 1).ok());
  const SkuHandle hot = *e.Resolve("hot");
  const SkuHandle thin = *e.Resolve("thin");
  EXPECT_FALSE(e.GetEscrow(hot)->on);
  EXPECT_EQ(e.SetEscrow("hot", true).available, 1000);
  EXPECT_TRUE(e.GetEscrow(hot)->on);
  EXPECT_TRUE(e.GetEscrow(hot)->split);
  // Below kEscrowSplitMin: on, but joined until a restock makes it roomy.
  ASSERT_TRUE(e.SetEscrow(thin, true).ok());
  EXPECT_TRUE(e.GetEscrow(thin)->on);
  EXPECT_FALSE(e.GetEscrow(thin)->split);
  ASSERT_TRUE(e.Restock(thin, 1).ok());
  EXPECT_TRUE(e.GetEscrow(thin)->split);
  // Off: joined, every unit back on the SKU's line.
  ASSERT_TRUE(e.Take(hot, 7).ok());
  EXPECT_EQ(e.SetEscrow(hot, false).available, 993);
  EXPECT_FALSE(e.GetEscrow(hot)->on);
  EXPECT_EQ(e.Level(hot).available, 993);
  // Errors change nothing.
  EXPECT_EQ(e.SetEscrow("nope", true).outcome, Outcome::kUnknownSku);
  EXPECT_EQ(e.SetEscrow("", true).outcome, Outcome::kInvalidName);
  EXPECT_EQ(e.SetEscrow(SkuHandle{15}, true).outcome, Outcome::kUnknownSku);
  EXPECT_FALSE(e.GetEscrow(SkuHandle{15}).has_value());
}

TEST(EscrowTest, ExactAnswersOnOneThread) {
  Engine e(Small());
  ASSERT_TRUE(e.Define("s", 100, -3).ok());
  ASSERT_TRUE(e.SetEscrow("s", true).ok());
  EXPECT_EQ(e.Take("s", 0).outcome, Outcome::kInvalidQuantity);
  EXPECT_EQ(e.Take("s", -1).outcome, Outcome::kInvalidQuantity);
  std::int64_t taken = 0;
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(e.Take("s", 3).ok());
    taken += 3;
  }
  EXPECT_EQ(e.Level("s").available, 100 - taken);
  // 10 + 3 of backorder left: a take of 14 is refused, 13 is not.
  EXPECT_EQ(e.Take("s", 14).outcome, Outcome::kInsufficient);
  EXPECT_EQ(e.Take("s", 14).available, 10);
  StockResult up = e.TakeUpTo("s", 100);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up.taken, 13);
  EXPECT_EQ(up.available, -3);
  EXPECT_EQ(e.Take("s", 1).outcome, Outcome::kInsufficient);
  // A floor raise above the level stops takes; lowering it lets them on.
  ASSERT_TRUE(e.SetFloor("s", 0).ok());
  ASSERT_TRUE(e.Restock("s", 3).ok());
  EXPECT_EQ(e.Take("s", 1).outcome, Outcome::kInsufficient);
  ASSERT_TRUE(e.SetFloor("s", -1).ok());
  EXPECT_TRUE(e.Take("s", 1).ok());
  EXPECT_EQ(e.Level("s").available, -1);
  // A big restock splits it again; takes past kEscrowChunkMax go to the pool.
  ASSERT_TRUE(e.Restock("s", 5001).ok());
  EXPECT_TRUE(e.GetEscrow(*e.Resolve("s"))->split);
  EXPECT_TRUE(e.Take("s", kEscrowChunkMax + 1).ok());
  EXPECT_EQ(e.Level("s").available, 5000 - kEscrowChunkMax - 1);
}

TEST(EscrowTest, OrdersOnASplitSku) {
  Engine e(Small());
  ASSERT_TRUE(e.Define("s", 200).ok());
  ASSERT_TRUE(e.SetEscrow("s", true).ok());
  const SkuHandle s = *e.Resolve("s");
  ASSERT_TRUE(e.Take(s, 1).ok());  // this thread's lease now holds units the pool does not
  // A hold of everything left must be granted: it reclaims the leases.
  const OrderLine all{s, 199};
  ASSERT_TRUE(e.Reserve(1, {&all, 1}, 60'000).ok());
  StockLevels l = e.Levels(s);
  EXPECT_EQ(l.available, 0);
  EXPECT_EQ(l.held, 199);
  EXPECT_EQ(e.Take(s, 1).outcome, Outcome::kInsufficient);
  ASSERT_TRUE(e.Cancel(1).ok());
  EXPECT_EQ(e.Levels(s).available, 199);
  EXPECT_TRUE(e.Take(s, 199).ok());
}

// Units in leases of threads that have gone are not stranded: a take of
// everything left reclaims them.
TEST(EscrowTest, UnitsInOtherThreadsLeasesAreReclaimed) {
  Engine e(Small());
  ASSERT_TRUE(e.Define("s", 1000).ok());
  ASSERT_TRUE(e.SetEscrow("s", true).ok());
  const SkuHandle s = *e.Resolve("s");
  std::vector<std::thread> buyers;
  for (int i = 0; i < 8; ++i) buyers.emplace_back([&] { ASSERT_TRUE(e.Take(s, 1).ok()); });
  for (std::thread& b : buyers) b.join();
  EXPECT_EQ(e.Level(s).available, 992);
  EXPECT_TRUE(e.GetEscrow(s)->split);
  const StockResult all = e.Take(s, 992);
  EXPECT_TRUE(all.ok()) << all.available;
  EXPECT_EQ(e.Level(s).available, 0);
  EXPECT_EQ(e.Take(s, 1).outcome, Outcome::kInsufficient);
}

// The refill window: the owner of a lease has drawn the pool's units into
// its hands (its lease marked refilling, no word shows them) when another
// thread asks for more than the pool holds. The refusal path must wait for
// the refill and count its units: the take is granted, never refused.
TEST(EscrowTest, ARefusalWaitsForARefillInFlight) {
  GateGuard guard;
  Engine e(Small());
  ASSERT_TRUE(e.Define("s", kEscrowSplitMin).ok());
  ASSERT_TRUE(e.SetEscrow("s", true).ok());
  const SkuHandle s = *e.Resolve("s");
  // The owner's lease is its thread number modulo kEscrowLeases: learn the
  // number first, then arm the gate for that lease.
  std::promise<int> number;
  std::promise<void> go;
  auto owner = std::async(std::launch::async, [&] {
    number.set_value(internal::ReaderSlots::ThisThreadIndex());
    go.get_future().wait();
    return e.Take(s, 1);
  });
  const int owner_number = number.get_future().get();
  ASSERT_GE(owner_number, 0);
  const auto owner_lease = static_cast<std::uint32_t>(owner_number % static_cast<int>(kEscrowLeases));
  Gate::Instance().Arm(TestPoint::kEscrowRefilling, owner_lease);
  go.set_value();
  Gate::Instance().AwaitArrival();
  // The owner holds 1 + its chunk; everything else is in the pool.
  const std::int64_t in_pool = e.Level(s).available;
  const std::int64_t in_hands = kEscrowSplitMin - in_pool;
  ASSERT_GT(in_hands, 1);
  Gate::Instance().Watch(TestPoint::kEscrowJoinWaits, owner_lease);
  const std::int64_t want = kEscrowSplitMin - 1;  // all but the owner's unit
  auto other = std::async(std::launch::async, [&] { return e.Take(s, want); });
  // The other take's join waits on the refill (a refusal that did not wait
  // would come back instead; it is checked below).
  const bool waited = Gate::Instance().AwaitWatchedFor(30);
  Gate::Instance().Release();
  EXPECT_TRUE(waited) << "the other take never waited for the refill";
  EXPECT_TRUE(owner.get().ok());
  const StockResult got = other.get();
  EXPECT_TRUE(got.ok()) << "refused while the refill held " << in_hands << " units";
  EXPECT_EQ(e.Level(s).available, 0);
}

// A take that loaded no escrow pointer, then is refused on the pool after
// the SKU went into escrow and a lease drew units from it, must look again
// and decide on the whole SKU (the escrow is published before any split and
// never withdrawn; Engine::Take). Forced in a journaled engine, whose take
// path has a test point between the pointer load and the pool take.
TEST(EscrowTest, ARefusalOnThePoolFindsAnEscrowPublishedMeanwhile) {
  GateGuard guard;
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<Engine>> opened =
      Engine::Open(testing::JournalOptions(dir.path(), Durability::kAsync));
  ASSERT_TRUE(opened.ok()) << opened.status();
  Engine& e = **opened;
  ASSERT_TRUE(e.Define("s", kEscrowSplitMin).ok());
  const SkuHandle s = *e.Resolve("s");
  Gate::Instance().Arm(TestPoint::kTakeSawNoEscrow, s.index);
  const std::int64_t want = kEscrowSplitMin - 1;
  auto late = std::async(std::launch::async, [&] { return e.Take(s, want); });
  Gate::Instance().AwaitArrival();
  ASSERT_TRUE(e.SetEscrow(s, true).ok());
  ASSERT_TRUE(e.GetEscrow(s)->split);
  // Another buyer's take refills its lease: the pool alone now holds less
  // than the late take wants, the SKU as a whole more.
  std::thread([&] { EXPECT_TRUE(e.Take(s, 1).ok()); }).join();
  ASSERT_GE(e.Level(s).available, want);
  Gate::Instance().Release();
  const StockResult got = late.get();
  EXPECT_TRUE(got.ok()) << "refused with " << got.available << " seen; the lease's units were missed";
  EXPECT_EQ(e.Level(s).available, 0);
}

// Auto escrow's threshold, crossed exactly: the engine's contention count
// is driven directly (EngineAccess), on a clock the test moves.
TEST(EscrowTest, AutoSplitsAtTheThresholdWithinTheWindow) {
  ManualClock clock;
  EngineOptions o = Small();
  o.clock = &clock;
  o.escrow = EscrowMode::kAuto;
  Engine e(o);
  ASSERT_TRUE(e.Define("hot", 1'000'000).ok());
  ASSERT_TRUE(e.Define("thin", kEscrowSplitMin - 1).ok());
  const SkuHandle hot = *e.Resolve("hot");
  const SkuHandle thin = *e.Resolve("thin");
  EXPECT_EQ(e.GetEscrow(hot)->mode, EscrowMode::kAuto);
  EXPECT_TRUE(e.GetEscrow(hot)->on);
  // One short of the threshold: still one line.
  internal::EngineAccess::NoteContention(e, hot, kEscrowAutoRetries - 1);
  EXPECT_FALSE(e.GetEscrow(hot)->split);
  // Failures on another SKU in between start this thread's count over.
  internal::EngineAccess::NoteContention(e, thin, 1);
  internal::EngineAccess::NoteContention(e, hot, kEscrowAutoRetries - 1);
  EXPECT_FALSE(e.GetEscrow(hot)->split);
  // Spread past the window: not hot enough; the count starts over.
  clock.AdvanceMs(kEscrowAutoWindowMs + 1);
  internal::EngineAccess::NoteContention(e, hot, 1);
  EXPECT_FALSE(e.GetEscrow(hot)->split);
  // The threshold within the window: split.
  internal::EngineAccess::NoteContention(e, hot, kEscrowAutoRetries);
  EXPECT_TRUE(e.GetEscrow(hot)->split);
  EXPECT_EQ(e.Level(hot).available, 1'000'000);
  // Too few units to split: contended, but stays on one line.
  internal::EngineAccess::NoteContention(e, thin, kEscrowAutoRetries);
  EXPECT_FALSE(e.GetEscrow(thin)->split);
  // A SKU set off is never split by contention, nor one set on joined by it.
  ASSERT_TRUE(e.SetEscrow(thin, EscrowMode::kOff).ok());
  ASSERT_TRUE(e.Restock(thin, 1000).ok());
  internal::EngineAccess::NoteContention(e, thin, kEscrowAutoRetries);
  EXPECT_FALSE(e.GetEscrow(thin)->split);
  EXPECT_EQ(e.GetEscrow(thin)->mode, EscrowMode::kOff);
}

TEST(EscrowTest, AutoIsPerSkuWhenTheEngineDefaultIsOff) {
  ManualClock clock;
  EngineOptions o = Small();
  o.clock = &clock;
  Engine e(o);
  ASSERT_TRUE(e.Define("a", 1000).ok());
  ASSERT_TRUE(e.Define("b", 1000).ok());
  const SkuHandle a = *e.Resolve("a");
  const SkuHandle b = *e.Resolve("b");
  ASSERT_TRUE(e.SetEscrow(b, EscrowMode::kAuto).ok());
  EXPECT_FALSE(e.GetEscrow(b)->split);  // auto waits for contention
  internal::EngineAccess::NoteContention(e, a, kEscrowAutoRetries);
  EXPECT_FALSE(e.GetEscrow(a)->split);
  EXPECT_EQ(e.GetEscrow(a)->mode, EscrowMode::kOff);
  internal::EngineAccess::NoteContention(e, b, kEscrowAutoRetries);
  EXPECT_TRUE(e.GetEscrow(b)->split);
  // An auto SKU is not split by a restock (only by contention)...
  ASSERT_TRUE(e.SetEscrow(b, EscrowMode::kOff).ok());
  EXPECT_FALSE(e.GetEscrow(b)->split);
  ASSERT_TRUE(e.SetEscrow(b, EscrowMode::kAuto).ok());
  ASSERT_TRUE(e.Restock(b, 100).ok());
  EXPECT_FALSE(e.GetEscrow(b)->split);
  // ...but one split before a floor change is split after it.
  internal::EngineAccess::NoteContention(e, b, kEscrowAutoRetries);
  ASSERT_TRUE(e.GetEscrow(b)->split);
  ASSERT_TRUE(e.SetFloor(b, -5).ok());
  EXPECT_TRUE(e.GetEscrow(b)->split);
  EXPECT_EQ(e.Level(b).available, 1100);
  // The engine-wide setting cannot split every SKU.
  EngineOptions all_on = Small();
  all_on.escrow = EscrowMode::kOn;
  EXPECT_EQ(Engine::Open(all_on).status().code(), absl::StatusCode::kInvalidArgument);
}

// A split auto SKU joins at its first refill after kEscrowAutoCoolMs without
// one: few buy, and one line serves them exactly.
TEST(EscrowTest, AutoJoinsWhenItCools) {
  ManualClock clock;
  EngineOptions o = Small();
  o.clock = &clock;
  o.escrow = EscrowMode::kAuto;
  Engine e(o);
  ASSERT_TRUE(e.Define("s", 1'000'000).ok());
  const SkuHandle s = *e.Resolve("s");
  internal::EngineAccess::NoteContention(e, s, kEscrowAutoRetries);
  ASSERT_TRUE(e.GetEscrow(s)->split);
  // Busy: refills come quickly (the clock does not move), the SKU stays split.
  std::int64_t taken = 0;
  for (int i = 0; i < 4 * kEscrowChunkMax; ++i, ++taken) ASSERT_TRUE(e.Take(s, 1).ok());
  EXPECT_TRUE(e.GetEscrow(s)->split);
  // Quiet for longer than the cooling time: the next refill joins. This
  // thread's lease lasts at most one chunk more.
  clock.AdvanceMs(kEscrowAutoCoolMs + 1);
  for (int i = 0; i <= kEscrowChunkMax && e.GetEscrow(s)->split; ++i, ++taken) ASSERT_TRUE(e.Take(s, 1).ok());
  EXPECT_FALSE(e.GetEscrow(s)->split);
  EXPECT_EQ(e.Level(s).available, 1'000'000 - taken);
  EXPECT_EQ(e.GetEscrow(s)->mode, EscrowMode::kAuto);
  // Contended again: split again.
  internal::EngineAccess::NoteContention(e, s, kEscrowAutoRetries);
  EXPECT_TRUE(e.GetEscrow(s)->split);
}

// Real contention, no shortcut: buyers on both cores hammer one auto SKU
// until it splits (on two cores they collide many times a millisecond;
// bounded at 60 s for a loaded machine), and every unit is accounted for.
TEST(EscrowTest, AutoSplitsUnderRealContention) {
  EngineOptions o = Small();
  o.escrow = EscrowMode::kAuto;
  Engine e(o);
  constexpr std::int64_t kStock = std::int64_t{1} << 40;
  ASSERT_TRUE(e.Define("hot", kStock).ok());
  const SkuHandle hot = *e.Resolve("hot");
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> sold{0};
  std::vector<std::thread> buyers;
  for (int t = 0; t < 4; ++t) {
    buyers.emplace_back([&] {
      std::int64_t mine = 0;
      // Relaxed: a stop flag; the join below orders the tallies.
      while (!stop.load(std::memory_order_relaxed)) {
        for (int i = 0; i < 256; ++i) mine += e.Take(hot, 1).ok() ? 1 : 0;
      }
      sold.fetch_add(mine, std::memory_order_relaxed);
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool split = false;
  while (!split && std::chrono::steady_clock::now() < deadline) {
    split = e.GetEscrow(hot)->split;
    std::this_thread::yield();
  }
  stop.store(true, std::memory_order_relaxed);
  for (std::thread& b : buyers) b.join();
  EXPECT_TRUE(split) << "four buyers on one line never crossed the threshold";
  EXPECT_EQ(e.Level(hot).available, kStock - sold.load());
}

}  // namespace
}  // namespace flashstock
