// The journal through the engine: modes, reopen, limits at their edges,
// backpressure, checkpoints, and replay order independence.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <utility>
#include <string>
#include <thread>
#include <vector>

#include "journal/checkpointer.h"
#include "flashstock/engine.h"
#include "gtest/gtest.h"
#include "journal/journal_format.h"
#include "journal_test_util.h"
#include "journal/journal_writer.h"
#include "journal/recovery.h"

namespace flashstock {
namespace {

using testing::JournalOptions;
using testing::OpenOrDie;
using testing::TempDir;

TEST(JournalFormatTest, Xxh3PinnedVectors) {
  // XXH3-64 reference values (xxhash's sanity test vectors, seed 0).
  EXPECT_EQ(journal::Hash64("", 0), 0x2D06800538D394C2ull);
  EXPECT_EQ(journal::Hash64("a", 1), 0xE6C632B61E964E1Full);
}

TEST(JournalFormatTest, FileNamesRoundTrip) {
  std::uint64_t n = 0;
  EXPECT_TRUE(journal::ParseSegmentFileName(journal::SegmentFileName(42), &n));
  EXPECT_EQ(n, 42u);
  EXPECT_TRUE(journal::ParseSnapshotFileName(journal::SnapshotFileName(UINT64_MAX), &n));
  EXPECT_EQ(n, UINT64_MAX);
  EXPECT_FALSE(journal::ParseSegmentFileName("journal-1.log", &n));
  EXPECT_FALSE(journal::ParseSegmentFileName(journal::SegmentFileName(7) + ".dropped", &n));
}

TEST(JournalTest, OptionsAreChecked) {
  TempDir dir;
  EngineOptions o;
  o.durability = Durability::kSync;
  EXPECT_EQ(Engine::Open(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = EngineOptions{};
  o.journal_dir = dir.path();
  EXPECT_EQ(Engine::Open(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = JournalOptions(dir.path());
  o.segment_bytes_max = journal::kSegmentBytesMin - 1;
  EXPECT_EQ(Engine::Open(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.segment_bytes_max = journal::kSegmentBytesMin;  // the edge is accepted
  EXPECT_TRUE(Engine::Open(o).ok());
}

// Sync mode grows the active segment ahead with zeros (a cheaper
// fdatasync); a clean close cuts them off, and a crash image, zeros and
// all, opens as a torn tail with every synced change in it.
TEST(JournalTest, SyncSegmentsGrowAheadWithZerosAndCloseClean) {
  namespace fs = std::filesystem;
  TempDir dir, crash;
  auto segment_of = [](const std::string& d) {
    for (const fs::directory_entry& e : fs::directory_iterator(d)) {
      std::uint64_t first = 0;
      if (journal::ParseSegmentFileName(e.path().filename().string(), &first)) return e.path();
    }
    return fs::path();
  };
  {
    auto e = OpenOrDie(JournalOptions(dir.path()));
    ASSERT_TRUE(e->Define("a", 100).ok());
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(e->Take("a", 1).ok());  // each durable before it returns
    const fs::path live = segment_of(dir.path());
    ASSERT_FALSE(live.empty());
    EXPECT_GE(fs::file_size(live), journal::kSegmentPreallocateBytes);
    // What a crash now would leave on disk.
    fs::copy_file(live, fs::path(crash.path()) / live.filename());
  }
  const fs::path closed = segment_of(dir.path());
  EXPECT_LT(fs::file_size(closed), 4096u);
  {
    auto e = OpenOrDie(JournalOptions(dir.path()));
    EXPECT_EQ(e->recovery_summary().find("torn"), std::string::npos) << e->recovery_summary();
    EXPECT_EQ(e->Level("a").available, 90);
  }
  auto e = OpenOrDie(JournalOptions(crash.path()));
  EXPECT_NE(e->recovery_summary().find("torn tail"), std::string::npos) << e->recovery_summary();
  EXPECT_EQ(e->Level("a").available, 90);
}

TEST(JournalTest, OneProcessPerDirectory) {
  TempDir dir;
  auto a = OpenOrDie(JournalOptions(dir.path()));
  EXPECT_EQ(Engine::Open(JournalOptions(dir.path())).status().code(), absl::StatusCode::kFailedPrecondition);
}

void Workload(Engine& e) {
  ASSERT_EQ(e.Define("tee", 100).outcome, Outcome::kOk);
  ASSERT_EQ(e.Define("mug", 5, -3).outcome, Outcome::kOk);
  ASSERT_EQ(e.Define(std::string(kNameBytesMax, 'x'), 0).outcome, Outcome::kOk);
  EXPECT_EQ(e.Define("tee", 1).outcome, Outcome::kAlreadyDefined);
  EXPECT_EQ(e.Take("tee", 30).available, 70);
  EXPECT_EQ(e.Take("mug", 8).available, -3);
  EXPECT_EQ(e.Take("mug", 1).outcome, Outcome::kInsufficient);
  StockResult r = e.TakeUpTo("tee", 500);
  EXPECT_EQ(r.taken, 70);
  EXPECT_EQ(e.TakeUpTo("tee", 5).taken, 0);  // nothing to journal
  EXPECT_EQ(e.Restock("tee", 12).available, 12);
  EXPECT_EQ(e.SetFloor("mug", -10).outcome, Outcome::kOk);
  EXPECT_EQ(e.SetFloor("tee", 0).outcome, Outcome::kOk);
  EXPECT_EQ(e.Restock(std::string(kNameBytesMax, 'x'), kLevelMax).available, kLevelMax);
}

void ExpectWorkloadState(Engine& e) {
  EXPECT_EQ(e.sku_count(), 3u);
  EXPECT_EQ(e.Level("tee").available, 12);
  EXPECT_EQ(e.Level("mug").available, -3);
  EXPECT_EQ(*e.Floor(*e.Resolve("mug")), -10);
  EXPECT_EQ(*e.Resolve("mug"), SkuHandle{1});
  EXPECT_EQ(e.Level(std::string(kNameBytesMax, 'x')).available, kLevelMax);
}

class JournalModeTest : public ::testing::TestWithParam<Durability> {};

TEST_P(JournalModeTest, ReopenRecoversEveryChange) {
  TempDir dir;
  {
    auto e = OpenOrDie(JournalOptions(dir.path(), GetParam()));
    Workload(*e);
    ASSERT_TRUE(e->Flush().ok());
    EXPECT_GT(e->durable_sequence(), 0u);
  }
  for (int round = 0; round < 2; ++round) {
    auto e = OpenOrDie(JournalOptions(dir.path(), GetParam()));
    ExpectWorkloadState(*e);
  }
}
INSTANTIATE_TEST_SUITE_P(Modes, JournalModeTest, ::testing::Values(Durability::kAsync, Durability::kSync));

TEST_P(JournalModeTest, DefineManyLoadsACatalogWithOneDurableWait) {
  TempDir dir;
  std::vector<std::string> names;
  for (int i = 0; i < 1000; ++i) names.push_back("sku-" + std::to_string(i));
  std::vector<Engine::SkuDefinition> defs;
  for (int i = 0; i < 1000; ++i) defs.push_back({names[i], i, i % 2 == 0 ? 0 : -i});
  {
    auto e = OpenOrDie(JournalOptions(dir.path(), GetParam()));
    const JournalStats before = e->journal_stats();
    Engine::DefineManyResult r = e->DefineMany(defs);
    ASSERT_EQ(r.outcome, Outcome::kOk);
    EXPECT_EQ(r.defined, 1000u);
    // Far fewer group commits than SKUs (Define would take one each).
    EXPECT_LT(e->journal_stats().batches - before.batches, 100u);
    EXPECT_EQ(e->Take("sku-999", 999 + 999).available, -999);
    const Engine::SkuDefinition dup[] = {{"new", 1}, {"sku-3", 1}};
    EXPECT_EQ(e->DefineMany(dup).outcome, Outcome::kAlreadyDefined);
    ASSERT_TRUE(e->Flush().ok());
  }
  auto e = OpenOrDie(JournalOptions(dir.path(), GetParam()));
  EXPECT_EQ(e->sku_count(), 1000u);
  EXPECT_EQ(e->Level("sku-500").available, 500);
  EXPECT_EQ(e->Level("sku-999").available, -999);
  EXPECT_EQ(*e->Floor(*e->Resolve("sku-7")), -7);
  EXPECT_FALSE(e->Resolve("new").has_value());
}

TEST(JournalTest, AsyncWaitUntilDurable) {
  TempDir dir;
  auto e = OpenOrDie(JournalOptions(dir.path(), Durability::kAsync));
  ASSERT_EQ(e->Define("tee", 1000).outcome, Outcome::kOk);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(e->Take("tee", 1).ok());
  ASSERT_TRUE(e->WaitUntilDurable().ok());
  // Define + (coalesced) takes are on disk now: a reader of the directory
  // sees them while the engine is still open.
  journal::RecoveryOptions ro;
  ro.repair = false;
  absl::StatusOr<journal::Recovered> r = journal::Recover(dir.path(), ro);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->state.skus.size(), 1u);
  EXPECT_EQ(r->state.skus[0].level, 900);
  EXPECT_EQ(r->state.sequence, e->durable_sequence());
}

TEST(JournalTest, SegmentsRotateAtTheLimitAndCheckpointsDropThem) {
  TempDir dir;
  EngineOptions o = JournalOptions(dir.path(), Durability::kAsync);
  o.segment_bytes_max = journal::kSegmentBytesMin;  // rotate every ~32 KiB
  constexpr int kSkus = 64;
  constexpr int kRounds = 60;  // 64 records of 32 B per round: ~4 segments
  {
    auto e = OpenOrDie(o);
    for (int s = 0; s < kSkus; ++s) ASSERT_EQ(e->Define("s" + std::to_string(s), 1'000'000).outcome, Outcome::kOk);
    for (int round = 0; round < kRounds; ++round) {
      for (int s = 0; s < kSkus; ++s) ASSERT_TRUE(e->Take("s" + std::to_string(s), 1).ok());
      ASSERT_TRUE(e->WaitUntilDurable().ok());
    }
    absl::StatusOr<std::vector<journal::SegmentFile>> segs = journal::ListSegments(dir.path());
    ASSERT_TRUE(segs.ok());
    EXPECT_GE(segs->size(), 3u);
    ASSERT_TRUE(e->Checkpoint().ok());
    segs = journal::ListSegments(dir.path());
    EXPECT_EQ(segs->size(), 1u);  // only the new active segment remains
    EXPECT_TRUE(e->Take("s0", 1).ok());
    EXPECT_EQ(e->journal_stats().checkpoints, 1u);
  }
  auto e = OpenOrDie(o);
  EXPECT_EQ(e->Level("s0").available, 1'000'000 - kRounds - 1);
  EXPECT_EQ(e->Level("s63").available, 1'000'000 - kRounds);
  EXPECT_NE(e->recovery_summary().find("snapshot snapshot-"), std::string::npos) << e->recovery_summary();
}

TEST(JournalTest, BackgroundCheckpointRunsPastTheThreshold) {
  TempDir dir;
  EngineOptions o = JournalOptions(dir.path(), Durability::kSync);
  o.checkpoint_bytes = 4096;
  {
    auto e = OpenOrDie(o);
    ASSERT_EQ(e->Define("tee", 1'000'000).outcome, Outcome::kOk);
    for (int i = 0; i < 200; ++i) ASSERT_TRUE(e->Take("tee", 1).ok());
  }
  auto e = OpenOrDie(o);
  EXPECT_EQ(e->Level("tee").available, 1'000'000 - 200);
}

TEST(JournalTest, RefusePolicyGivesBackpressureWithNothingChanged) {
  TempDir dir;
  EngineOptions o = JournalOptions(dir.path(), Durability::kAsync);
  o.full_queue = FullQueuePolicy::kRefuse;
  auto e = OpenOrDie(o);
  ASSERT_EQ(e->Define("tee", kLevelMax).outcome, Outcome::kOk);
  SkuHandle tee = *e->Resolve("tee");
  std::int64_t taken = 0;
  std::int64_t refused = 0;
  // Push well past one ring's depth as fast as we can: some takes may be
  // refused (whether any are depends on the journal thread keeping up), and
  // a refused take must change nothing.
  for (std::size_t i = 0; i < 4 * journal::kJournalQueueDepth; ++i) {
    StockResult r = e->Take(tee, 1);
    if (r.outcome == Outcome::kOk) {
      ++taken;
    } else {
      ASSERT_EQ(r.outcome, Outcome::kBackpressure);
      ++refused;
    }
  }
  ASSERT_TRUE(e->Flush().ok());
  EXPECT_EQ(taken + refused, static_cast<std::int64_t>(4 * journal::kJournalQueueDepth));
  EXPECT_EQ(e->Level(tee).available, kLevelMax - taken);
  e.reset();
  auto again = OpenOrDie(o);
  EXPECT_EQ(again->Level("tee").available, kLevelMax - taken);
}

// Many threads, each far past its ring depth under the wait policy: nothing
// is lost and stock is conserved after reopening.
TEST(JournalTest, FullRingsWaitAndLoseNothing) {
  TempDir dir;
  EngineOptions o = JournalOptions(dir.path(), Durability::kAsync);
  constexpr int kThreads = 4;
  constexpr std::int64_t kPerThread = 3 * static_cast<std::int64_t>(journal::kJournalQueueDepth);
  {
    auto e = OpenOrDie(o);
    ASSERT_EQ(e->Define("hot", 10 * kThreads * kPerThread).outcome, Outcome::kOk);
    // A second SKU taken from too (not restocked: a restock waits for its
    // record to be placed in a batch, so it could never fill a ring).
    ASSERT_EQ(e->Define("cold", kThreads * kPerThread).outcome, Outcome::kOk);
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        SkuHandle hot = *e->Resolve("hot");
        SkuHandle cold = *e->Resolve("cold");
        for (std::int64_t i = 0; i < kPerThread; ++i) {
          ASSERT_TRUE(e->Take(hot, 2).ok());
          ASSERT_TRUE(e->Take(cold, 1).ok());
          ASSERT_TRUE(e->TakeUpTo(hot, 1).ok());
        }
      });
    }
    go.store(true, std::memory_order_release);
    for (auto& t : threads) t.join();
    ASSERT_TRUE(e->Flush().ok());
    EXPECT_EQ(e->journal_stats().changes, 2u + 3u * kThreads * kPerThread);
  }
  auto e = OpenOrDie(o);
  EXPECT_EQ(e->Level("hot").available, 10 * kThreads * kPerThread - 3 * kThreads * kPerThread);
  EXPECT_EQ(e->Level("cold").available, 0);
}

// A checkpoint asked for while changes never stop must not wait for the
// load to end: the journal rotates for it at a batch boundary.
TEST(JournalTest, CheckpointUnderContinuousLoad) {
  TempDir dir;
  EngineOptions o = JournalOptions(dir.path(), Durability::kAsync);
  o.checkpoint_bytes = 0;
  auto e = OpenOrDie(o);
  ASSERT_TRUE(e->Define("hot", kLevelMax).ok());
  const SkuHandle hot = *e->Resolve("hot");
  std::atomic<bool> stop{false};
  std::atomic<bool> gave_up{false};
  std::vector<std::thread> load;
  for (int t = 0; t < 8; ++t) {
    load.emplace_back([&] {
      // Bounded: if the checkpoint starves, the load ends by itself.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      std::uint64_t n = 0;
      while (!stop.load(std::memory_order_acquire)) {
        ASSERT_TRUE(e->Take(hot, 1).ok());
        if (++n % 4096 == 0 && std::chrono::steady_clock::now() > deadline) {
          gave_up.store(true, std::memory_order_release);
          return;
        }
      }
    });
  }
  // Load is running once the journal has written something.
  while (e->journal_stats().batches < 3) std::this_thread::yield();
  const absl::Status checkpoint = e->Checkpoint();
  const bool load_still_running = !gave_up.load(std::memory_order_acquire);
  stop.store(true, std::memory_order_release);
  for (auto& t : load) t.join();
  EXPECT_TRUE(checkpoint.ok()) << checkpoint;
  EXPECT_TRUE(load_still_running) << "the checkpoint only finished once the load had stopped";
  EXPECT_GE(e->journal_stats().checkpoints, 1u);
}

// Was ReplayIsIndependentOfRecordOrder. Replay checks the rule in file
// order: a history the SKUs could have gone through (here: takes drawn only
// when they fit) folds; the same records in another order either break the
// rule somewhere (a take before the restock it used: refused as damage) or
// fold to the very same state, since accepted deltas commute.
TEST(JournalTest, ReplayInAnotherOrderIsRefusedOrFoldsAlike) {
  std::mt19937_64 rng(7);
  std::vector<journal::Record> defines;
  std::vector<journal::Record> deltas;
  std::vector<std::string> names;
  for (std::uint32_t i = 0; i < 8; ++i) names.push_back("s" + std::to_string(i));
  std::vector<std::int64_t> level(8, 1000);
  for (std::uint32_t i = 0; i < 8; ++i) {
    journal::Record d;
    d.type = journal::RecordType::kDefine;
    d.sku = i;
    d.value = level[i];
    d.floor = 0;
    d.name = names[i];
    defines.push_back(d);
  }
  while (deltas.size() < 2000) {
    journal::Record r;
    r.type = rng() % 2 ? journal::RecordType::kTake : journal::RecordType::kRestock;
    r.sku = static_cast<std::uint32_t>(rng() % 8);
    r.value = 1 + static_cast<std::int64_t>(rng() % 1000);
    if (r.type == journal::RecordType::kTake && level[r.sku] < r.value) continue;
    level[r.sku] += r.type == journal::RecordType::kTake ? -r.value : r.value;
    deltas.push_back(r);
  }
  auto fold = [&](const std::vector<journal::Record>& order) -> absl::StatusOr<journal::JournalState> {
    journal::JournalState s;
    std::uint64_t seq = 0;
    for (const std::vector<journal::Record>* part : {&std::as_const(defines), &order}) {
      for (journal::Record r : *part) {
        r.sequence = ++seq;
        if (absl::Status st = s.Apply(r); !st.ok()) return st;
      }
    }
    return s;
  };
  const absl::StatusOr<journal::JournalState> reference = fold(deltas);
  ASSERT_TRUE(reference.ok()) << reference.status();
  for (std::uint32_t i = 0; i < 8; ++i) EXPECT_EQ(reference->skus[i].level, level[i]);
  int refused = 0;
  for (int round = 0; round < 20; ++round) {
    std::shuffle(deltas.begin(), deltas.end(), rng);
    const absl::StatusOr<journal::JournalState> s = fold(deltas);
    if (!s.ok()) {
      EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
      ++refused;
      continue;
    }
    EXPECT_TRUE(*s == *reference);
  }
  // Takes first (restocks last) must dip below a floor somewhere: the
  // history had SKUs run low and be restocked.
  std::stable_sort(deltas.begin(), deltas.end(), [](const journal::Record& a, const journal::Record& b) {
    return a.type == journal::RecordType::kTake && b.type != journal::RecordType::kTake;
  });
  EXPECT_FALSE(fold(deltas).ok());
  (void)refused;
}

}  // namespace
}  // namespace flashstock
