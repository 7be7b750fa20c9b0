// Chooses kCacheLineSize: two threads, each taking from its own counter,
// with the counters 8, 64 or 128 bytes apart. 8 shows the cost of sharing a
// line; if 64 matched 128, the adjacent-line prefetcher does not pair lines
// here and 64-byte cells suffice.
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "benchmark/benchmark.h"

namespace {

template <std::size_t kStride>
struct Counters {
  static constexpr std::size_t kApart = kStride / sizeof(std::atomic<std::int64_t>);
  alignas(256) std::atomic<std::int64_t> slots[kApart * 2] = {};
  std::atomic<std::int64_t>& at(int i) { return slots[kApart * i]; }
};

template <std::size_t kStride>
void BM_NeighbourCounters(benchmark::State& state) {
  static Counters<kStride> counters;
  std::atomic<std::int64_t>& mine = counters.at(state.thread_index() % 2);
  for (auto _ : state) {
    std::int64_t seen = mine.load(std::memory_order_relaxed);
    while (!mine.compare_exchange_weak(seen, seen - 1, std::memory_order_relaxed,
                                       std::memory_order_relaxed)) {
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_TEMPLATE(BM_NeighbourCounters, 8)->UseRealTime()->Threads(2);
BENCHMARK_TEMPLATE(BM_NeighbourCounters, 64)->UseRealTime()->Threads(2);
BENCHMARK_TEMPLATE(BM_NeighbourCounters, 128)->UseRealTime()->Threads(2);

}  // namespace

BENCHMARK_MAIN();
