// How late the expiry driver gives held stock back: a histogram of each
// expiry's lateness past its deadline, and the largest seen.
#ifndef FLASHSTOCK_ORDERS_LATENESS_HISTOGRAM_H_
#define FLASHSTOCK_ORDERS_LATENESS_HISTOGRAM_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "flashstock/order.h"

namespace flashstock::internal {

// Thread-safety: one writer (the expiry driver, under its mutex), any
// number of readers. Every access is relaxed: the counts are statistics,
// read for reporting only, and publish no other memory.
class LatenessHistogram {
 public:
  LatenessHistogram();
  LatenessHistogram(const LatenessHistogram&) = delete;
  LatenessHistogram& operator=(const LatenessHistogram&) = delete;

  // One expiry `nanos` after its deadline (negative counts as 0).
  void Record(std::int64_t nanos);
  // Sets stats' lateness_max_nanos, lateness_p50_nanos and lateness_p99_nanos.
  void Report(ExpiryStats* stats) const;

 private:
  // 50 us buckets up to 100 ms; the last bucket is "more".
  static constexpr std::int64_t kBucketNanos = 50'000;
  static constexpr std::size_t kBuckets = 2001;

  std::atomic<std::int64_t> max_nanos_{0};
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
};

}  // namespace flashstock::internal

#endif  // FLASHSTOCK_ORDERS_LATENESS_HISTOGRAM_H_
