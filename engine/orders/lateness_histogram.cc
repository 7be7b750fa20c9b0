// The expiry lateness histogram: recording, and percentiles for
// OrderBook::expiry_stats.
#include "orders/lateness_histogram.h"

#include <algorithm>

namespace flashstock::internal {

LatenessHistogram::LatenessHistogram() : buckets_(new std::atomic<std::uint64_t>[kBuckets]) {
  for (std::size_t i = 0; i < kBuckets; ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void LatenessHistogram::Record(std::int64_t nanos) {
  if (nanos < 0) nanos = 0;
  const std::size_t bucket = std::min<std::size_t>(static_cast<std::size_t>(nanos / kBucketNanos), kBuckets - 1);
  buckets_[bucket].store(buckets_[bucket].load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  if (nanos > max_nanos_.load(std::memory_order_relaxed)) {
    max_nanos_.store(nanos, std::memory_order_relaxed);
  }
}

void LatenessHistogram::Report(ExpiryStats* stats) const {
  stats->lateness_max_nanos = max_nanos_.load(std::memory_order_relaxed);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) total += buckets_[i].load(std::memory_order_relaxed);
  // Percentiles report the bucket's upper edge (never flatter than the truth),
  // capped by the maximum seen.
  auto percentile = [&](double p) -> std::int64_t {
    if (total == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(p * static_cast<double>(total - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += buckets_[i].load(std::memory_order_relaxed);
      if (seen >= rank) {
        return std::min<std::int64_t>(static_cast<std::int64_t>(i + 1) * kBucketNanos, stats->lateness_max_nanos);
      }
    }
    return stats->lateness_max_nanos;
  };
  stats->lateness_p50_nanos = percentile(0.50);
  stats->lateness_p99_nanos = percentile(0.99);
}

}  // namespace flashstock::internal
