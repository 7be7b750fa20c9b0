// A multi-threaded flash sale on the engine: a few hot SKUs, many more buyers
// than units. Prints units sold, oversold (must be 0), throughput and latency.
//   build/bin/flashsale-demo [--threads N] [--skus N] [--stock K] [--buyers B]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "flashstock/engine.h"

int main(int argc, char** argv) {
  int threads = 16, skus = 4;
  long stock = 100000, buyers = 2000000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--skus")) skus = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--stock")) stock = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--buyers")) buyers = std::atol(argv[i + 1]);
  }
  if (threads < 1 || skus < 1 || stock < 1 || buyers < 1) {
    std::fprintf(stderr, "usage: flashsale-demo [--threads N] [--skus N] [--stock K] [--buyers B]\n");
    return 2;
  }
  flashstock::Engine engine(flashstock::EngineOptions{.skus_max = static_cast<std::uint32_t>(skus)});
  std::vector<flashstock::SkuHandle> handles;
  for (int s = 0; s < skus; ++s) {
    const std::string name = "hot-" + std::to_string(s);
    (void)engine.Define(name, stock);
    handles.push_back(*engine.Resolve(name));
  }
  std::vector<std::vector<std::uint32_t>> latencies(threads);
  std::vector<long> sold(threads, 0);
  std::latch gate(threads + 1);
  std::vector<std::thread> pool;
  const long per_thread = buyers / threads;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937 rng(t + 1);
      latencies[t].reserve(per_thread);
      gate.arrive_and_wait();
      for (long b = 0; b < per_thread; ++b) {
        const auto start = std::chrono::steady_clock::now();
        const flashstock::StockResult r = engine.Take(handles[rng() % skus], 1);
        const auto end = std::chrono::steady_clock::now();
        latencies[t].push_back(static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count()));
        if (r.ok()) ++sold[t];
      }
    });
  }
  const auto start = std::chrono::steady_clock::now();
  gate.arrive_and_wait();
  for (auto& th : pool) th.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<std::uint32_t> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  long total_sold = 0;
  for (long s : sold) total_sold += s;
  long left = 0;
  for (auto h : handles) left += engine.Level(h).available;
  const long offered = stock * skus;
  const long oversold = std::max(0L, total_sold - offered);
  std::printf("%-12s %8s %10s %10s %9s %12s %8s %8s\n", "system", "clients", "buyers", "sold",
              "oversold", "ops/s", "p50_ns", "p99_ns");
  std::printf("%-12s %8d %10ld %10ld %9ld %12.0f %8u %8u\n", "flashstock", threads,
              per_thread * threads, total_sold, oversold, all.size() / seconds,
              all[all.size() / 2], all[all.size() * 99 / 100]);
  const bool correct = oversold == 0 && total_sold + left == offered &&
                       (per_thread * threads < offered || left == 0);
  std::printf("%s: %ld units offered, %ld sold, %ld left\n", correct ? "CORRECT" : "FAILED", offered,
              total_sold, left);
  return correct ? 0 : 1;
}
