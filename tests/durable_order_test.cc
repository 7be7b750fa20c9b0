// Durable order follows dependence (docs/design.md): each race between a
// cause and what uses it forced with test points (base/test_point.h), never hoped for
// with a sleep, then the journal checked at every crash cut: every prefix of
// the file, cut at a record boundary, must open and leave every SKU within
// its floor, and the whole file must hold each acknowledged change together
// with the cause it used.
//
// Links flashstock_engine_test_points (the engine with its test points).
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "flashstock/engine.h"
#include "gtest/gtest.h"
#include "base/test_point.h"
#include "journal/journal_format.h"
#include "journal_test_util.h"
#include "test_gate.h"

namespace flashstock {
namespace {

using internal::TestPoint;
using testing::CopyDir;
using testing::JournalOptions;
using testing::OpenOrDie;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;

using testing::Gate;
using testing::GateGuard;

// Record boundaries of every segment file in `dir`, in file order: (file,
// offset) pairs, the first of each file just past its header.
struct Cut {
  std::string file;
  std::size_t offset;
};
std::vector<Cut> RecordBoundaries(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::uint64_t first = 0;
    if (journal::ParseSegmentFileName(e.path().filename().string(), &first)) {
      files.push_back(e.path().filename().string());
    }
  }
  std::sort(files.begin(), files.end());  // 20-digit names sort by sequence
  std::vector<Cut> cuts;
  for (const std::string& f : files) {
    const std::string bytes = ReadBytes(dir + "/" + f);
    std::size_t at = journal::kSegmentHeaderBytes;
    cuts.push_back({f, at});
    while (at + journal::kRecordHeaderBytes <= bytes.size()) {
      const auto length = journal::Get<std::uint16_t>(bytes.data() + at + 4);
      const auto type = journal::Get<std::uint8_t>(bytes.data() + at + 6);
      if (type == 0 || at + journal::kRecordHeaderBytes + length > bytes.size()) break;  // zeros: the tail
      at += journal::kRecordHeaderBytes + length;
      cuts.push_back({f, at});
    }
  }
  return cuts;
}

// The journal of `image` cut at `cut`: later segments gone, the cut one
// truncated (what a crash at that moment could leave).
void MakeCutCopy(const std::string& image, const Cut& cut, const std::string& to) {
  CopyDir(image, to);
  for (const auto& e : std::filesystem::directory_iterator(to)) {
    std::uint64_t first = 0;
    const std::string name = e.path().filename().string();
    if (journal::ParseSegmentFileName(name, &first) && name > cut.file) std::filesystem::remove(e.path());
  }
  const std::string path = to + "/" + cut.file;
  WriteBytes(path, ReadBytes(path).substr(0, cut.offset));
}

struct Levels {
  std::int64_t available, held, sold, floor;
};

// Opens every cut of `image` and checks each SKU named in `skus`: wherever
// its available count went down from one cut to the next (a take or a
// hold), it is within the floor in force there (a floor raised above the
// level is allowed: it only stops further takes); held and sold are never
// negative. Returns the levels at the whole image (the last cut).
std::vector<Levels> CheckEveryCut(const std::string& image, const std::vector<std::string>& skus) {
  const std::vector<Cut> cuts = RecordBoundaries(image);
  EXPECT_GT(cuts.size(), 1u);
  std::vector<Levels> last;
  std::map<std::string, std::int64_t> before;  // available at the previous cut
  for (std::size_t c = 0; c < cuts.size(); ++c) {
    TempDir copy;
    MakeCutCopy(image, cuts[c], copy.path());
    EngineOptions o = JournalOptions(copy.path(), Durability::kAsync);
    o.expiry_thread = false;
    absl::StatusOr<std::unique_ptr<Engine>> e = Engine::Open(o);
    EXPECT_TRUE(e.ok()) << "cut " << c << " (" << cuts[c].file << " @" << cuts[c].offset << "): " << e.status();
    if (!e.ok()) return {};
    last.clear();
    for (const std::string& name : skus) {
      const StockLevels l = (*e)->Levels(name);
      if (l.outcome == Outcome::kUnknownSku) continue;  // cut before its define
      const std::int64_t floor = *(*e)->Floor(*(*e)->Resolve(name));
      const auto prev = before.find(name);
      if (prev == before.end() || l.available < prev->second) {
        EXPECT_GE(l.available, floor) << name << " taken below its floor at cut " << c << " of " << cuts.size();
      }
      before[name] = l.available;
      EXPECT_GE(l.held, 0) << name << " at cut " << c;
      EXPECT_GE(l.sold, 0) << name << " at cut " << c;
      last.push_back({l.available, l.held, l.sold, floor});
    }
  }
  return last;
}

// A crash image: the journal directory as it is on disk now (sync mode:
// everything acknowledged so far is in it).
void SnapshotImage(const std::string& dir, const std::string& image) { CopyDir(dir, image); }

class DurableOrderTest : public ::testing::TestWithParam<Durability> {
 protected:
  EngineOptions Options(const std::string& dir) {
    EngineOptions o = JournalOptions(dir, GetParam());
    o.expiry_thread = false;
    o.clock = &clock_;
    o.wall_clock = &wall_;
    o.checkpoint_bytes = 0;
    return o;
  }
  // In async mode an acknowledgment promises memory only: the image is taken
  // after a Flush of what the answering thread did.
  void Settle(Engine& e) {
    if (GetParam() == Durability::kAsync) {
      ASSERT_TRUE(e.WaitUntilDurable().ok());
    }
  }
  // Runs `cause` on another thread, stopped at (point, arg) once its effect
  // is visible; meanwhile runs `use` here (which must be acknowledged) and
  // takes the crash image; then lets the cause finish and returns its
  // result.
  template <typename Cause, typename Use>
  auto ImageWhileCauseStopped(Engine& e, TestPoint point, std::uint32_t arg, Cause cause, Use use,
                              const std::string& dir, const std::string& image) {
    Gate::Instance().Arm(point, arg);
    auto stopped = std::async(std::launch::async, cause);
    Gate::Instance().AwaitArrival();
    use();
    Settle(e);
    SnapshotImage(dir, image);
    Gate::Instance().Release();
    return stopped.get();
  }
  ManualClock clock_{1'000'000'000};
  ManualClock wall_{1'700'000'000'000'000'000};
};

// A restock's units taken by another thread while the restocking thread is
// stopped right after they became visible: the take's acknowledgment must
// imply the restock is on disk, at every cut.
TEST_P(DurableOrderTest, RestockThenTakeOfItsUnits) {
  GateGuard guard;
  TempDir dir, image;
  auto e = OpenOrDie(Options(dir.path()));
  ASSERT_TRUE(e->Define("s", 0).ok());
  const std::uint32_t s = e->Resolve("s")->index;

  // While the restock's record is queued but not placed, its units do not
  // exist: a take is refused.
  Gate::Instance().Arm(TestPoint::kCauseQueued, s);
  auto queued = std::async(std::launch::async, [&] { return e->Restock("s", 1); });
  Gate::Instance().AwaitArrival();
  EXPECT_EQ(e->Take("s", 1).outcome, Outcome::kInsufficient);
  Gate::Instance().Release();
  ASSERT_TRUE(queued.get().ok());
  ASSERT_TRUE(e->Take("s", 1).ok());

  // Visible: a take of them is acknowledged while the restocker is stopped.
  const StockResult visible = ImageWhileCauseStopped(
      *e, TestPoint::kCauseVisible, s, [&] { return e->Restock("s", 1); },
      [&] { ASSERT_TRUE(e->Take("s", 1).ok()); }, dir.path(), image.path());
  ASSERT_TRUE(visible.ok());

  const std::vector<Levels> whole = CheckEveryCut(image.path(), {"s"});
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].available, 0) << "two restocks and two takes, all acknowledged";
}

// A cancel's give-back taken by another thread while the cancelling thread
// is stopped right after the units came back.
TEST_P(DurableOrderTest, CancelThenTakeOfTheGiveBack) {
  GateGuard guard;
  TempDir dir, image;
  auto e = OpenOrDie(Options(dir.path()));
  ASSERT_TRUE(e->Define("s", 2).ok());
  const SkuHandle s = *e->Resolve("s");
  const OrderLine line{s, 2};
  ASSERT_TRUE(e->Reserve(7, {&line, 1}, 60'000).ok());
  ASSERT_EQ(e->Take(s, 1).outcome, Outcome::kInsufficient);

  // The order's slot is the book's first.
  const OrderResult cancel = ImageWhileCauseStopped(
      *e, TestPoint::kCauseVisible, 0, [&] { return e->Cancel(7); }, [&] { ASSERT_TRUE(e->Take(s, 2).ok()); },
      dir.path(), image.path());
  ASSERT_TRUE(cancel.ok());

  const std::vector<Levels> whole = CheckEveryCut(image.path(), {"s"});
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].available, 0);
  EXPECT_EQ(whole[0].held, 0) << "the cancel is on disk with the take that used its units";
}

// The same for a return (sold -> available) and for an expiry run by the
// driver on another thread.
TEST_P(DurableOrderTest, ReturnThenTakeOfTheGiveBack) {
  GateGuard guard;
  TempDir dir, image;
  auto e = OpenOrDie(Options(dir.path()));
  ASSERT_TRUE(e->Define("s", 1).ok());
  const SkuHandle s = *e->Resolve("s");
  const OrderLine line{s, 1};
  ASSERT_TRUE(e->Reserve(9, {&line, 1}, 60'000).ok());
  // Committed on another thread: the return must land behind that commit too.
  ASSERT_TRUE(std::async(std::launch::async, [&] { return e->Commit(9); }).get().ok());

  const OrderResult ret = ImageWhileCauseStopped(
      *e, TestPoint::kCauseVisible, 0, [&] { return e->Return(9); }, [&] { ASSERT_TRUE(e->Take(s, 1).ok()); },
      dir.path(), image.path());
  ASSERT_TRUE(ret.ok());

  const std::vector<Levels> whole = CheckEveryCut(image.path(), {"s"});
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].available, 0);
  EXPECT_EQ(whole[0].sold, 0) << "the return is on disk with the take that used its units";
}

TEST_P(DurableOrderTest, ExpiryThenTakeOfTheGiveBack) {
  GateGuard guard;
  TempDir dir, image;
  auto e = OpenOrDie(Options(dir.path()));
  ASSERT_TRUE(e->Define("s", 3).ok());
  const SkuHandle s = *e->Resolve("s");
  const OrderLine line{s, 3};
  ASSERT_TRUE(e->Reserve(11, {&line, 1}, 5).ok());
  clock_.AdvanceMs(10);

  const std::size_t expired = ImageWhileCauseStopped(
      *e, TestPoint::kCauseVisible, 0, [&] { return e->SweepExpired(); }, [&] { ASSERT_TRUE(e->Take(s, 3).ok()); },
      dir.path(), image.path());
  ASSERT_EQ(expired, 1u);

  const std::vector<Levels> whole = CheckEveryCut(image.path(), {"s"});
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].available, 0);
  EXPECT_EQ(whole[0].held, 0) << "the expiry is on disk with the take that used its units";
}

// A lowered floor used by a backorder on another thread.
TEST_P(DurableOrderTest, FloorLoweredThenTakeBelowTheOldFloor) {
  GateGuard guard;
  TempDir dir, image;
  auto e = OpenOrDie(Options(dir.path()));
  ASSERT_TRUE(e->Define("s", 0).ok());
  const std::uint32_t s = e->Resolve("s")->index;

  Gate::Instance().Arm(TestPoint::kCauseQueued, s);
  auto queued = std::async(std::launch::async, [&] { return e->SetFloor("s", -5); });
  Gate::Instance().AwaitArrival();
  EXPECT_EQ(e->Take("s", 1).outcome, Outcome::kInsufficient) << "a floor not yet placed in the journal is not used";
  Gate::Instance().Release();
  ASSERT_TRUE(queued.get().ok());

  const StockResult lower = ImageWhileCauseStopped(
      *e, TestPoint::kCauseVisible, s, [&] { return e->SetFloor("s", -10); },
      [&] { ASSERT_TRUE(e->Take("s", 8).ok()); }, dir.path(), image.path());
  ASSERT_TRUE(lower.ok());

  const std::vector<Levels> whole = CheckEveryCut(image.path(), {"s"});
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].available, -8);
  EXPECT_EQ(whole[0].floor, -10);
}

// A take that read the old, lower floor is stopped after its CAS, before its
// record is pushed; a floor raise on another thread must not be journaled
// ahead of it, or replaying the file would check the take against the new
// floor and find it below.
TEST_P(DurableOrderTest, FloorRaiseWaitsForATakeThatReadTheOldFloor) {
  GateGuard guard;
  TempDir dir, image;
  auto e = OpenOrDie(Options(dir.path()));
  ASSERT_TRUE(e->Define("s", 0, -5).ok());
  const std::uint32_t s = e->Resolve("s")->index;

  Gate::Instance().Arm(TestPoint::kTakeApplied, s);
  auto take = std::async(std::launch::async, [&] { return e->Take("s", 3); });
  Gate::Instance().AwaitArrival();
  // The raise stores its floor, then must wait for the stopped take's record.
  Gate::Instance().Watch(TestPoint::kFloorStored, s);
  auto raise = std::async(std::launch::async, [&] { return e->SetFloor("s", 0); });
  Gate::Instance().AwaitWatched();
  Gate::Instance().Release();
  ASSERT_TRUE(take.get().ok());
  ASSERT_TRUE(raise.get().ok());
  EXPECT_EQ(e->Take("s", 1).outcome, Outcome::kInsufficient) << "the raised floor is in force";
  ASSERT_TRUE(e->Flush().ok());
  SnapshotImage(dir.path(), image.path());

  const std::vector<Levels> whole = CheckEveryCut(image.path(), {"s"});
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].available, -3);
  EXPECT_EQ(whole[0].floor, 0);
}

// A commit on another thread than the reserve's, pushed while the reserve's
// record may still sit unwritten in the reserving thread's ring: the close
// must never be in the file without its reserve.
TEST_P(DurableOrderTest, CrossThreadCloseLandsBehindItsReserve) {
  TempDir dir;
  auto e = OpenOrDie(Options(dir.path()));
  ASSERT_TRUE(e->Define("s", 1000).ok());
  const SkuHandle s = *e->Resolve("s");
  const OrderLine line{s, 1};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<OrderId> reserved;
  bool done = false;
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  constexpr OrderId kOrders = 50;  // each cut of the image is opened: keep sanitizer runs short
#else
  constexpr OrderId kOrders = 200;
#endif
  std::thread reserver([&] {
    for (OrderId id = 1; id <= kOrders; ++id) {
      ASSERT_TRUE(e->Reserve(id, {&line, 1}, 60'000).ok());
      std::lock_guard<std::mutex> lock(mu);
      reserved.push_back(id);
      cv.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    cv.notify_all();
  });
  std::size_t next = 0;
  while (true) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return next < reserved.size() || done; });
    if (next == reserved.size()) break;
    const OrderId id = reserved[next++];
    lock.unlock();
    ASSERT_TRUE((id % 2 == 0 ? e->Commit(id) : e->Cancel(id)).ok());
  }
  reserver.join();
  ASSERT_TRUE(e->Flush().ok());
  TempDir image;
  SnapshotImage(dir.path(), image.path());
  const std::vector<Levels> whole = CheckEveryCut(image.path(), {"s"});
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].available, 1000 - static_cast<std::int64_t>(kOrders) / 2);
  EXPECT_EQ(whole[0].sold, static_cast<std::int64_t>(kOrders) / 2);
}

INSTANTIATE_TEST_SUITE_P(Modes, DurableOrderTest, ::testing::Values(Durability::kSync, Durability::kAsync),
                         [](const auto& info) { return info.param == Durability::kSync ? "Sync" : "Async"; });

}  // namespace
}  // namespace flashstock
