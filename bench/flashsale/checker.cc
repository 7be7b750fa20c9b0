#include "checker.h"

#include <algorithm>
#include <cstdlib>

namespace flashsale {

void Tally::Add(const Tally& other) {
  for (std::size_t i = 0; i < accepted_units.size(); ++i) {
    accepted_units[i] += other.accepted_units[i];
    refusals[i] += other.refusals[i];
  }
  errors += other.errors;
  if (first_error.empty()) first_error = other.first_error;
}

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk: return "ok";
    case Verdict::kFailed: return "FAILED";
    case Verdict::kInfo: return "info";
  }
  return "?";
}

CheckResult CheckRow(std::int64_t stock_per_sku, const std::vector<std::int64_t>& final_levels,
                     const Tally& tally, bool claims_correctness) {
  CheckResult c;
  const std::size_t skus = tally.accepted_units.size();
  if (final_levels.size() != skus) {
    c.verdict = Verdict::kFailed;
    c.why = "back end reported " + std::to_string(final_levels.size()) + " SKUs, loaded " +
            std::to_string(skus);
    return c;
  }
  for (std::size_t i = 0; i < skus; ++i) {
    const std::int64_t sold = tally.accepted_units[i];
    const std::int64_t left = final_levels[i];
    c.initial_units += stock_per_sku;
    c.final_units += left;
    c.accepted_units += sold;
    c.oversold_units += std::max<std::int64_t>(0, sold - stock_per_sku);
    c.conservation_units_off += std::llabs(stock_per_sku - sold - left);
    if (tally.refusals[i] > 0 && left > 0) c.unsold_with_demand_units += left;
  }
  std::string why;
  auto add = [&why](const std::string& s) { why += (why.empty() ? "" : "; ") + s; };
  if (tally.errors > 0) add(std::to_string(tally.errors) + " client errors: " + tally.first_error);
  if (c.oversold_units > 0) add(std::to_string(c.oversold_units) + " units oversold");
  if (c.conservation_units_off > 0) {
    add("conservation: initial - accepted != final by " + std::to_string(c.conservation_units_off) +
        " units");
  }
  if (c.unsold_with_demand_units > 0) {
    add(std::to_string(c.unsold_with_demand_units) + " units unsold while buyers were refused");
  }
  if (!claims_correctness) {
    c.verdict = Verdict::kInfo;
    c.why = why.empty() ? "" : "(physical limit, not checked) " + why;
  } else {
    c.verdict = why.empty() ? Verdict::kOk : Verdict::kFailed;
    c.why = why;
  }
  return c;
}

}  // namespace flashsale
