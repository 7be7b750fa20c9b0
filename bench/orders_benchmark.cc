// Order throughput: reserve + commit of a 3-line order (journal off), next to
// three plain takes by handle as the baseline, in one binary so the ratio
// comes from one run. Steady state: ids are never reused, and the engine's
// own expiry thread forgets each order at its hold's deadline (ttl 10 ms,
// retention 0), so slots are recycled at the rate they are used and the
// forgetting is part of the cost measured (it competes for the 2 cores).
// On this 2-core machine, more than 2 threads measures the scheduler.
#include <stdlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "flashstock/engine.h"

namespace {

constexpr std::int64_t kPlenty = std::numeric_limits<std::int64_t>::max() / 4;
constexpr std::int64_t kTtlMs = 10;

flashstock::Engine& SharedEngine() {
  static flashstock::Engine* const engine = [] {
    flashstock::EngineOptions o;
    o.skus_max = 64;
    o.orders_max = 1u << 21;
    o.order_retention_ms = 0;
    o.expiry_thread = true;
    auto* e = new flashstock::Engine(o);
    for (int i = 0; i < 16; ++i) (void)e->Define("sku-" + std::to_string(i), kPlenty);
    return e;
  }();
  return *engine;
}

// The same engine with a journal in async mode, in a scratch directory
// removed at exit. No background checkpoints: the journal only grows
// (~100 bytes per order), so keep runs short.
std::string& JournalDir() {
  static std::string dir;
  return dir;
}
flashstock::Engine& JournaledEngine() {
  static flashstock::Engine* const engine = [] {
    const char* base = getenv("TMPDIR");
    std::string templ = std::string(base != nullptr ? base : "/tmp") + "/flashstock-orders-bench-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) abort();
    JournalDir() = templ;
    flashstock::EngineOptions o;
    o.skus_max = 64;
    o.orders_max = 1u << 21;
    o.order_retention_ms = 0;
    o.expiry_thread = true;
    o.journal_dir = templ;
    o.durability = flashstock::Durability::kAsync;
    o.checkpoint_bytes = 0;
    auto opened = flashstock::Engine::Open(o);
    if (!opened.ok()) abort();
    flashstock::Engine* e = opened->release();
    for (int i = 0; i < 16; ++i) (void)e->Define("sku-" + std::to_string(i), kPlenty);
    return e;
  }();
  return *engine;
}

// A fresh block of 2^32 order ids for each benchmark thread.
flashstock::OrderId IdBlock() {
  static std::atomic<std::uint64_t> next_block{1};
  return next_block.fetch_add(1, std::memory_order_relaxed) << 32;
}

std::vector<flashstock::OrderLine> Lines(flashstock::Engine& engine, int first_sku) {
  std::vector<flashstock::OrderLine> lines;
  for (int i = 0; i < 3; ++i) {
    lines.push_back({*engine.Resolve("sku-" + std::to_string(first_sku + i)), 1 + i});
  }
  return lines;
}

void ReserveCommit(benchmark::State& state, bool shared_skus, bool journaled = false) {
  flashstock::Engine& engine = journaled ? JournaledEngine() : SharedEngine();
  const std::vector<flashstock::OrderLine> lines =
      Lines(engine, shared_skus ? 0 : 3 + 3 * state.thread_index());
  const flashstock::OrderId base = IdBlock();
  std::uint64_t i = 0, failed = 0;
  for (auto _ : state) {
    const flashstock::OrderId id = base + ++i;
    flashstock::OrderResult r = engine.Reserve(id, lines, kTtlMs);
    if (!r.ok()) {
      ++failed;  // kOrdersFull if the driver fell behind; kInsufficient on shared SKUs
      continue;
    }
    r = engine.Commit(id);
    benchmark::DoNotOptimize(r);
  }
  // Only orders that were sold count: a refused reserve is cheap, and
  // counting it would flatter a driver that cannot keep up.
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() - failed));
  state.counters["failed"] = static_cast<double>(failed);
}

void BM_ReserveCommit3LinesOwnSkus(benchmark::State& state) { ReserveCommit(state, false); }
BENCHMARK(BM_ReserveCommit3LinesOwnSkus)->UseRealTime()->Threads(1)->Threads(2);

void BM_ReserveCommit3LinesSharedSkus(benchmark::State& state) { ReserveCommit(state, true); }
BENCHMARK(BM_ReserveCommit3LinesSharedSkus)->UseRealTime()->Threads(1)->Threads(2);

// The same with every reserve and commit journaled (async: answered once in
// the ring; the journal thread writes and fdatasyncs behind).
void BM_ReserveCommit3LinesOwnSkusJournalAsync(benchmark::State& state) { ReserveCommit(state, false, true); }
BENCHMARK(BM_ReserveCommit3LinesOwnSkusJournalAsync)->UseRealTime()->Threads(1)->Threads(2);

// Baseline: the same three lines as plain takes (no hold, no order id).
void BM_ThreeTakesSharedSkus(benchmark::State& state) {
  flashstock::Engine& engine = SharedEngine();
  const std::vector<flashstock::OrderLine> lines = Lines(engine, 0);
  for (auto _ : state) {
    for (const flashstock::OrderLine& line : lines) {
      flashstock::StockResult r = engine.Take(line.sku, line.quantity);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ThreeTakesSharedSkus)->UseRealTime()->Threads(1)->Threads(2);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // The journaled engine is never destroyed (static); its files can go.
  if (!JournalDir().empty()) std::filesystem::remove_all(JournalDir());
  return 0;
}
