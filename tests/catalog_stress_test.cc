// Defines racing with by-name lookups. Readers never see a half-defined SKU:
// every index they find names the SKU they asked for, with its initial level.
// At the end every SKU is findable, once, at its own index.
#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "flashstock/internal/catalog.h"
#include "gtest/gtest.h"
#include "base/reader_slots.h"

namespace flashstock {
namespace {

std::string NameOf(int i) { return "sku-" + std::to_string(i); }

TEST(CatalogStressTest, LookupsDuringDefinesSeeWholeSkus) {
  constexpr int kSkus = 4000;
  constexpr int kDefiners = 2;
  constexpr int kReaders = 3;
  Catalog catalog(kSkus);
  std::atomic<int> defined_by_all{0};
  std::atomic<std::int64_t> found{0};
  std::latch gate(kDefiners + kReaders);
  std::vector<std::thread> threads;
  for (int d = 0; d < kDefiners; ++d) {
    threads.emplace_back([&, d] {
      gate.arrive_and_wait();
      // Both definers try every name: exactly one wins each.
      for (int i = 0; i < kSkus; ++i) {
        const int k = d == 0 ? i : kSkus - 1 - i;
        Catalog::Defined r = catalog.Define(NameOf(k), k, 0);
        ASSERT_TRUE(r.outcome == Outcome::kOk || r.outcome == Outcome::kAlreadyDefined);
      }
      defined_by_all.fetch_add(1, std::memory_order_release);
    });
  }
  for (int t = 0; t < kReaders; ++t) {
    threads.emplace_back([&, t] {
      std::int64_t mine = 0;
      gate.arrive_and_wait();
      int i = t;
      // Acquire: pairs with the definers' release; not needed for safety.
      while (defined_by_all.load(std::memory_order_acquire) < kDefiners) {
        i = (i + 7) % kSkus;
        std::optional<std::uint32_t> index = catalog.Find(NameOf(i));
        if (!index.has_value()) continue;
        ASSERT_TRUE(catalog.Contains(*index));
        ASSERT_EQ(catalog.name(*index), NameOf(i));
        ASSERT_EQ(catalog.cell(*index).Level(), i);
        ++mine;
      }
      found.fetch_add(mine, std::memory_order_relaxed);
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(catalog.size(), static_cast<std::uint32_t>(kSkus));
  std::vector<bool> seen(kSkus, false);
  for (int i = 0; i < kSkus; ++i) {
    std::optional<std::uint32_t> index = catalog.Find(NameOf(i));
    ASSERT_TRUE(index.has_value()) << i;
    ASSERT_FALSE(seen[*index]);
    seen[*index] = true;
    EXPECT_EQ(catalog.cell(*index).Level(), i);
  }
  EXPECT_GT(found.load(), 0);
}

}  // namespace
}  // namespace flashstock

namespace flashstock {
namespace {

TEST(CatalogStressTest, MoreReaderThreadsThanSlotsFallBackToTheLock) {
  // kReaderThreadsMax + 8 threads alive at once, each looking names up: the
  // last ones get no reader slot and must still find every SKU (under the
  // define lock), while a definer keeps adding SKUs.
  constexpr int kThreads = static_cast<int>(kReaderThreadsMax) + 8;
  Catalog catalog(64);
  ASSERT_EQ(catalog.Define("base", 7, 0).outcome, Outcome::kOk);
  std::atomic<int> misses{0};
  std::atomic<int> slotless{0};
  std::latch all_alive(kThreads + 1);
  std::latch done(1);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      // Claim a slot (or learn there is none) before everyone is alive.
      if (!catalog.Find("base").has_value()) misses.fetch_add(1, std::memory_order_relaxed);
      if (internal::ReaderSlots::ThisThreadSlot() == nullptr) {
        slotless.fetch_add(1, std::memory_order_relaxed);
      }
      all_alive.arrive_and_wait();
      if (!catalog.Find("base").has_value()) misses.fetch_add(1, std::memory_order_relaxed);
      done.wait();
    });
  }
  all_alive.arrive_and_wait();
  for (int i = 0; i < 32; ++i) {
    ASSERT_EQ(catalog.Define("late-" + std::to_string(i), i, 0).outcome, Outcome::kOk);
  }
  done.count_down();
  for (auto& th : threads) th.join();
  EXPECT_EQ(misses.load(), 0);
  EXPECT_GE(slotless.load(), 8);  // the fallback path really ran
  EXPECT_EQ(catalog.Find("late-31"), 32u);  // "base" is index 0
}

}  // namespace
}  // namespace flashstock
