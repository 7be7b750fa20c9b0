// Snapshots taken while takes continue: background checkpoints (a tiny
// threshold) and explicit ones race with producers on several threads; then
// the recovered state equals the live one, and stock is conserved.
#include <array>
#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "flashstock/engine.h"
#include "gtest/gtest.h"
#include "journal_test_util.h"

namespace flashstock {
namespace {

using testing::JournalOptions;
using testing::OpenOrDie;
using testing::TempDir;

constexpr int kSkus = 16;
constexpr int kWorkers = 3;
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kOpsPerWorker = 20'000;
#else
constexpr int kOpsPerWorker = 150'000;
#endif
constexpr std::int64_t kInitial = 1'000'000;

class SnapshotUnderLoadTest : public ::testing::TestWithParam<Durability> {};

TEST_P(SnapshotUnderLoadTest, RecoveryEqualsLiveState) {
  TempDir dir;
  EngineOptions o = JournalOptions(dir.path(), GetParam());
  o.checkpoint_bytes = 16 << 10;
  o.segment_bytes_max = 64 << 10;
  std::array<std::int64_t, kSkus> live{};
  std::array<std::int64_t, kSkus> floors{};
  std::array<std::atomic<std::int64_t>, kSkus> net{};  // restocked - taken, per SKU
  {
    auto e = OpenOrDie(o);
    for (int i = 0; i < kSkus; ++i) ASSERT_TRUE(e->Define("s" + std::to_string(i), kInitial, -(i % 3)).ok());
    std::atomic<bool> go{false};
    std::atomic<int> done{0};
    std::vector<std::thread> threads;
    const int ops = GetParam() == Durability::kSync ? kOpsPerWorker / 300 : kOpsPerWorker;
    for (int t = 0; t < kWorkers; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(t);
        std::array<SkuHandle, kSkus> h;
        for (int i = 0; i < kSkus; ++i) h[i] = *e->Resolve("s" + std::to_string(i));
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        for (int n = 0; n < ops; ++n) {
          const int i = static_cast<int>(rng() % kSkus);
          const std::int64_t q = 1 + rng() % 4;
          switch (rng() % 4) {
            case 0: {
              StockResult r = e->Restock(h[i], q);
              ASSERT_TRUE(r.ok());
              net[i].fetch_add(q, std::memory_order_relaxed);
              break;
            }
            case 1: {
              StockResult r = e->TakeUpTo(h[i], q);
              ASSERT_TRUE(r.ok());
              net[i].fetch_sub(r.taken, std::memory_order_relaxed);
              break;
            }
            default: {
              StockResult r = e->Take(h[i], q);
              if (r.ok()) net[i].fetch_sub(q, std::memory_order_relaxed);
              else ASSERT_EQ(r.outcome, Outcome::kInsufficient);
            }
          }
        }
        done.fetch_add(1, std::memory_order_release);
      });
    }
    // An explicit checkpointer and a floor changer run alongside.
    threads.emplace_back([&] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      int floor_round = 0;
      while (floor_round < 3 || done.load(std::memory_order_acquire) < kWorkers) {
        ASSERT_TRUE(e->Checkpoint().ok());
        ASSERT_TRUE(e->SetFloor("s" + std::to_string(floor_round % kSkus), -(floor_round % 5)).ok());
        ++floor_round;
      }
    });
    go.store(true, std::memory_order_release);
    for (auto& t : threads) t.join();
    ASSERT_TRUE(e->Flush().ok());
    EXPECT_GT(e->journal_stats().checkpoints, 1u);
    for (int i = 0; i < kSkus; ++i) {
      const SkuHandle h = *e->Resolve("s" + std::to_string(i));
      live[i] = e->Level(h).available;
      floors[i] = *e->Floor(h);
      EXPECT_EQ(live[i], kInitial + net[i].load()) << "conservation, SKU " << i;
      EXPECT_GE(live[i], -2) << "no SKU below the lowest floor it had";
    }
  }
  auto e = OpenOrDie(o);
  ASSERT_EQ(e->sku_count(), static_cast<std::uint32_t>(kSkus));
  for (int i = 0; i < kSkus; ++i) {
    const SkuHandle h = *e->Resolve("s" + std::to_string(i));
    EXPECT_EQ(e->Level(h).available, live[i]) << i;
    EXPECT_EQ(*e->Floor(h), floors[i]) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, SnapshotUnderLoadTest, ::testing::Values(Durability::kAsync, Durability::kSync));

}  // namespace
}  // namespace flashstock
