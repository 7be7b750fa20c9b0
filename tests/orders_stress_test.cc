// Concurrency stress on orders. Every test ends on invariants: exactly one
// final state per order, each cancel or expiry restocks exactly once, and
// per SKU available + held + sold == initial (no plain takes here), with
// held and sold equal to the sums over the orders in HELD and COMMITTED.
// Threads start each round on a barrier, never a sleep; time is a
// ManualClock moved by the test, so expiry races are deterministic in
// what they may produce, not in which interleaving they get.
#include <atomic>
#include <barrier>
#include <cstdint>
#include <latch>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "flashstock/engine.h"
#include "gtest/gtest.h"

namespace flashstock {
namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kScale = 10;  // sanitizers run ~10x slower
#else
constexpr int kScale = 1;
#endif

EngineOptions Options(const Clock* clock, std::uint32_t orders_max) {
  EngineOptions o;
  o.skus_max = 64;
  o.clock = clock;
  o.orders_max = orders_max;
  o.expiry_thread = false;
  return o;
}

// N threads cancel one order at the same moment, thousands of times.
void ConcurrentCancels(int threads, int rounds) {
  ManualClock clock(1);
  Engine engine(Options(&clock, static_cast<std::uint32_t>(rounds)));
  ASSERT_TRUE(engine.Define("a", 10).ok());
  ASSERT_TRUE(engine.Define("b", 4).ok());
  const SkuHandle a = *engine.Resolve("a");
  const std::vector<OrderLine> lines = {{a, 3}, {*engine.Resolve("b"), 4}};
  std::atomic<int> wins{0}, closed{0}, other{0};
  std::barrier sync(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int round = 1; round <= rounds; ++round) {
        if (t == 0) {
          const OrderResult r = engine.Reserve(static_cast<OrderId>(round), lines, 60'000);
          if (!r.ok()) other.fetch_add(1);
        }
        sync.arrive_and_wait();  // the order is held
        const OrderResult r = engine.Cancel(static_cast<OrderId>(round));
        if (r.ok()) {
          wins.fetch_add(1);
        } else if (r.outcome == Outcome::kOrderClosed && r.state == OrderState::kCancelled) {
          closed.fetch_add(1);
        } else {
          other.fetch_add(1);
        }
        sync.arrive_and_wait();  // every cancel has answered
        if (t == 0) {
          const StockLevels l = engine.Levels(a);
          if (l.available != 10 || l.held != 0 || l.sold != 0) other.fetch_add(1000);
          if (wins.load() != round || closed.load() != round * (threads - 1)) other.fetch_add(1000);
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(wins.load(), rounds);
  EXPECT_EQ(closed.load(), rounds * (threads - 1));
  const StockLevels la = engine.Levels(a);
  EXPECT_EQ(la.available, 10);
  EXPECT_EQ(la.held, 0);
  const StockLevels lb = engine.Levels("b");
  EXPECT_EQ(lb.available, 4);
  EXPECT_EQ(lb.held, 0);
}

TEST(OrdersStressTest, DoubleCancelRestocksOnce) { ConcurrentCancels(2, 20000 / kScale); }
TEST(OrdersStressTest, QuintupleCancelRestocksOnce) { ConcurrentCancels(5, 10000 / kScale); }

// Commit against cancel against expiry (a driver advancing the test clock to
// the deadline and sweeping) against return, per round.
TEST(OrdersStressTest, CommitCancelExpiryRaceHasOneWinner) {
  const int rounds = 10000 / kScale;
  ManualClock clock(1'000'000'000);
  Engine engine(Options(&clock, static_cast<std::uint32_t>(rounds)));
  constexpr std::int64_t kInitial = 100'000;  // more than every round could sell
  ASSERT_TRUE(engine.Define("a", kInitial).ok());
  ASSERT_TRUE(engine.Define("b", kInitial).ok());
  const SkuHandle a = *engine.Resolve("a");
  const SkuHandle b = *engine.Resolve("b");
  const std::vector<OrderLine> lines = {{a, 2}, {b, 1}};
  constexpr int kThreads = 4;  // reserver+committer, canceller, expiry driver, returner
  std::vector<int> committed(rounds + 1), cancelled(rounds + 1), returned(rounds + 1), bad(rounds + 1);
  std::int64_t sold_a = 0;
  std::barrier sync(kThreads);
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      for (int round = 1; round <= rounds; ++round) {
        const OrderId id = static_cast<OrderId>(round);
        if (t == 0 && !engine.Reserve(id, lines, 1).ok()) bad[round] += 1;
        sync.arrive_and_wait();
        switch (t) {
          case 0: {
            const OrderResult r = engine.Commit(id);
            if (r.ok()) committed[round] = 1;
            else if (r.outcome != Outcome::kOrderClosed) bad[round] += 10;
            break;
          }
          case 1: {
            const OrderResult r = engine.Cancel(id);
            if (r.ok()) cancelled[round] = 1;
            else if (r.outcome != Outcome::kOrderClosed) bad[round] += 100;
            break;
          }
          case 2:
            clock.AdvanceMs(1);  // the hold's deadline
            engine.SweepExpired();
            break;
          default: {
            const OrderResult r = engine.Return(id);
            if (r.ok()) returned[round] = 1;
            else if (r.outcome != Outcome::kOrderClosed && r.outcome != Outcome::kOrderOpen) bad[round] += 1000;
            break;
          }
        }
        sync.arrive_and_wait();
        if (t == 0) {
          // Finish the round: sweep whatever is left, then check the order.
          clock.AdvanceMs(1);
          engine.SweepExpired();
          const OrderState s = engine.GetOrder(id)->state;
          if (committed[round] + cancelled[round] > 1) bad[round] += 10000;
          if (committed[round] && s != OrderState::kCommitted && s != OrderState::kReturned) bad[round] += 20000;
          if (returned[round] && s != OrderState::kReturned) bad[round] += 40000;
          if (cancelled[round] && s != OrderState::kCancelled) bad[round] += 80000;
          if (!committed[round] && !cancelled[round] && s != OrderState::kExpired) bad[round] += 160000;
          if (committed[round] && !returned[round]) sold_a += 2;
          const StockLevels l = engine.Levels(a);
          if (l.held != 0 || l.sold != sold_a || l.available + l.held + l.sold != kInitial) bad[round] += 320000;
        }
        sync.arrive_and_wait();
      }
    });
  }
  for (auto& th : pool) th.join();
  int commits = 0, cancels = 0;
  for (int round = 1; round <= rounds; ++round) {
    EXPECT_EQ(bad[round], 0) << "round " << round;
    commits += committed[round];
    cancels += cancelled[round];
  }
  const StockLevels la = engine.Levels(a);
  const StockLevels lb = engine.Levels(b);
  EXPECT_EQ(la.available + la.held + la.sold, kInitial);
  EXPECT_EQ(lb.available + lb.held + lb.sold, kInitial);
  EXPECT_EQ(la.held, 0);
  EXPECT_EQ(lb.held, 0);
  EXPECT_EQ(la.sold, sold_a);
  EXPECT_EQ(lb.sold * 2, sold_a);
  // Each kind of winner actually happened (else the race tested nothing).
  const std::uint64_t expired_by_driver = engine.expiry_stats().expired;
  RecordProperty("commits", commits);
  RecordProperty("cancels", cancels);
  EXPECT_GT(commits + cancels, 0);
  EXPECT_GT(rounds - commits - cancels, 0);  // expiry won some rounds
  EXPECT_LE(expired_by_driver, static_cast<std::uint64_t>(rounds - commits - cancels));
}

// Multi-SKU reserves on overlapping SKUs, with commits, cancels, retries and
// a driver expiring holds; a watcher checks no SKU is ever seen below its
// floor. At the end every order's state accounts for every unit.
TEST(OrdersStressTest, OverlappingMultiSkuReservesAreAllOrNothing) {
  constexpr int kSkus = 6;
  constexpr int kWorkers = 3;
  const int orders_per_worker = 30000 / kScale;
  ManualClock clock(1'000'000'000);
  Engine engine(Options(&clock, static_cast<std::uint32_t>(kWorkers * orders_per_worker + 1)));
  std::vector<SkuHandle> skus;
  std::vector<std::int64_t> initial, floor;
  for (int i = 0; i < kSkus; ++i) {
    const std::int64_t f = i % 3 == 0 ? -3 : 0;
    ASSERT_TRUE(engine.Define("s" + std::to_string(i), 12, f).ok());
    skus.push_back(*engine.Resolve("s" + std::to_string(i)));
    initial.push_back(12);
    floor.push_back(f);
  }
  std::atomic<bool> done{false};
  std::atomic<int> below_floor{0}, bad{0};
  std::latch gate(kWorkers + 2);
  std::vector<std::thread> pool;
  for (int w = 0; w < kWorkers; ++w) {
    pool.emplace_back([&, w] {
      std::mt19937_64 rng(w + 1);
      gate.arrive_and_wait();
      for (int k = 0; k < orders_per_worker; ++k) {
        const OrderId id = static_cast<OrderId>(w * orders_per_worker + k + 1);
        std::vector<OrderLine> lines;
        const int n = 1 + static_cast<int>(rng() % 4);
        for (int j = 0; j < n; ++j) {
          lines.push_back({skus[rng() % kSkus], 1 + static_cast<std::int64_t>(rng() % 4)});
        }
        const OrderResult r = engine.Reserve(id, lines, 1 + static_cast<std::int64_t>(rng() % 5));
        if (r.outcome != Outcome::kOk && r.outcome != Outcome::kInsufficient) bad.fetch_add(1);
        // A retry answers as the first did.
        const OrderResult retry = engine.Reserve(id, lines, 60'000);
        if (retry.outcome != r.outcome || retry.short_sku.index != r.short_sku.index ||
            retry.available != r.available) {
          bad.fetch_add(1);
        }
        if (!r.ok()) continue;
        switch (rng() % 4) {
          case 0: (void)engine.Commit(id); break;
          case 1: (void)engine.Cancel(id); break;
          case 2:
            if (engine.Commit(id).ok() && rng() % 2 == 0) (void)engine.Return(id);
            break;
          default: break;  // left to expire (or stay held)
        }
      }
    });
  }
  pool.emplace_back([&] {  // expiry driver
    gate.arrive_and_wait();
    while (!done.load(std::memory_order_relaxed)) {
      clock.AdvanceMs(1);
      engine.SweepExpired();
      std::this_thread::yield();
    }
  });
  pool.emplace_back([&] {  // floor watcher
    gate.arrive_and_wait();
    while (!done.load(std::memory_order_relaxed)) {
      for (int i = 0; i < kSkus; ++i) {
        if (engine.Level(skus[i]).available < floor[i]) below_floor.fetch_add(1);
      }
      std::this_thread::yield();
    }
  });
  for (int w = 0; w < kWorkers; ++w) pool[w].join();
  done.store(true);
  pool[kWorkers].join();
  pool[kWorkers + 1].join();

  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(below_floor.load(), 0);
  std::vector<std::int64_t> held(kSkus, 0), sold(kSkus, 0);
  int states[8] = {};
  for (OrderId id = 1; id <= static_cast<OrderId>(kWorkers * orders_per_worker); ++id) {
    const std::optional<OrderInfo> info = engine.GetOrder(id);
    ASSERT_TRUE(info.has_value()) << id;
    ++states[static_cast<int>(info->state)];
    for (const OrderLine& line : info->Lines()) {
      const std::size_t i = line.sku.index;
      if (info->state == OrderState::kHeld) held[i] += line.quantity;
      if (info->state == OrderState::kCommitted) sold[i] += line.quantity;
    }
  }
  for (int i = 0; i < kSkus; ++i) {
    const StockLevels l = engine.Levels(skus[i]);
    EXPECT_EQ(l.held, held[i]) << i;
    EXPECT_EQ(l.sold, sold[i]) << i;
    EXPECT_EQ(l.available, initial[i] - held[i] - sold[i]) << i;
    EXPECT_GE(l.available, floor[i]) << i;
  }
  // Every outcome occurred, or the test did not test them.
  for (OrderState s : {OrderState::kCommitted, OrderState::kCancelled, OrderState::kExpired,
                       OrderState::kReturned, OrderState::kFailed}) {
    EXPECT_GT(states[static_cast<int>(s)], 0) << OrderStateName(s);
  }
}

// The same reserve sent by several threads at once (a gateway retrying
// while the first attempt is in flight): it executes once, and every caller
// gets the same answer. A conflicting variant loses with ORDER_CONFLICT
// unless it is the one that got in first.
TEST(OrdersStressTest, ConcurrentRetriesExecuteOnce) {
  const int rounds = 10000 / kScale;
  constexpr int kThreads = 4;
  ManualClock clock(1);
  Engine engine(Options(&clock, static_cast<std::uint32_t>(rounds)));
  ASSERT_TRUE(engine.Define("a", 1'000'000).ok());
  const SkuHandle a = *engine.Resolve("a");
  std::vector<std::vector<OrderResult>> answers(rounds + 1, std::vector<OrderResult>(kThreads));
  std::barrier sync(kThreads);
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      for (int round = 1; round <= rounds; ++round) {
        // Threads 0-2 send the same lines; thread 3 different ones.
        const std::vector<OrderLine> lines = {{a, t == 3 ? 2 : 1}};
        sync.arrive_and_wait();
        answers[round][t] = engine.Reserve(static_cast<OrderId>(round), lines, 60'000);
      }
    });
  }
  for (auto& th : pool) th.join();
  std::int64_t expected_held = 0;
  for (int round = 1; round <= rounds; ++round) {
    const std::vector<OrderResult>& r = answers[round];
    const std::optional<OrderInfo> info = engine.GetOrder(static_cast<OrderId>(round));
    ASSERT_TRUE(info.has_value());
    const std::int64_t q = info->lines[0].quantity;
    expected_held += q;
    for (int t = 0; t < kThreads; ++t) {
      const bool same_as_winner = (t == 3 ? 2 : 1) == q;
      EXPECT_EQ(r[t].outcome, same_as_winner ? Outcome::kOk : Outcome::kOrderConflict) << round << " " << t;
    }
  }
  const StockLevels l = engine.Levels(a);
  EXPECT_EQ(l.held, expected_held);
  EXPECT_EQ(l.available, 1'000'000 - expected_held);
}

// A small book and no expiry thread: every slot a thread needs comes from a
// sweep some reserving thread runs when it finds the book full (HelpSweep),
// racing other threads' reserves, commits and helping sweeps. Holds live
// 1 ms and the threads move the clock 1 ms every 8 orders, so what a sweep
// parks (a hold it catches open stays remembered until its deadline) soon
// comes due; a commit after its deadline is an expiry. A refusal can still
// happen (a burst of back-to-back sweeps may park every slot before the
// clock moves) and must be ORDERS_FULL and change nothing; the stock adds
// up. The deterministic edge is AFullBookSweepsBeforeRefusing.
TEST(OrdersStressTest, ReservesThatFindTheBookFullSweepForEachOther) {
  constexpr int kThreads = 4;
  const int per_thread = 20000 / kScale;
  ManualClock clock(1);
  EngineOptions o = Options(&clock, 64);
  o.order_retention_ms = 0;
  Engine engine(o);
  ASSERT_TRUE(engine.Define("a", 1'000'000).ok());
  const SkuHandle a = *engine.Resolve("a");
  std::atomic<int> refused{0}, sold{0}, expired{0}, other{0};
  std::latch start(kThreads);
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      const std::vector<OrderLine> lines = {{a, 1 + t}};
      start.arrive_and_wait();
      for (int i = 1; i <= per_thread; ++i) {
        if (i % 8 == 0) clock.AdvanceMs(1);
        const OrderId id = (static_cast<OrderId>(t + 1) << 32) | static_cast<OrderId>(i);
        const OrderResult reserved = engine.Reserve(id, lines, 1);
        if (!reserved.ok()) {
          (reserved.outcome == Outcome::kOrdersFull ? refused : other).fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        const OrderResult r = engine.Commit(id);
        if (r.ok()) {
          sold.fetch_add(1 + t, std::memory_order_relaxed);
        } else if ((r.outcome == Outcome::kOrderClosed && r.state == OrderState::kExpired) ||
                   r.outcome == Outcome::kUnknownOrder) {
          // Expired by another thread's sweep, and with retention 0 maybe
          // forgotten already: only this thread ever used the id.
          expired.fetch_add(1, std::memory_order_relaxed);
        } else {
          other.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (std::thread& th : pool) th.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(engine.expiry_stats().helped_sweeps, 0u);
  clock.AdvanceMs(2);
  engine.SweepExpired();  // anything still held expires
  const StockLevels l = engine.Levels(a);
  EXPECT_EQ(l.held, 0);
  EXPECT_EQ(l.sold, sold.load());
  EXPECT_EQ(l.available + l.held + l.sold, 1'000'000);
  // Most orders sold: an expiry needs a clock step between one thread's
  // reserve and its commit, a refusal a book parked full.
  EXPECT_GT(l.sold, std::int64_t{per_thread} * (1 + 2 + 3 + 4) / 2)
      << expired.load() << " expired, " << refused.load() << " refused";
}
}  // namespace
}  // namespace flashstock
