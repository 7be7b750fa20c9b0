// A short run of every flash-sale back end that can run here, through the
// bench's own runner and checker: each must end with a correct row. The
// PostgreSQL cases start a throwaway cluster and are skipped, saying why,
// when initdb is unavailable.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "backends.h"
#include "gtest/gtest.h"
#include "pg_cluster.h"
#include "runner.h"
#include "workload.h"

namespace flashsale {
namespace {

// Rows are bounded by ops, so a slow machine takes longer but checks the same.
constexpr std::uint64_t kOps = 3'000;
constexpr std::int64_t kHotStock = 500;

class ScratchDir {
 public:
  ScratchDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "flashsale-test-XXXXXX").string();
    EXPECT_NE(mkdtemp(templ.data()), nullptr);
    chmod(templ.c_str(), 0711);  // a PostgreSQL server run as another user passes through
    path_ = templ;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Hot sell-out (more buyers than units: sells exactly the stock), then a
// skewed sell-out and a uniform steady row.
void ExpectCorrect(Backend& backend, std::uint64_t ops = kOps, std::int64_t hot_stock = kHotStock) {
  const WorkloadFlags flags{.hot_stock = hot_stock, .many_stock_per_sku = 1};
  {
    const Workload w = MakeWorkload(Distribution::kHot, SaleMode::kSellOut, flags);
    const RowResult row = RunRow(backend, w, nullptr, 2, {.duration_s = 0, .ops = ops}, nullptr);
    EXPECT_EQ(row.check.verdict, Verdict::kOk) << backend.system() << ": " << row.check.why;
    EXPECT_EQ(row.ops, ops);
    EXPECT_EQ(row.check.accepted_units, hot_stock) << backend.system();
    EXPECT_EQ(row.check.final_units, 0) << backend.system();
    EXPECT_GT(row.latency_samples, 0u);
  }
  {
    const Workload w = MakeWorkload(Distribution::kSkewed, SaleMode::kSellOut, flags);
    const ZipfTable zipf(w.sku_count, w.zipf_theta);
    const RowResult row = RunRow(backend, w, &zipf, 2, {.duration_s = 0, .ops = ops}, nullptr);
    EXPECT_EQ(row.check.verdict, Verdict::kOk) << backend.system() << ": " << row.check.why;
    EXPECT_GT(row.refused, 0u) << "the hottest SKUs sell out";
  }
  {
    const Workload w = MakeWorkload(Distribution::kUniform, SaleMode::kSteady, flags);
    const RowResult row = RunRow(backend, w, nullptr, 2, {.duration_s = 0, .ops = ops}, nullptr);
    EXPECT_EQ(row.check.verdict, Verdict::kOk) << backend.system() << ": " << row.check.why;
    EXPECT_EQ(row.accepted, ops);
  }
}

TEST(FlashsaleSmoke, Flashstock) {
  absl::StatusOr<std::unique_ptr<Backend>> b = MakeFlashstockBackend("none", "");
  ASSERT_TRUE(b.ok());
  ExpectCorrect(**b);
  EXPECT_FALSE(MakeFlashstockBackend("no-such-mode", "").ok());
}

// Every SKU split while roomy (the back end fails the row otherwise): the
// hot sell-out runs through lease refills, the tail join and exact refusals.
TEST(FlashsaleSmoke, FlashstockEscrow) {
  ScratchDir dir;
  for (const char* variant : {"none", "async"}) {
    absl::StatusOr<std::unique_ptr<Backend>> b = MakeFlashstockEscrowBackend(variant, dir.path());
    ASSERT_TRUE(b.ok()) << variant;
    SCOPED_TRACE((*b)->system() + "/" + (*b)->variant());
    ExpectCorrect(**b);
  }
}

TEST(FlashsaleSmoke, Mutex) { ExpectCorrect(*MakeMutexBackend()); }
TEST(FlashsaleSmoke, AtomicCas) { ExpectCorrect(*MakeAtomicCasBackend()); }

TEST(FlashsaleSmoke, SqliteNormalAndFull) {
  ScratchDir dir;
  ExpectCorrect(*MakeSqliteBackend("normal", dir.path()), 600, 100);
  ExpectCorrect(*MakeSqliteBackend("full", dir.path()), 300, 100);
}

TEST(FlashsaleSmoke, PostgresThreePatternsBothSettings) {
  if (absl::StatusOr<std::string> bin = PgCluster::FindBinDir(""); !bin.ok()) {
    GTEST_SKIP() << "PostgreSQL smoke test skipped: " << bin.status().message();
  }
  ScratchDir dir;
  absl::StatusOr<std::unique_ptr<PgCluster>> pg = PgCluster::Start({.bin_dir = "", .parent_dir = dir.path()});
  ASSERT_TRUE(pg.ok()) << pg.status().message();
  const pid_t pid = (*pg)->pid();
  for (PgPattern pattern :
       {PgPattern::kSelectForUpdate, PgPattern::kConditionalUpdate, PgPattern::kCheckConstraint}) {
    for (bool sync_off : {false, true}) {
      std::unique_ptr<Backend> b = MakePostgresBackend(pattern, sync_off, pg->get());
      SCOPED_TRACE(b->system() + "/" + b->variant());
      ExpectCorrect(*b, 200, 40);
    }
  }
  (*pg)->Stop();
  // Stopped by its PID: the server is gone (reaped, so kill finds nothing).
  EXPECT_NE(kill(pid, 0), 0);
}

}  // namespace
}  // namespace flashsale
