#include "workload.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace flashsale {

std::string_view DistributionName(Distribution d) {
  switch (d) {
    case Distribution::kHot: return "hot";
    case Distribution::kSkewed: return "skewed";
    case Distribution::kUniform: return "uniform";
  }
  return "?";
}

std::string_view SaleModeName(SaleMode m) {
  return m == SaleMode::kSellOut ? "sell-out" : "steady";
}

std::optional<Distribution> ParseDistribution(std::string_view s) {
  if (s == "hot") return Distribution::kHot;
  if (s == "skewed" || s == "zipf") return Distribution::kSkewed;
  if (s == "uniform") return Distribution::kUniform;
  return std::nullopt;
}

std::optional<SaleMode> ParseSaleMode(std::string_view s) {
  if (s == "sellout" || s == "sell-out") return SaleMode::kSellOut;
  if (s == "steady") return SaleMode::kSteady;
  return std::nullopt;
}

std::string Workload::Name() const {
  return std::string(DistributionName(distribution)) + "/" + std::string(SaleModeName(mode));
}

Workload MakeWorkload(Distribution d, SaleMode m, const WorkloadFlags& flags) {
  Workload w;
  w.distribution = d;
  w.mode = m;
  w.sku_count = d == Distribution::kHot ? 1 : kManySkus;
  w.zipf_theta = flags.zipf_theta;
  if (m == SaleMode::kSteady) {
    w.stock_per_sku = kSteadyStockPerSku;
  } else {
    w.stock_per_sku = d == Distribution::kHot ? flags.hot_stock : flags.many_stock_per_sku;
  }
  return w;
}

ZipfTable::ZipfTable(std::uint32_t n, double theta) : cdf_(n) {
  double sum = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    sum += 1.0 / std::pow(static_cast<double>(i + 1), theta);
    cdf_[i] = sum;
  }
  for (double& c : cdf_) c /= sum;
  cdf_.back() = 1.0;
}

std::uint32_t ZipfTable::Rank(double u) const {
  const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
  return static_cast<std::uint32_t>(std::min<std::ptrdiff_t>(it - cdf_.begin(),
                                                             static_cast<std::ptrdiff_t>(cdf_.size()) - 1));
}

KeyStream::KeyStream(const Workload& workload, const ZipfTable* zipf, std::uint64_t seed)
    : keys_(kKeyStreamLength, 0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<std::uint32_t> any(0, workload.sku_count - 1);
  for (std::uint32_t& key : keys_) {
    switch (workload.distribution) {
      case Distribution::kHot: key = 0; break;
      case Distribution::kSkewed: key = zipf->Rank(unit(rng)); break;
      case Distribution::kUniform: key = any(rng); break;
    }
  }
}

}  // namespace flashsale
