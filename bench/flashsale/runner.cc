#include "runner.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "flashstock/limits.h"
#include "histogram.h"

namespace flashsale {
namespace {

using Clock = std::chrono::steady_clock;

// One client thread's private results; merged after join. On lines of its
// own: its thread writes the counters and the histogram on every take, and
// the next client's state would otherwise start on the line this one ends on.
struct alignas(flashstock::kCacheLineSize) ClientState {
  explicit ClientState(std::uint32_t sku_count) : tally(sku_count) {}
  std::unique_ptr<BackendClient> client;
  Tally tally;
  Histogram histogram;
  std::uint64_t ops = 0;
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;
  Clock::time_point end;
};

struct alignas(flashstock::kCacheLineSize) StopFlag {
  std::atomic<bool> stop{false};
};

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Most takes one pipelined batch holds.
constexpr int kPipelineMax = 1024;

// A client's loop at pipeline depth > 1: `depth` takes sent, then their
// answers read; a take's latency is its batch's round trip (sampled once per
// batch, recorded for each take in it). Accounting per take is the
// unpipelined loop's. The stop flag is checked per batch.
void RunPipelined(ClientState& st, KeyStream& stream, BackendClient& client, std::int64_t units,
                  std::uint64_t budget, int depth, const StopFlag& flag) {
  std::uint32_t skus[kPipelineMax];
  TakeStatus statuses[kPipelineMax];
  for (std::uint64_t i = 0; i < budget;) {
    // Relaxed: as in the unpipelined loop.
    if (flag.stop.load(std::memory_order_relaxed)) break;
    const int count = static_cast<int>(std::min<std::uint64_t>(depth, budget - i));
    for (int k = 0; k < count; ++k) skus[k] = stream.Next();
    const Clock::time_point t0 = Clock::now();
    client.TakeBatch(skus, count, units, statuses);
    const std::uint64_t batch_ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
    i += count;
    for (int k = 0; k < count; ++k) {
      st.histogram.Record(batch_ns);
      ++st.ops;
      if (statuses[k] == TakeStatus::kAccepted) {
        ++st.accepted;
        st.tally.accepted_units[skus[k]] += units;
      } else if (statuses[k] == TakeStatus::kRefused) {
        ++st.refused;
        ++st.tally.refusals[skus[k]];
      } else {
        ++st.tally.errors;
        st.tally.first_error = client.last_error();
        return;
      }
    }
  }
}

}  // namespace

RowResult RunRow(Backend& backend, const Workload& workload, const ZipfTable* zipf, int clients,
                 const RowLimits& limits, const std::atomic<bool>* interrupted) {
  RowResult row;
  row.system = backend.system();
  row.variant = backend.variant();
  row.workload = workload.Name();
  row.sell_out = workload.mode == SaleMode::kSellOut;
  row.clients = clients;
  const int depth = backend.pipelines() ? std::clamp(limits.pipeline, 1, kPipelineMax) : 1;
  row.pipeline = depth;
  auto setup_failed = [&row](const absl::Status& s) {
    row.check.verdict = Verdict::kFailed;
    row.check.why = "setup: " + std::string(s.message());
    return row;
  };

  if (absl::Status s = backend.Load(workload.sku_count, workload.stock_per_sku); !s.ok()) {
    return setup_failed(s);
  }
  std::vector<std::unique_ptr<ClientState>> states;
  std::vector<KeyStream> keys;
  for (int c = 0; c < clients; ++c) {
    states.push_back(std::make_unique<ClientState>(workload.sku_count));
    absl::StatusOr<std::unique_ptr<BackendClient>> client = backend.Connect();
    if (!client.ok()) return setup_failed(client.status());
    states.back()->client = *std::move(client);
    keys.emplace_back(workload, zipf, 0x5eed0000u + static_cast<std::uint64_t>(c));
  }

  const std::uint64_t no_limit = std::numeric_limits<std::uint64_t>::max();
  const int sample_every = backend.latency_sample_every();
  StopFlag flag;
  std::mutex mu;
  std::condition_variable all_done;
  int done = 0;  // guarded by mu
  std::latch gate(clients + 1);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    std::uint64_t budget = no_limit;
    if (limits.ops > 0) budget = limits.ops / clients + (static_cast<std::uint64_t>(c) < limits.ops % clients);
    threads.emplace_back([&, c, budget] {
      ClientState& st = *states[c];
      KeyStream& stream = keys[c];
      BackendClient& client = *st.client;
      const std::int64_t units = workload.units_per_take;
      int countdown = 1;  // time the first take, then one in sample_every
      gate.arrive_and_wait();
      // Chosen once per client: the unpipelined loop is the one the
      // in-process rows have always been timed in, with no branch added.
      if (depth > 1) {
        RunPipelined(st, stream, client, units, budget, depth, flag);
      } else {
        for (std::uint64_t i = 0; i < budget; ++i) {
          // Relaxed: the flag publishes nothing; results reach the main thread
          // through join().
          if (flag.stop.load(std::memory_order_relaxed)) break;
          const std::uint32_t sku = stream.Next();
          TakeStatus status;
          if (--countdown == 0) {
            countdown = sample_every;
            const Clock::time_point t0 = Clock::now();
            status = client.Take(sku, units);
            st.histogram.Record(static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count()));
          } else {
            status = client.Take(sku, units);
          }
          ++st.ops;
          if (status == TakeStatus::kAccepted) {
            ++st.accepted;
            st.tally.accepted_units[sku] += units;
          } else if (status == TakeStatus::kRefused) {
            ++st.refused;
            ++st.tally.refusals[sku];
          } else {
            // The unit may or may not have moved: stop; the row fails.
            ++st.tally.errors;
            st.tally.first_error = client.last_error();
            break;
          }
        }
      }
      st.end = Clock::now();
      std::lock_guard<std::mutex> lock(mu);
      ++done;
      all_done.notify_one();
    });
  }

  const double server_cpu_start = backend.ServerCpuSeconds();
  const double client_cpu_start = ProcessCpuSeconds();
  gate.arrive_and_wait();
  const Clock::time_point start = Clock::now();
  const bool timed = limits.duration_s > 0 || limits.ops == 0;
  const Clock::time_point deadline =
      start + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(timed ? limits.duration_s : 1e9));
  {
    std::unique_lock<std::mutex> lock(mu);
    while (done < clients) {
      // Wake every 50 ms to notice an interrupt (a signal handler cannot notify).
      const Clock::time_point wake = std::min(deadline, Clock::now() + std::chrono::milliseconds(50));
      all_done.wait_until(lock, wake);
      if (Clock::now() >= deadline || (interrupted != nullptr && interrupted->load())) break;
    }
  }
  flag.stop.store(true, std::memory_order_relaxed);
  for (std::thread& t : threads) t.join();
  row.client_cpu_s = ProcessCpuSeconds() - client_cpu_start;
  if (server_cpu_start >= 0) row.server_cpu_s = backend.ServerCpuSeconds() - server_cpu_start;

  Clock::time_point end = start;
  Tally tally(workload.sku_count);
  Histogram histogram;
  for (const auto& st : states) {
    end = std::max(end, st->end);
    tally.Add(st->tally);
    histogram.Merge(st->histogram);
    row.ops += st->ops;
    row.accepted += st->accepted;
    row.refused += st->refused;
  }
  states.clear();  // close connections before reading the levels back
  row.seconds = std::chrono::duration<double>(end - start).count();
  row.ops_per_sec = row.seconds > 0 ? row.ops / row.seconds : 0;
  row.p50_us = histogram.ValueAtQuantile(0.50) / 1e3;
  row.p99_us = histogram.ValueAtQuantile(0.99) / 1e3;
  row.p999_us = histogram.ValueAtQuantile(0.999) / 1e3;
  row.latency_samples = histogram.count();

  absl::StatusOr<std::vector<std::int64_t>> levels = backend.Levels();
  backend.Unload();
  if (!levels.ok()) return setup_failed(levels.status());
  row.check = CheckRow(workload.stock_per_sku, *levels, tally, backend.claims_correctness());
  return row;
}

}  // namespace flashsale
