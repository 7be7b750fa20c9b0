// Crash test for journaled orders: a child process runs multi-SKU reserves,
// commits, cancels and returns in sync mode on 2 threads (each thread also
// closes orders the other reserved, so a reserve and its close often sit in
// different journal rings), reporting every operation on a pipe (an intent
// before, the answer after). The parent SIGKILLs it at a random moment,
// reopens the journal and checks:
//   - every acknowledged outcome is there (a reserve that answered OK exists,
//     one that answered INSUFFICIENT stays FAILED, an acknowledged commit /
//     cancel / return or a loser's ORDER_CLOSED <state> names the final state);
//   - a state seen after one recovery is still there after the next;
//   - no half order: per SKU, held == the lines of HELD orders and sold ==
//     the lines of COMMITTED orders, so each order holds every line or none;
//   - no SKU below its floor, and available + held + sold == initial.
//
// FLASHSTOCK_ORDERS_KILL_ITERATIONS=N runs N kills (default 120; long mode
// e.g. 3000).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "flashstock/engine.h"
#include "gtest/gtest.h"
#include "journal_test_util.h"

namespace flashstock {
namespace {

using testing::ForkAndKill;
using testing::JournalOptions;
using testing::OpenOrDie;
using testing::TempDir;

constexpr int kSkus = 5;
constexpr int kChildThreads = 2;
constexpr std::int64_t kInitial = 1'000'000;
constexpr std::int64_t kTtlMs = 3'600'000;  // nothing expires during the test

enum Op : std::uint8_t { kReserve = 1, kCommit, kCancel, kReturn };

struct Note {
  std::uint8_t kind;  // 1 intent, 2 answer
  std::uint8_t thread;
  std::uint8_t op;
  std::uint8_t outcome;
  std::uint8_t state;
  std::uint8_t pad[3];
  std::uint64_t id;
};
static_assert(sizeof(Note) == 16 && sizeof(Note) <= PIPE_BUF, "one atomic pipe write per note");

std::string SkuName(int i) { return "sku" + std::to_string(i); }

EngineOptions ChildOptions(const std::string& dir) {
  EngineOptions o = JournalOptions(dir, Durability::kSync);
  o.checkpoint_bytes = 16 << 10;  // background checkpoints (with orders) get killed too
  return o;
}

[[noreturn]] void Child(const std::string& dir, int fd, std::uint64_t seed, std::uint32_t iteration) {
  absl::StatusOr<std::unique_ptr<Engine>> opened = Engine::Open(ChildOptions(dir));
  if (!opened.ok()) _exit(3);
  Engine& e = **opened;
  for (int i = 0; i < kSkus; ++i) {
    if (!e.Resolve(SkuName(i)).has_value() && !e.Define(SkuName(i), kInitial).ok()) _exit(4);
  }
  std::array<std::atomic<OrderId>, kChildThreads> latest{};  // each thread's newest held order
  std::vector<std::thread> threads;
  for (int t = 0; t < kChildThreads; ++t) {
    threads.emplace_back([&e, &latest, fd, t, seed, iteration] {
      std::mt19937_64 rng(seed * 31 + static_cast<std::uint64_t>(t));
      std::uint64_t counter = 0;
      OrderId committed = 0;
      auto run = [&](Op op, OrderId id, auto&& call) {
        Note n{1, static_cast<std::uint8_t>(t), op, 0, 0, {}, id};
        (void)!write(fd, &n, sizeof(n));
        const OrderResult r = call();
        if (r.outcome == Outcome::kReadOnly || r.outcome == Outcome::kBackpressure) _exit(5);
        n.kind = 2;
        n.outcome = static_cast<std::uint8_t>(r.outcome);
        n.state = static_cast<std::uint8_t>(r.state);
        (void)!write(fd, &n, sizeof(n));
        return r;
      };
      while (true) {
        const OrderId id = (std::uint64_t{iteration} << 32) | (std::uint64_t(t) << 28) | ++counter;
        std::vector<OrderLine> lines;
        const int n = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < n; ++k) {
          lines.push_back({*e.Resolve(SkuName(static_cast<int>(rng() % kSkus))), 1 + static_cast<std::int64_t>(rng() % 3)});
        }
        if (rng() % 8 == 0) lines.back().quantity = 2 * kInitial;  // fails: INSUFFICIENT, remembered
        const OrderResult r = run(kReserve, id, [&] { return e.Reserve(id, lines, kTtlMs); });
        if (r.ok()) latest[t].store(id, std::memory_order_release);
        switch (rng() % 6) {
          case 0:
          case 1: {  // close an order the other thread reserved: a different ring
            const OrderId other = latest[1 - t].load(std::memory_order_acquire);
            if (other == 0) break;
            const bool commit = rng() % 2 == 0;
            (void)run(commit ? kCommit : kCancel, other, [&] { return commit ? e.Commit(other) : e.Cancel(other); });
            break;
          }
          case 2:
            if (r.ok() && run(kCommit, id, [&] { return e.Commit(id); }).ok()) committed = id;
            break;
          case 3:
            if (r.ok()) (void)run(kCancel, id, [&] { return e.Cancel(id); });
            break;
          case 4:
            if (committed != 0) {
              const OrderId c = committed;
              (void)run(kReturn, c, [&] { return e.Return(c); });
              committed = 0;
            }
            break;
          default: break;  // leave it open
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  _exit(0);
}

int Iterations() {
  const char* env = std::getenv("FLASHSTOCK_ORDERS_KILL_ITERATIONS");
  return env != nullptr ? std::atoi(env) : 120;
}

int Rank(OrderState s) {
  switch (s) {
    case OrderState::kHeld: return 1;
    case OrderState::kCommitted:
    case OrderState::kCancelled:
    case OrderState::kExpired: return 2;
    case OrderState::kReturned: return 3;
    case OrderState::kFailed: return 4;
    default: return 0;
  }
}

// The final state `now` is compatible with an earlier known `was`: the same,
// or a later step of the same path (HELD -> any close, COMMITTED -> RETURNED).
bool Compatible(OrderState was, OrderState now) {
  if (was == now) return true;
  if (was == OrderState::kHeld) return Rank(now) == 2 || now == OrderState::kReturned;
  return was == OrderState::kCommitted && now == OrderState::kReturned;
}

TEST(OrdersKillTest, AcknowledgedOrdersSurviveSigkillWithNoHalfOrder) {
  TempDir dir;
  std::mt19937_64 rng(4242);
  std::map<OrderId, OrderState> known;  // the least each order must be, from answers and earlier recoveries
  const int iterations = Iterations();
  int killed_mid_load = 0;
  std::uint64_t acknowledged = 0;
  for (int it = 0; it < iterations; ++it) {
    const std::uint64_t seed = rng();
    const int kill_after = static_cast<int>(rng() % 64);
    std::vector<Note> notes;
    ASSERT_TRUE(ForkAndKill<Note>([&](int fd) { Child(dir.path(), fd, seed, static_cast<std::uint32_t>(it + 1)); },
                                  kill_after, &notes));
    if (!notes.empty()) ++killed_mid_load;

    std::vector<OrderId> reserved_ids;  // intents: may or may not exist
    for (const Note& note : notes) {
      if (note.op == kReserve && note.kind == 1) reserved_ids.push_back(note.id);
      if (note.kind != 2) continue;
      ++acknowledged;
      const auto outcome = static_cast<Outcome>(note.outcome);
      const auto state = static_cast<OrderState>(note.state);
      OrderState must = OrderState::kNone;
      if (note.op == kReserve) {
        must = outcome == Outcome::kOk ? OrderState::kHeld : OrderState::kFailed;
        ASSERT_TRUE(outcome == Outcome::kOk || outcome == Outcome::kInsufficient);
      } else if (outcome == Outcome::kOk || outcome == Outcome::kOrderClosed) {
        must = state;  // the winner, or the state this call set
      }
      if (must == OrderState::kNone) continue;
      auto [pos, fresh] = known.emplace(note.id, must);
      if (!fresh && Rank(must) > Rank(pos->second)) pos->second = must;
    }
    for (OrderId id : reserved_ids) known.emplace(id, OrderState::kNone);

    auto e = OpenOrDie(JournalOptions(dir.path(), Durability::kSync));
    std::array<std::int64_t, kSkus> held{}, sold{};
    std::map<std::uint32_t, int> sku_of_index;
    for (int i = 0; i < kSkus; ++i) {
      if (const std::optional<SkuHandle> h = e->Resolve(SkuName(i))) sku_of_index[h->index] = i;
    }
    for (auto& [id, must] : known) {
      const std::optional<OrderInfo> info = e->GetOrder(id);
      if (!info.has_value()) {
        ASSERT_EQ(must, OrderState::kNone) << "iteration " << it << ": acknowledged order " << id << " ("
                                           << OrderStateName(must) << ") lost; " << e->recovery_summary();
        continue;
      }
      ASSERT_TRUE(must == OrderState::kNone || Compatible(must, info->state))
          << "iteration " << it << ": order " << id << " is " << OrderStateName(info->state) << " but "
          << OrderStateName(must) << " was acknowledged or recovered before";
      must = info->state;  // durable now: later recoveries must keep it
      for (const OrderLine& l : info->Lines()) {
        ASSERT_TRUE(sku_of_index.contains(l.sku.index));
        if (info->state == OrderState::kHeld) held[sku_of_index[l.sku.index]] += l.quantity;
        if (info->state == OrderState::kCommitted) sold[sku_of_index[l.sku.index]] += l.quantity;
      }
    }
    for (const auto& [index, i] : sku_of_index) {
      const StockLevels l = e->Levels(SkuHandle{index});
      ASSERT_GE(l.available, 0) << SkuName(i) << " below its floor";
      ASSERT_EQ(l.held, held[i]) << "iteration " << it << ": " << SkuName(i) << " held disagrees with the open orders";
      ASSERT_EQ(l.sold, sold[i]) << "iteration " << it << ": " << SkuName(i) << " sold disagrees with the orders";
      ASSERT_EQ(l.available + l.held + l.sold, kInitial) << SkuName(i) << " not conserved";
    }
  }
  EXPECT_GT(killed_mid_load, iterations / 2);
  EXPECT_GT(acknowledged, static_cast<std::uint64_t>(iterations));
}

}  // namespace
}  // namespace flashstock
