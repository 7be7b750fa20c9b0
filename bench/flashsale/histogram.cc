#include "histogram.h"

#include <algorithm>
#include <cmath>

namespace flashsale {

void Histogram::Merge(const Histogram& other) {
  for (std::size_t b = 0; b < kBuckets; ++b) counts_[b] += other.counts_[b];
  count_ += other.count_;
}

std::uint64_t Histogram::BucketLow(std::size_t b) {
  if (b < kSubBuckets) return b;
  const std::size_t group = b / kSubBuckets;  // >= 1
  const int shift = static_cast<int>(group) - 1;
  return (kSubBuckets + b % kSubBuckets) << shift;
}

std::uint64_t Histogram::BucketWidth(std::size_t b) {
  if (b < kSubBuckets) return 1;
  return std::uint64_t{1} << (b / kSubBuckets - 1);
}

std::uint64_t Histogram::ValueAtQuantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the wanted sample, 1-based: the smallest value with at least
  // ceil(q * count) samples at or below it.
  const std::uint64_t rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * count_)));
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < kBuckets; ++b) {
    seen += counts_[b];
    if (seen >= rank) return BucketLow(b) + BucketWidth(b) / 2;
  }
  return BucketLow(kBuckets - 1);
}

}  // namespace flashsale
