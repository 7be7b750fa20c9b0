// Take throughput: by handle (uncontended and on one hot SKU, each also with
// every SKU in auto escrow), by name, and
// the baselines in the same binary, so ratios come from one run:
//   BM_RawCasLoop   - a floor-checked CAS loop on a bare atomic: the physical
//                     limit for a take that must never oversell;
//   BM_MutexTake    - std::mutex around the same check, what one writes first.
// On this 2-core machine, more than 2 threads measures the scheduler, not
// contention, so we stop at 2.
#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "benchmark/benchmark.h"
#include "flashstock/engine.h"

namespace {

// Enough stock that no run sells out: every take succeeds.
constexpr std::int64_t kPlenty = std::numeric_limits<std::int64_t>::max() / 2;

flashstock::Engine* MakeEngine(flashstock::EscrowMode escrow) {
  flashstock::EngineOptions o{.skus_max = 64};
  o.expiry_thread = false;
  o.escrow = escrow;
  auto* e = new flashstock::Engine(o);
  for (int i = 0; i < 8; ++i) (void)e->Define("sku-" + std::to_string(i), kPlenty);
  (void)e->Define("hot", kPlenty);
  return e;
}

flashstock::Engine& SharedEngine() {
  static flashstock::Engine* const engine = MakeEngine(flashstock::EscrowMode::kOff);
  return *engine;
}

// Every SKU in auto escrow: splits only once contended.
flashstock::Engine& AutoEscrowEngine() {
  static flashstock::Engine* const engine = MakeEngine(flashstock::EscrowMode::kAuto);
  return *engine;
}

void BM_TakeByHandleUncontended(benchmark::State& state) {
  flashstock::Engine& engine = SharedEngine();
  // Each thread on its own SKU: the uncontended cost of a take.
  const flashstock::SkuHandle sku = *engine.Resolve("sku-" + std::to_string(state.thread_index()));
  for (auto _ : state) {
    flashstock::StockResult r = engine.Take(sku, 1);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TakeByHandleUncontended)->UseRealTime()->Threads(1)->Threads(2);

// The same with auto escrow on every SKU: what counting contention costs a
// take that meets none (it must be nothing measurable).
void BM_TakeByHandleUncontendedAutoEscrow(benchmark::State& state) {
  flashstock::Engine& engine = AutoEscrowEngine();
  const flashstock::SkuHandle sku = *engine.Resolve("sku-" + std::to_string(state.thread_index()));
  for (auto _ : state) {
    flashstock::StockResult r = engine.Take(sku, 1);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TakeByHandleUncontendedAutoEscrow)->UseRealTime()->Threads(1)->Threads(2);

void BM_TakeByHandleHot(benchmark::State& state) {
  flashstock::Engine& engine = SharedEngine();
  const flashstock::SkuHandle hot = *engine.Resolve("hot");
  for (auto _ : state) {
    flashstock::StockResult r = engine.Take(hot, 1);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TakeByHandleHot)->UseRealTime()->Threads(1)->Threads(2);

// One hot SKU in auto escrow: the first contended takes split it, the rest
// run on the threads' leases.
void BM_TakeByHandleHotAutoEscrow(benchmark::State& state) {
  flashstock::Engine& engine = AutoEscrowEngine();
  const flashstock::SkuHandle hot = *engine.Resolve("hot");
  for (auto _ : state) {
    flashstock::StockResult r = engine.Take(hot, 1);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TakeByHandleHotAutoEscrow)->UseRealTime()->Threads(1)->Threads(2);

void BM_TakeByNameHot(benchmark::State& state) {
  flashstock::Engine& engine = SharedEngine();
  for (auto _ : state) {
    flashstock::StockResult r = engine.Take("hot", 1);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TakeByNameHot)->UseRealTime()->Threads(1)->Threads(2);

// The same floor-checked CAS loop as StockCell::TryTake on a bare atomic.
alignas(64) std::atomic<std::int64_t> g_raw{kPlenty};

void BM_RawCasLoop(benchmark::State& state) {
  for (auto _ : state) {
    std::int64_t seen = g_raw.load(std::memory_order_relaxed);
    bool ok;
    while (true) {
      if (seen < 1) {
        ok = false;
        break;
      }
      if (g_raw.compare_exchange_weak(seen, seen - 1, std::memory_order_relaxed,
                                      std::memory_order_relaxed)) {
        ok = true;
        break;
      }
    }
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawCasLoop)->UseRealTime()->Threads(1)->Threads(2);

// The read path alone: two threads resolving the same name. If a lookup wrote
// shared memory (a reader count), 2 threads would not scale past 1.
void BM_ResolveHot(benchmark::State& state) {
  flashstock::Engine& engine = SharedEngine();
  for (auto _ : state) {
    std::optional<flashstock::SkuHandle> sku = engine.Resolve("hot");
    benchmark::DoNotOptimize(sku);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ResolveHot)->UseRealTime()->Threads(1)->Threads(2);

// For contrast: the same lookup behind a reader-writer lock, whose reader
// count is one shared line every lookup writes.
void BM_SharedMutexLookup(benchmark::State& state) {
  static std::shared_mutex mu;
  static const absl::flat_hash_map<std::string, int> map = [] {
    absl::flat_hash_map<std::string, int> m;
    for (int i = 0; i < 8; ++i) m["sku-" + std::to_string(i)] = i;
    m["hot"] = 8;
    return m;
  }();
  const std::string key = "hot";
  for (auto _ : state) {
    std::shared_lock<std::shared_mutex> lock(mu);
    benchmark::DoNotOptimize(map.find(key));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SharedMutexLookup)->UseRealTime()->Threads(1)->Threads(2);

// A raw fetch_sub with no floor check: faster, but it can oversell. Shown for
// reference only.
alignas(64) std::atomic<std::int64_t> g_raw_sub{kPlenty};

void BM_RawFetchSubNoFloor(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(g_raw_sub.fetch_sub(1, std::memory_order_relaxed));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawFetchSubNoFloor)->UseRealTime()->Threads(1)->Threads(2);

std::mutex g_mu;
std::int64_t g_guarded = kPlenty;

void BM_MutexTake(benchmark::State& state) {
  for (auto _ : state) {
    bool ok;
    {
      std::lock_guard<std::mutex> lock(g_mu);
      ok = g_guarded >= 1;
      if (ok) --g_guarded;
    }
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MutexTake)->UseRealTime()->Threads(1)->Threads(2);

}  // namespace

BENCHMARK_MAIN();
