// Randomised sell-outs of SKUs in escrow (engine/include/flashstock/internal/escrow.h): 2-16
// threads on however many cores, stock from 1 to a few thousand, quantities
// 1-5. Checked at the end of every trial, with every thread joined:
//   - conservation: what is left plus everything taken, held and sold equals
//     the initial stock plus every restock;
//   - never below the floor: the level never ends, nor is ever seen by a
//     watching thread, below the lowest floor of the trial;
//   - no stranding: with no restock, the units left are fewer than the
//     smallest quantity any take was refused (a refusal is decided on the
//     whole SKU at one instant, and what is left only shrinks afterwards).
// The auto trials add an agitator thread that splits the SKU (auto escrow's
// contention threshold, crossed through EngineAccess) and cools it (the
// engine's clock moved past kEscrowAutoCoolMs, so the next refill joins)
// over and over while the buyers run: the first split publishes the escrow
// under plain takes already in flight.
// Run under ThreadSanitizer in CI (label stress).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine_access.h"
#include "flashstock/clock.h"
#include "flashstock/engine.h"
#include "gtest/gtest.h"

namespace flashstock {
namespace {

struct Trial {
  std::uint64_t seed;
  std::int64_t stock;
  std::int64_t floor;
  int threads;
};

Trial MakeTrial(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int threads[] = {2, 3, 4, 8, 16};
  Trial t;
  t.seed = seed;
  t.stock = std::uniform_int_distribution<std::int64_t>(1, 3000)(rng);
  t.floor = rng() % 3 == 0 ? -std::uniform_int_distribution<std::int64_t>(1, 20)(rng) : 0;
  t.threads = threads[rng() % 5];
  return t;
}

// Holds each thread until all have started, so they contend from the first
// take (a thread started late would otherwise find the sale over).
void StartTogether(std::atomic<int>& ready, int threads) {
  ready.fetch_add(1, std::memory_order_relaxed);
  while (ready.load(std::memory_order_relaxed) < threads) std::this_thread::yield();
}

EngineOptions Options() {
  EngineOptions o;
  o.skus_max = 4;
  o.expiry_thread = false;
  return o;
}

// Splits and cools an auto SKU until stopped (see the file comment).
class Agitator {
 public:
  Agitator(Engine& e, SkuHandle sku, ManualClock& clock) {
    thread_ = std::thread([this, &e, sku, &clock] {
      // Relaxed: a stop flag; the join orders everything else.
      while (!stop_.load(std::memory_order_relaxed)) {
        internal::EngineAccess::NoteContention(e, sku, kEscrowAutoRetries);
        std::this_thread::yield();
        clock.AdvanceMs(kEscrowAutoCoolMs + 1);
        std::this_thread::yield();
      }
    });
  }
  ~Agitator() {
    stop_.store(true, std::memory_order_relaxed);
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Every thread takes (all-or-nothing, quantity 1-5) until a take of one
// unit is refused; every refusal is recorded. On seeds from 1000, the SKU
// is auto and agitated instead of on.
std::uint64_t transitions_seen = 0;  // over the agitated trials

void SellOutTrial(std::uint64_t seed) {
  {
    Trial t = MakeTrial(seed);
    const bool agitated = seed >= 1000;
    if (agitated) t.stock *= 100;  // a sale long enough for many transitions
    SCOPED_TRACE("seed " + std::to_string(seed) + " stock " + std::to_string(t.stock) + " floor " +
                 std::to_string(t.floor) + " threads " + std::to_string(t.threads));
    ManualClock clock;
    EngineOptions o = Options();
    o.clock = &clock;
    if (agitated) o.escrow = EscrowMode::kAuto;
    Engine e(o);
    ASSERT_TRUE(e.Define("hot", t.stock, t.floor).ok());
    if (!agitated) {
      ASSERT_TRUE(e.SetEscrow("hot", true).ok());
    }
    const SkuHandle hot = *e.Resolve("hot");
    std::optional<Agitator> agitator;
    if (agitated) agitator.emplace(e, hot, clock);
    std::atomic<std::int64_t> taken{0};
    std::atomic<std::int64_t> smallest_refused{INT64_MAX};
    std::atomic<bool> below_floor{false};
    std::atomic<int> running{t.threads};
    std::atomic<int> ready{0};
    std::vector<std::thread> buyers;
    for (int b = 0; b < t.threads; ++b) {
      buyers.emplace_back([&, b] {
        StartTogether(ready, t.threads);
        std::mt19937_64 rng(t.seed * 1000 + static_cast<std::uint64_t>(b));
        std::int64_t mine = 0;
        while (true) {
          const std::int64_t q = static_cast<std::int64_t>(rng() % 5) + 1;
          const StockResult r = e.Take(hot, q);
          if (r.ok()) {
            mine += q;
            if (r.available < t.floor) below_floor = true;
            continue;
          }
          EXPECT_EQ(r.outcome, Outcome::kInsufficient);
          std::int64_t seen = smallest_refused.load(std::memory_order_relaxed);
          while (q < seen && !smallest_refused.compare_exchange_weak(seen, q, std::memory_order_relaxed)) {
          }
          if (q == 1) break;
        }
        taken.fetch_add(mine, std::memory_order_relaxed);
        running.fetch_sub(1, std::memory_order_release);
      });
    }
    // A watcher: the level (pool plus leases) never below the floor.
    while (running.load(std::memory_order_acquire) > 0) {
      if (e.Level(hot).available < t.floor) below_floor = true;
      std::this_thread::yield();
    }
    for (std::thread& b : buyers) b.join();
    agitator.reset();
    if (agitated) transitions_seen += e.GetEscrow(hot)->transitions;
    const std::int64_t left = e.Level(hot).available;
    EXPECT_FALSE(below_floor.load());
    EXPECT_EQ(left + taken.load(), t.stock);
    EXPECT_EQ(left, t.floor) << "every unit down to the floor sold";
    EXPECT_LT(left - t.floor, smallest_refused.load());
  }
}

TEST(EscrowStressTest, SellOutsSellExactlyTheStock) {
  for (std::uint64_t seed = 1; seed <= 24; ++seed) SellOutTrial(seed);
}

TEST(EscrowStressTest, AutoSellOutsSellExactlyTheStockWhileSplittingAndJoining) {
  transitions_seen = 0;
  for (std::uint64_t seed = 1000; seed < 1024; ++seed) SellOutTrial(seed);
  // Each trial splits at its start and joins at its sell-out (2 each); more
  // means the agitator cooled and split SKUs mid-sale, under the buyers.
  EXPECT_GT(transitions_seen, 24u * 2) << "no split or join happened mid-sale";
  std::printf("agitated trials: %llu transitions\n", static_cast<unsigned long long>(transitions_seen));
}

// Mixed quantities (1-5, and now and then 20-219), stopping at the first
// refusal: what is left is less than that refusal's quantity (no unit
// stranded in a lease), and conserved.
TEST(EscrowStressTest, MixedQuantitiesStopAtTheFirstRefusal) {
  for (std::uint64_t seed = 100; seed < 124; ++seed) {
    const Trial t = MakeTrial(seed);
    SCOPED_TRACE("seed " + std::to_string(seed));
    Engine e(Options());
    ASSERT_TRUE(e.Define("hot", t.stock, t.floor).ok());
    ASSERT_TRUE(e.SetEscrow("hot", true).ok());
    const SkuHandle hot = *e.Resolve("hot");
    std::atomic<std::int64_t> taken{0};
    std::vector<std::int64_t> refused(static_cast<std::size_t>(t.threads), 0);
    std::atomic<int> ready{0};
    std::vector<std::thread> buyers;
    for (int b = 0; b < t.threads; ++b) {
      buyers.emplace_back([&, b] {
        StartTogether(ready, t.threads);
        std::mt19937_64 rng(t.seed * 1000 + static_cast<std::uint64_t>(b));
        std::int64_t mine = 0;
        while (true) {
          // Now and then a big take, which drains the pool while other
          // leases still hold units: the case a refusal must reclaim first.
          const std::int64_t q = rng() % 8 == 0 ? static_cast<std::int64_t>(rng() % 200) + 20
                                                : static_cast<std::int64_t>(rng() % 5) + 1;
          if (!e.Take(hot, q).ok()) {
            refused[static_cast<std::size_t>(b)] = q;
            break;
          }
          mine += q;
        }
        taken.fetch_add(mine, std::memory_order_relaxed);
      });
    }
    for (std::thread& b : buyers) b.join();
    const std::int64_t left = e.Level(hot).available;
    EXPECT_EQ(left + taken.load(), t.stock);
    for (std::int64_t q : refused) EXPECT_LT(left - t.floor, q) << "refused " << q << " with " << left << " left";
  }
}

// Everything at once on a split SKU: takes, take-up-tos, restocks, floor
// changes, and single-line orders (reserve, then commit or cancel).
// Conservation counts each: available + held + sold + plainly taken ==
// initial + restocked, and the level never ends below the lowest floor.
TEST(EscrowStressTest, EverythingMixedConserves) {
  for (std::uint64_t seed = 200; seed < 216; ++seed) {
    const Trial t = MakeTrial(seed);
    SCOPED_TRACE("seed " + std::to_string(seed));
    Engine e(Options());
    ASSERT_TRUE(e.Define("hot", t.stock, 0).ok());
    ASSERT_TRUE(e.SetEscrow("hot", true).ok());
    const SkuHandle hot = *e.Resolve("hot");
    std::atomic<std::int64_t> taken{0};
    std::atomic<std::int64_t> restocked{0};
    std::atomic<OrderId> next_order{1};
    constexpr std::int64_t kLowestFloor = -10;
    std::atomic<int> ready{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < t.threads; ++w) {
      workers.emplace_back([&, w] {
        StartTogether(ready, t.threads);
        std::mt19937_64 rng(t.seed * 1000 + static_cast<std::uint64_t>(w));
        for (int op = 0; op < 400; ++op) {
          const std::int64_t q = static_cast<std::int64_t>(rng() % 5) + 1;
          switch (rng() % 16) {
            case 0: {
              if (e.Restock(hot, q).ok()) restocked.fetch_add(q, std::memory_order_relaxed);
              break;
            }
            case 1: {
              const std::int64_t floor = -static_cast<std::int64_t>(rng() % 11);
              ASSERT_TRUE(e.SetFloor(hot, floor).ok());
              break;
            }
            case 2:
            case 3: {
              const StockResult r = e.TakeUpTo(hot, q);
              ASSERT_TRUE(r.ok());
              taken.fetch_add(r.taken, std::memory_order_relaxed);
              break;
            }
            case 4: {
              const OrderId id = next_order.fetch_add(1, std::memory_order_relaxed);
              const OrderLine line{hot, q};
              if (!e.Reserve(id, {&line, 1}, 60'000).ok()) break;
              const OrderResult r = rng() % 2 == 0 ? e.Commit(id) : e.Cancel(id);
              ASSERT_TRUE(r.ok());
              break;
            }
            default: {
              if (e.Take(hot, q).ok()) taken.fetch_add(q, std::memory_order_relaxed);
            }
          }
        }
      });
    }
    for (std::thread& w : workers) w.join();
    const StockLevels l = e.Levels(hot);
    EXPECT_EQ(l.held, 0);
    EXPECT_EQ(l.available + l.held + l.sold + taken.load(), t.stock + restocked.load());
    EXPECT_GE(l.available, kLowestFloor);
  }
}

}  // namespace
}  // namespace flashstock
