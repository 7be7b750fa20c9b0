// One flash-sale workload: which SKUs buyers ask for (hot, Zipf-skewed,
// uniform), how much stock there is (sell-out: far more buyers than units;
// steady: never runs out), and the per-client key streams that drive it.
//
// Every back end runs the same Workload, so rows differ only in the back end
// and the client count.
#ifndef FLASHSTOCK_BENCH_FLASHSALE_WORKLOAD_H_
#define FLASHSTOCK_BENCH_FLASHSALE_WORKLOAD_H_

#include <cstdint>
#include <climits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flashstock/limits.h"

namespace flashsale {

enum class Distribution { kHot, kSkewed, kUniform };
enum class SaleMode { kSellOut, kSteady };

std::string_view DistributionName(Distribution d);  // "hot", "skewed", "uniform"
std::string_view SaleModeName(SaleMode m);          // "sell-out", "steady"
std::optional<Distribution> ParseDistribution(std::string_view s);
std::optional<SaleMode> ParseSaleMode(std::string_view s);

// Stock in steady mode: 10^14 units per SKU outlasts 10^6 s at 10^8 takes/s,
// so a take never fails for lack of stock, and 10,000 SKUs of it (10^18)
// still sum inside int64 for the conservation check.
inline constexpr std::int64_t kSteadyStockPerSku = 100'000'000'000'000;
// The multi-SKU workloads' catalogue size, from the issue.
inline constexpr std::uint32_t kManySkus = 10'000;
static_assert(kSteadyStockPerSku <= INT64_MAX / kManySkus, "steady totals fit in int64");

struct Workload {
  Distribution distribution = Distribution::kHot;
  SaleMode mode = SaleMode::kSellOut;
  std::uint32_t sku_count = 1;
  std::int64_t stock_per_sku = 1000;
  std::int64_t units_per_take = 1;
  double zipf_theta = 0.99;  // YCSB's default skew

  // "hot/sell-out"
  std::string Name() const;
};

struct WorkloadFlags {
  std::int64_t hot_stock = 1000;           // sell-out units on the one hot SKU
  std::int64_t many_stock_per_sku = 1;     // sell-out units per SKU, skewed and uniform
  double zipf_theta = 0.99;
};
Workload MakeWorkload(Distribution d, SaleMode m, const WorkloadFlags& flags);

// Zipf(theta) over [0, n) by inverse CDF: rank 0 is the most popular SKU.
class ZipfTable {
 public:
  ZipfTable(std::uint32_t n, double theta);
  // u in [0, 1) -> rank.
  std::uint32_t Rank(double u) const;

 private:
  std::vector<double> cdf_;
};

// A client's SKU sequence, drawn before the clock starts so that drawing
// random numbers is not part of what is measured. It cycles through
// kKeyStreamLength keys, long enough that the cycle does not matter.
//
// A line each: its client writes position_ on every take, and the runner
// keeps the clients' streams side by side in one vector. Packed two to a
// line, every take wrote a line another client wrote too, which capped the
// rows whose back end shares no line between clients (escrow).
class alignas(flashstock::kCacheLineSize) KeyStream {
 public:
  static constexpr std::uint32_t kKeyStreamLength = 1u << 16;

  KeyStream(const Workload& workload, const ZipfTable* zipf, std::uint64_t seed);
  std::uint32_t Next() {
    const std::uint32_t key = keys_[position_];
    position_ = (position_ + 1) & (kKeyStreamLength - 1);
    return key;
  }

 private:
  std::vector<std::uint32_t> keys_;
  std::uint32_t position_ = 0;
};
static_assert(sizeof(KeyStream) == flashstock::kCacheLineSize, "one client's stream per line");

}  // namespace flashsale

#endif  // FLASHSTOCK_BENCH_FLASHSALE_WORKLOAD_H_
