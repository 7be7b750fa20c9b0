// Runs one row: loads the workload's stock into a back end, connects one
// client per thread, releases them together on a gate, stops them at the
// row's duration or op budget (or on interrupt), and checks the result.
#ifndef FLASHSTOCK_BENCH_FLASHSALE_RUNNER_H_
#define FLASHSTOCK_BENCH_FLASHSALE_RUNNER_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "backend.h"
#include "checker.h"
#include "workload.h"

namespace flashsale {

struct RowLimits {
  double duration_s = 1.0;  // stop after this long
  std::uint64_t ops = 0;    // or after this many takes in all (0: no op limit)
  // Takes in flight per client for back ends that pipeline(): each client
  // sends this many, then reads their answers. 1 (and always, for the
  // others): one take at a time, the loop the in-process rows are timed in.
  int pipeline = 1;
};

struct RowResult {
  std::string system;
  std::string variant;
  std::string workload;  // "hot/sell-out"
  bool sell_out = true;  // false: steady, the stock never runs out
  int clients = 0;
  int pipeline = 1;            // the depth used (1 for back ends that do not pipeline)
  std::uint64_t ops = 0;       // takes answered (accepted + refused + errors)
  std::uint64_t accepted = 0;  // takes accepted
  std::uint64_t refused = 0;
  double seconds = 0;
  double ops_per_sec = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0;
  std::uint64_t latency_samples = 0;
  // CPU seconds (user + system) over the row's takes: the bench process (the
  // clients) and the server child (network rows; negative for the others).
  double client_cpu_s = 0;
  double server_cpu_s = -1;
  CheckResult check;
};

// Never fails outright: a setup error comes back as a FAILED row with the
// reason in check.why. `interrupted` (may be null) stops the clients early.
RowResult RunRow(Backend& backend, const Workload& workload, const ZipfTable* zipf, int clients,
                 const RowLimits& limits, const std::atomic<bool>* interrupted);

}  // namespace flashsale

#endif  // FLASHSTOCK_BENCH_FLASHSALE_RUNNER_H_
