// A latency histogram with log-linear buckets (HdrHistogram's layout, small):
// values below 32 ns are exact; above, each power of two is split into 32
// sub-buckets, so a reported percentile is within 1/32 (~3%) of the truth.
// Fixed size (1920 counters), no allocation after construction, one per
// client thread, merged after the run. Not thread-safe.
#ifndef FLASHSTOCK_BENCH_FLASHSALE_HISTOGRAM_H_
#define FLASHSTOCK_BENCH_FLASHSALE_HISTOGRAM_H_

#include <array>
#include <bit>
#include <cstdint>

namespace flashsale {

class Histogram {
 public:
  static constexpr int kSubBucketBits = 5;
  static constexpr std::uint64_t kSubBuckets = 1u << kSubBucketBits;
  // Octaves 5..63 (59 of them) plus the exact range [0, 32).
  static constexpr std::size_t kBuckets = (64 - kSubBucketBits + 1) * kSubBuckets;

  void Record(std::uint64_t value_ns) {
    ++counts_[BucketOf(value_ns)];
    ++count_;
  }
  void Merge(const Histogram& other);

  std::uint64_t count() const { return count_; }
  // The value at quantile q in [0, 1] (the midpoint of its bucket); 0 when empty.
  std::uint64_t ValueAtQuantile(double q) const;

  static std::size_t BucketOf(std::uint64_t v) {
    if (v < kSubBuckets) return static_cast<std::size_t>(v);
    const int octave = 63 - std::countl_zero(v);  // >= kSubBucketBits
    const int shift = octave - kSubBucketBits;
    const std::uint64_t sub = (v >> shift) & (kSubBuckets - 1);
    return static_cast<std::size_t>((octave - kSubBucketBits + 1) * kSubBuckets + sub);
  }
  // Smallest value in bucket b, and the bucket's width.
  static std::uint64_t BucketLow(std::size_t b);
  static std::uint64_t BucketWidth(std::size_t b);

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
};

}  // namespace flashsale

#endif  // FLASHSTOCK_BENCH_FLASHSALE_HISTOGRAM_H_
