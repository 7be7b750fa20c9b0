// The flash-sale bench's correctness checker: a rigged back end that
// oversells, lost updates and lost sales are all caught; the physical-limit
// row is informational. Plus the histogram and Zipf pieces the rows rely on.
#include <atomic>
#include <cmath>
#include <vector>

#include "backends.h"
#include "checker.h"
#include "gtest/gtest.h"
#include "histogram.h"
#include "runner.h"
#include "workload.h"

namespace flashsale {
namespace {

Tally MakeTally(std::vector<std::int64_t> accepted, std::vector<std::int64_t> refusals) {
  Tally t(static_cast<std::uint32_t>(accepted.size()));
  t.accepted_units.assign(accepted.begin(), accepted.end());
  t.refusals.assign(refusals.begin(), refusals.end());
  return t;
}

TEST(CheckRow, CorrectSellOutPasses) {
  const CheckResult c = CheckRow(10, {0, 3}, MakeTally({10, 7}, {5, 0}), true);
  EXPECT_EQ(c.verdict, Verdict::kOk) << c.why;
  EXPECT_EQ(c.initial_units, 20);
  EXPECT_EQ(c.accepted_units, 17);
  EXPECT_EQ(c.final_units, 3);
}

TEST(CheckRow, OversoldFails) {
  // 12 units accepted of 10; the counter went to -2, so conservation holds.
  const CheckResult c = CheckRow(10, {-2}, MakeTally({12}, {0}), true);
  EXPECT_EQ(c.verdict, Verdict::kFailed);
  EXPECT_EQ(c.oversold_units, 2);
  EXPECT_EQ(c.conservation_units_off, 0);
}

TEST(CheckRow, LostUpdateFailsConservation) {
  // Told 8 buyers yes, but only 6 units left the shelf.
  const CheckResult c = CheckRow(10, {4}, MakeTally({8}, {0}), true);
  EXPECT_EQ(c.verdict, Verdict::kFailed);
  EXPECT_EQ(c.oversold_units, 0);
  EXPECT_EQ(c.conservation_units_off, 2);
}

TEST(CheckRow, RefusalWithStockLeftFails) {
  const CheckResult c = CheckRow(10, {1}, MakeTally({9}, {3}), true);
  EXPECT_EQ(c.verdict, Verdict::kFailed);
  EXPECT_EQ(c.unsold_with_demand_units, 1);
}

TEST(CheckRow, ClientErrorFails) {
  Tally t = MakeTally({1}, {0});
  t.errors = 1;
  t.first_error = "connection lost";
  const CheckResult c = CheckRow(10, {9}, t, true);
  EXPECT_EQ(c.verdict, Verdict::kFailed);
  EXPECT_NE(c.why.find("connection lost"), std::string::npos);
}

TEST(CheckRow, PhysicalLimitIsInformational) {
  const CheckResult c = CheckRow(10, {-90}, MakeTally({100}, {0}), false);
  EXPECT_EQ(c.verdict, Verdict::kInfo);
  EXPECT_EQ(c.oversold_units, 90);
}

TEST(CheckRow, SkuCountMismatchFails) {
  EXPECT_EQ(CheckRow(10, {1, 2}, MakeTally({9}, {0}), true).verdict, Verdict::kFailed);
}

// The whole path: a back end that claims correctness and oversells is caught.
TEST(RunRow, RiggedOversellingBackendFails) {
  std::unique_ptr<Backend> rigged = MakeRiggedOversellBackend();
  ASSERT_TRUE(rigged->claims_correctness());
  const Workload w = MakeWorkload(Distribution::kHot, SaleMode::kSellOut, {.hot_stock = 100});
  const RowResult row = RunRow(*rigged, w, nullptr, 2, {.duration_s = 0, .ops = 20'000}, nullptr);
  EXPECT_EQ(row.ops, 20'000u);
  EXPECT_EQ(row.check.verdict, Verdict::kFailed);
  EXPECT_GT(row.check.oversold_units, 0);
  // Its counter went below zero by exactly what it oversold.
  EXPECT_EQ(row.check.final_units, -row.check.oversold_units);
}

TEST(RunRow, FetchSubLimitOversellsButIsInfo) {
  std::unique_ptr<Backend> limit = MakeAtomicFetchSubBackend();
  const Workload w = MakeWorkload(Distribution::kHot, SaleMode::kSellOut, {.hot_stock = 100});
  const RowResult row = RunRow(*limit, w, nullptr, 2, {.duration_s = 0, .ops = 1'000}, nullptr);
  EXPECT_EQ(row.check.verdict, Verdict::kInfo);
  EXPECT_EQ(row.check.oversold_units, 900);
}

TEST(RunRow, InterruptStopsTheRow) {
  std::unique_ptr<Backend> cas = MakeAtomicCasBackend();
  const Workload w = MakeWorkload(Distribution::kHot, SaleMode::kSteady, {});
  const std::atomic<bool> interrupted{true};
  const RowResult row = RunRow(*cas, w, nullptr, 2, {.duration_s = 60, .ops = 0}, &interrupted);
  EXPECT_LT(row.seconds, 10.0);
  EXPECT_EQ(row.check.verdict, Verdict::kOk) << row.check.why;
}

TEST(Histogram, QuantilesWithinBucketPrecision) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 100'000; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 100'000u);
  for (double q : {0.5, 0.99, 0.999}) {
    const double want = q * 100'000;
    EXPECT_NEAR(static_cast<double>(h.ValueAtQuantile(q)), want, want / 32 + 1) << q;
  }
  EXPECT_EQ(Histogram::BucketOf(31), 31u);
  EXPECT_EQ(Histogram::BucketLow(Histogram::BucketOf(1'000'000)) <= 1'000'000, true);
  EXPECT_LT(Histogram::BucketOf(~std::uint64_t{0}), Histogram::kBuckets);
  EXPECT_EQ(Histogram().ValueAtQuantile(0.5), 0u);
}

TEST(Workload, ZipfPutsMostDemandOnRankZero) {
  const Workload w = MakeWorkload(Distribution::kSkewed, SaleMode::kSellOut, {});
  ASSERT_EQ(w.sku_count, kManySkus);
  const ZipfTable zipf(w.sku_count, w.zipf_theta);
  KeyStream keys(w, &zipf, 1);
  std::vector<int> hits(w.sku_count, 0);
  for (std::uint32_t i = 0; i < KeyStream::kKeyStreamLength; ++i) ++hits[keys.Next()];
  // Zipf(0.99) over 10,000: rank 0 draws ~1/H ~ 10%; rank 1 about half that.
  EXPECT_GT(hits[0], hits[1]);
  EXPECT_GT(hits[1], hits[100]);
  EXPECT_NEAR(hits[0] / static_cast<double>(KeyStream::kKeyStreamLength), 0.10, 0.03);
}

}  // namespace
}  // namespace flashsale
