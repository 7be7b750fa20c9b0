// The disk's own limit for durable answers: a bare loop of small appends,
// each followed by fdatasync(), into a file grown ahead with zeros — the
// sync journal's own pattern, without group commit. (Appends that grow the
// file make every fdatasync commit a new size too: ~30 % fewer per second
// here.)
// Printed beside the table as the reference the sync-journal row is judged
// against (16 clients can share one fdatasync at most 16 ways).
#ifndef FLASHSTOCK_BENCH_FLASHSALE_DISK_PROBE_H_
#define FLASHSTOCK_BENCH_FLASHSALE_DISK_PROBE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace flashsale {

struct FsyncRate {
  std::uint64_t syncs = 0;
  double seconds = 0;
  double per_sec = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0;
};

// Runs for `seconds` (at least one sync) in a scratch file under `dir`,
// which it removes.
absl::StatusOr<FsyncRate> MeasureFdatasync(const std::string& dir, double seconds);

}  // namespace flashsale

#endif  // FLASHSTOCK_BENCH_FLASHSALE_DISK_PROBE_H_
