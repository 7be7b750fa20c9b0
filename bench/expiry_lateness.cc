// Whole-run tool: expiry lateness with many open holds, and memory per hold.
//
// Opens N single-line holds (default 1M) with deadlines spread uniformly
// over a window, then, while the engine's expiry thread returns them, keeps
// a load thread doing reserve + commit of short orders. Reports lateness
// (when the hold's stock was back in available, minus its deadline; from
// the engine's ExpiryStats histogram, 50 us buckets) and the resident memory
// added per open hold (RSS delta / N, so it includes the slot, the id map
// and the timing wheel).
//
//   expiry-lateness [holds] [spread_ms] [load_orders_per_s]
// The load is paced (default 100000 reserve+commit per second; 0 = none):
// unpaced, one spinning thread on a 2-core machine measures the scheduler.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "flashstock/engine.h"

namespace {

std::int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * 4096;
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t holds = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  const std::int64_t spread_ms = argc > 2 ? std::atoll(argv[2]) : 10'000;
  const std::int64_t load_per_s = argc > 3 ? std::atoll(argv[3]) : 100'000;
  constexpr std::int64_t kFirstDeadlineMs = 3'000;  // after all holds are open
  constexpr int kSkus = 1000;

  flashstock::EngineOptions o;
  o.skus_max = kSkus + 1;
  o.orders_max = static_cast<std::uint32_t>(holds + (1 << 20));
  o.order_retention_ms = 0;
  o.expiry_thread = true;
  flashstock::Engine engine(o);
  std::vector<flashstock::SkuHandle> skus;
  for (int i = 0; i <= kSkus; ++i) {
    (void)engine.Define("sku-" + std::to_string(i), 1'000'000'000'000);
    skus.push_back(*engine.Resolve("sku-" + std::to_string(i)));
  }

  std::mt19937_64 rng(1);
  const std::int64_t rss_before = ResidentBytes();
  const auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t i = 1; i <= holds; ++i) {
    const std::int64_t elapsed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    const std::int64_t deadline_ms = kFirstDeadlineMs + static_cast<std::int64_t>(rng() % spread_ms);
    const flashstock::OrderLine line{skus[rng() % kSkus], 1};
    const flashstock::OrderResult r =
        engine.Reserve(static_cast<flashstock::OrderId>(i), {&line, 1}, std::max<std::int64_t>(1, deadline_ms - elapsed_ms));
    if (!r.ok()) {
      std::fprintf(stderr, "reserve %lld failed: %d\n", static_cast<long long>(i), static_cast<int>(r.outcome));
      return 1;
    }
  }
  const double open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::int64_t rss_after = ResidentBytes();
  const flashstock::StockLevels levels = [&] {
    flashstock::StockLevels sum{};
    for (int i = 0; i < kSkus; ++i) sum.held += engine.Levels(skus[i]).held;
    return sum;
  }();
  std::printf("opened %lld holds in %.2f s; held units %lld; memory per open hold %.1f B (RSS +%.1f MiB)\n",
              static_cast<long long>(holds), open_s, static_cast<long long>(levels.held),
              static_cast<double>(rss_after - rss_before) / static_cast<double>(holds),
              static_cast<double>(rss_after - rss_before) / (1 << 20));
  if (open_s * 1000 > kFirstDeadlineMs) std::printf("WARNING: opening took longer than the first deadline\n");

  // Load while they expire: reserve + commit on the spare SKU.
  std::atomic<bool> stop{false};
  std::uint64_t load_orders = 0;
  std::thread load([&] {
    flashstock::OrderId id = static_cast<flashstock::OrderId>(holds) + 1;
    const flashstock::OrderLine line{skus[kSkus], 1};
    const auto start = std::chrono::steady_clock::now();
    while (load_per_s > 0 && !stop.load(std::memory_order_relaxed)) {
      // Batches of 100 orders, then sleep until the pace allows the next.
      for (int k = 0; k < 100; ++k) {
        if (engine.Reserve(id, {&line, 1}, 5).ok()) (void)engine.Commit(id);
        ++id;
        ++load_orders;
      }
      std::this_thread::sleep_until(start + std::chrono::microseconds(
                                                static_cast<std::int64_t>(load_orders) * 1'000'000 / load_per_s));
    }
  });
  const auto give_up = t0 + std::chrono::milliseconds(kFirstDeadlineMs + spread_ms + 30'000);
  // Load orders are committed at once, so the driver expires only the holds
  // (a load order preempted past its 5 ms may add one).
  while (engine.expiry_stats().expired < static_cast<std::uint64_t>(holds) &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop.store(true);
  load.join();
  const flashstock::ExpiryStats stats = engine.expiry_stats();
  std::printf("expired %llu of %lld holds over %lld ms, with %llu load orders meanwhile\n",
              static_cast<unsigned long long>(stats.expired), static_cast<long long>(holds),
              static_cast<long long>(spread_ms), static_cast<unsigned long long>(load_orders));
  std::printf("lateness p50 %.3f ms  p99 %.3f ms  max %.3f ms  (%llu sweeps)\n", stats.lateness_p50_nanos / 1e6,
              stats.lateness_p99_nanos / 1e6, stats.lateness_max_nanos / 1e6,
              static_cast<unsigned long long>(stats.sweeps));
  return stats.expired >= static_cast<std::uint64_t>(holds) ? 0 : 1;
}
