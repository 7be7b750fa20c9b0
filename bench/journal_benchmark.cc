// The journal's figures (docs/benchmarks.md, "Journal"):
//   BM_HotTake/none|async  - take by handle on one hot SKU, journal off vs async;
//   BM_SyncTake            - sync mode: durable changes/s, batch size and
//                            p50/p99 acknowledgement latency (counters);
//   BM_BareWriteSync/B     - the baseline: sequential write of B 32-byte
//                            records + fdatasync into a file grown ahead with
//                            zeros (as the sync journal), same disk, same run;
//   BM_HandOff/spsc|mpmc   - the queue choice: per-producer spsc_queue rings vs
//                            one fixed-size boost::lockfree::queue, 2 producers
//                            and a draining consumer.
// Journals go to $FLASHSTOCK_BENCH_DIR (default /tmp). On this 2-core
// machine more than 2 busy threads measures the scheduler; sync-mode client
// threads mostly sleep on the disk, so more of them only grows the batches.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "boost/lockfree/queue.hpp"
#include "boost/lockfree/spsc_queue.hpp"
#include "flashstock/engine.h"

namespace {

constexpr std::int64_t kPlenty = std::numeric_limits<std::int64_t>::max() / 2;

std::string BenchDir(const std::string& name) {
  const char* base = std::getenv("FLASHSTOCK_BENCH_DIR");
  std::string dir = std::string(base != nullptr ? base : "/tmp") + "/flashstock-bench-" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

flashstock::Engine& EngineFor(flashstock::Durability d) {
  // Benchmark threads start together: the first of them opens the engine.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  static flashstock::Engine* engines[3] = {};
  flashstock::Engine*& e = engines[static_cast<int>(d)];
  if (e == nullptr) {
    flashstock::EngineOptions o;
    o.skus_max = 64;
    o.durability = d;
    if (d != flashstock::Durability::kNone) {
      o.journal_dir = BenchDir(d == flashstock::Durability::kAsync ? "async" : "sync");
      o.checkpoint_bytes = 0;
    }
    e = flashstock::Engine::Open(o).value().release();
    (void)e->Define("hot", kPlenty);
  }
  return *e;
}

void BM_HotTake(benchmark::State& state) {
  const auto d = static_cast<flashstock::Durability>(state.range(0));
  flashstock::Engine& e = EngineFor(d);
  const flashstock::SkuHandle hot = *e.Resolve("hot");
  for (auto _ : state) {
    flashstock::StockResult r = e.Take(hot, 1);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0 && d != flashstock::Durability::kNone) (void)e.Flush();
}
BENCHMARK(BM_HotTake)->ArgName("durability")->Arg(0)->Arg(1)->UseRealTime()->Threads(1)->Threads(2);

// A restock is a cause (docs/design.md, "Durable order follows dependence"):
// with a journal its units appear only once its record is sequenced, so in
// async mode each restock waits for the journal thread's next collect.
// Threads restock one SKU each (kept below the level ceiling by a take).
void BM_Restock(benchmark::State& state) {
  const auto d = static_cast<flashstock::Durability>(state.range(0));
  flashstock::Engine& e = EngineFor(d);
  const std::string name = "restock-" + std::to_string(state.thread_index());
  (void)e.Define(name, 0);
  const flashstock::SkuHandle sku = *e.Resolve(name);
  for (auto _ : state) {
    flashstock::StockResult r = e.Restock(sku, 1);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Restock)->ArgName("durability")->Arg(0)->Arg(1)->Arg(2)->UseRealTime()->Threads(1)->Threads(4);

// Fairness of the journal thread's draining: 16 async producers take from
// one SKU as fast as they can and, every 4096 takes, time how long their own
// changes take to become durable (WaitUntilDurable). A drain that always
// started at producer 0 could leave the high-index producers for a later
// batch whenever the batch limit is reached; BM_AckFairnessReport prints the
// best and worst thread's mean wait (no producer starves).
std::mutex fairness_mu;
std::vector<double> fairness_mean_us;  // one per thread of the last run

void BM_AckFairness(benchmark::State& state) {
  flashstock::Engine& e = EngineFor(flashstock::Durability::kAsync);
  const flashstock::SkuHandle hot = *e.Resolve("hot");
  if (state.thread_index() == 0) {
    std::lock_guard<std::mutex> lock(fairness_mu);
    fairness_mean_us.clear();
  }
  double waited_us = 0;
  std::uint64_t waits = 0, n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(e.Take(hot, 1));
    if (++n % 4096 == 0) {
      const auto t0 = std::chrono::steady_clock::now();
      (void)e.WaitUntilDurable();
      waited_us += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
      ++waits;
    }
  }
  state.SetItemsProcessed(state.iterations());
  std::lock_guard<std::mutex> lock(fairness_mu);
  if (waits > 0) fairness_mean_us.push_back(waited_us / static_cast<double>(waits));
}
BENCHMARK(BM_AckFairness)->UseRealTime()->Threads(16)->MinTime(2.0);

void BM_AckFairnessReport(benchmark::State& state) {
  for (auto _ : state) {
  }
  std::lock_guard<std::mutex> lock(fairness_mu);
  if (fairness_mean_us.empty()) return;
  const auto [lo, hi] = std::minmax_element(fairness_mean_us.begin(), fairness_mean_us.end());
  state.counters["threads"] = static_cast<double>(fairness_mean_us.size());
  state.counters["best_mean_wait_us"] = *lo;
  state.counters["worst_mean_wait_us"] = *hi;
}
BENCHMARK(BM_AckFairnessReport)->Iterations(1);

std::mutex latency_mu;
std::vector<double> latencies_us;

void BM_SyncTake(benchmark::State& state) {
  flashstock::Engine& e = EngineFor(flashstock::Durability::kSync);
  const flashstock::SkuHandle hot = *e.Resolve("hot");
  if (state.thread_index() == 0) {
    std::lock_guard<std::mutex> lock(latency_mu);
    latencies_us.clear();
  }
  const flashstock::JournalStats before = e.journal_stats();
  std::vector<double> mine;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    flashstock::StockResult r = e.Take(hot, 1);
    const auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(r);
    mine.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  state.SetItemsProcessed(state.iterations());
  {
    std::lock_guard<std::mutex> lock(latency_mu);
    latencies_us.insert(latencies_us.end(), mine.begin(), mine.end());
  }
  if (state.thread_index() == 0) {
    // Thread 0's view of the whole run's batches (other threads' commits
    // overlap it; the ratio is what matters).
    const flashstock::JournalStats after = e.journal_stats();
    const double batches = static_cast<double>(after.batches - before.batches);
    state.counters["changes_per_batch"] = batches > 0 ? static_cast<double>(after.changes - before.changes) / batches : 0;
  }
}
BENCHMARK(BM_SyncTake)->UseRealTime()->Threads(1)->Threads(4)->Threads(16)->Threads(64);

// Reports p50/p99 of the last BM_SyncTake run (Google Benchmark threads each
// hold their own samples; they are merged under latency_mu).
void BM_SyncTakeLatency(benchmark::State& state) {
  std::vector<double> v;
  {
    std::lock_guard<std::mutex> lock(latency_mu);
    v = latencies_us;
  }
  for (auto _ : state) benchmark::DoNotOptimize(v.size());
  if (v.empty()) return;
  std::sort(v.begin(), v.end());
  state.counters["p50_us"] = v[v.size() / 2];
  state.counters["p99_us"] = v[v.size() * 99 / 100];
  state.counters["samples"] = static_cast<double>(v.size());
}
BENCHMARK(BM_SyncTakeLatency)->Iterations(1);

void BM_BareWriteSync(benchmark::State& state) {
  const std::string dir = BenchDir("bare");
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/bare.log";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const std::size_t batch = static_cast<std::size_t>(state.range(0));
  std::string buffer(batch * 32, 'x');
  // Into a file grown ahead with zeros, as the sync journal writes
  // (kSegmentPreallocateBytes): otherwise every fdatasync also commits a new
  // file size and the baseline is ~30 % slower than the disk allows.
  const std::string zeros(std::size_t{8} << 20, '\0');
  std::size_t allocated = 0, offset = 0;
  for (auto _ : state) {
    if (offset + buffer.size() > allocated) {
      state.PauseTiming();
      if (::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(allocated)) !=
              static_cast<ssize_t>(zeros.size()) ||
          ::fdatasync(fd) != 0) {
        state.SkipWithError("grow");
      }
      allocated += zeros.size();
      state.ResumeTiming();
    }
    if (::pwrite(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset)) !=
        static_cast<ssize_t>(buffer.size())) {
      state.SkipWithError("write");
    }
    offset += buffer.size();
    if (::fdatasync(fd) != 0) state.SkipWithError("fdatasync");
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}
BENCHMARK(BM_BareWriteSync)->ArgName("batch")->Arg(1)->Arg(2)->Arg(4)->Arg(8)->Arg(16)->Arg(32)->Arg(64)->UseRealTime();

// Queue choice: 2 producers push 16-byte entries; one consumer drains.
struct Entry16 {
  std::uint64_t a, b;
};
constexpr std::size_t kHandOffDepth = 1 << 14;
boost::lockfree::spsc_queue<Entry16, boost::lockfree::capacity<kHandOffDepth>> handoff_rings[2];
boost::lockfree::queue<Entry16, boost::lockfree::fixed_sized<true>, boost::lockfree::capacity<kHandOffDepth - 2>>
    handoff_queue;

// One consumer for the process, started on first use; it drains both kinds
// and naps when there is nothing (so it does not disturb other benchmarks).
// The one consumer of the hand-off benchmark. A function-local static, so it
// is destroyed (stopped and joined) before the rings it drains, which were
// constructed earlier; a detached thread would outlive them at exit.
class HandOffConsumer {
 public:
  HandOffConsumer() : thread_([this] { Run(); }) {}
  ~HandOffConsumer() {
    // Relaxed: the join below is the synchronisation.
    stop_.store(true, std::memory_order_relaxed);
    thread_.join();
  }

 private:
  void Run() {
    Entry16 buf[256];
    while (!stop_.load(std::memory_order_relaxed)) {
      std::size_t n = handoff_rings[0].pop(buf, 256) + handoff_rings[1].pop(buf, 256);
      Entry16 e;
      while (n < 512 && handoff_queue.pop(e)) ++n;
      if (n == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void StartConsumer() { static HandOffConsumer consumer; }

void BM_HandOff(benchmark::State& state) {
  const bool spsc = state.range(0) == 0;
  StartConsumer();
  auto& ring = handoff_rings[state.thread_index() % 2];
  Entry16 e{1, 2};
  std::int64_t pushed = 0;
  for (auto _ : state) {
    if (spsc ? ring.push(e) : handoff_queue.bounded_push(e)) ++pushed;
  }
  state.SetItemsProcessed(pushed);
  state.counters["full_pct"] = benchmark::Counter(
      100.0 * static_cast<double>(state.iterations() - pushed) / static_cast<double>(state.iterations()),
      benchmark::Counter::kAvgThreads);
}
BENCHMARK(BM_HandOff)->ArgName("mpmc")->Arg(0)->Arg(1)->UseRealTime()->Threads(2);

}  // namespace

BENCHMARK_MAIN();
