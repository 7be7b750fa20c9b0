// Durable replies without blocking (Engine::PointThisThread, Check,
// SetDurableListener): what flashstock serve builds its sync replies on. A
// point turns durable only through a commit the listener is told about; a
// failed journal turns it failed, and the listener is told that too; a
// removed listener is never called again.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "flashstock/engine.h"
#include "gtest/gtest.h"
#include "base/file.h"
#include "journal_test_util.h"

namespace flashstock {
namespace {

using testing::JournalOptions;
using testing::OpenOrDie;
using testing::TempDir;
using State = Engine::PointState;

// Counts the journal's calls and lets a test wait, woken by them, until a
// point is settled (durable or failed).
class Recorder final : public Engine::DurableListener {
 public:
  void OnJournalProgress() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls_;
    }
    cv_.notify_all();
  }
  // The listener runs after the journal publishes, and takes mu_: a check
  // made under mu_ that sees a point pending is followed by a call.
  State WaitSettled(const Engine& e, const Engine::DurablePoint& point) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return e.Check(point) != State::kPending; });
    return e.Check(point);
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
};

TEST(DurablePointTest, WithoutAJournalEveryPointIsDurable) {
  EngineOptions o;
  o.skus_max = 16;
  auto e = OpenOrDie(o);
  ASSERT_TRUE(e->Define("a", 5).ok());
  ASSERT_TRUE(e->Take("a", 1).ok());
  EXPECT_EQ(e->Check(e->PointThisThread()), State::kDurable);
  Recorder r;
  e->SetDurableListener(&r);  // a no-op: nothing will ever call it
  e->RequestCommit();
  e->SetDurableListener(nullptr);
  EXPECT_EQ(r.calls(), 0);
}

TEST(DurablePointTest, AnAsyncTakeTurnsDurableThroughACommitTheListenerReports) {
  TempDir dir;
  auto e = OpenOrDie(JournalOptions(dir.path(), Durability::kAsync));
  Recorder r;
  e->SetDurableListener(&r);
  ASSERT_TRUE(e->Define("a", 100).ok());
  for (int round = 0; round < 20; ++round) {
    const int calls_before = r.calls();
    ASSERT_TRUE(e->Take("a", 1).ok());
    const Engine::DurablePoint point = e->PointThisThread();
    e->RequestCommit();
    ASSERT_EQ(r.WaitSettled(*e, point), State::kDurable) << "round " << round;
    EXPECT_GT(r.calls(), calls_before) << "durable only through a reported commit";
  }
  e->SetDurableListener(nullptr);
  const int calls_after_removal = r.calls();
  ASSERT_TRUE(e->Take("a", 1).ok());
  ASSERT_TRUE(e->Flush().ok());
  EXPECT_EQ(r.calls(), calls_after_removal);
  e.reset();
  auto reopened = OpenOrDie(JournalOptions(dir.path(), Durability::kAsync));
  EXPECT_EQ(reopened->Level("a").available, 100 - 21);
}

// A point covers the defines and floor changes of every thread, not only
// the calling thread's own stream.
TEST(DurablePointTest, APointCoversEveryThreadsControlRecords) {
  TempDir dir;
  auto e = OpenOrDie(JournalOptions(dir.path(), Durability::kAsync));
  Recorder r;
  e->SetDurableListener(&r);
  std::thread other([&] { ASSERT_TRUE(e->Define("b", 7).ok()); });
  other.join();
  const Engine::DurablePoint point = e->PointThisThread();
  EXPECT_GT(point.control_seq, 0u);
  e->RequestCommit();
  ASSERT_EQ(r.WaitSettled(*e, point), State::kDurable);
  e->SetDurableListener(nullptr);
}

// An fdatasync that fails at each of the first calls in turn: the point
// settles (durable if its commit came before the failure, failed if not),
// and a failure is reported to the listener with the engine read-only.
TEST(DurablePointTest, AFailedJournalSettlesThePointAsFailedAndTellsTheListener) {
  int failed = 0;
  for (std::int64_t nth = 1; nth <= 8; ++nth) {
    SCOPED_TRACE("fdatasync " + std::to_string(nth) + " fails");
    TempDir dir;
    internal::FaultInjectingFileSystem fs;
    fs.Arm(internal::FaultInjectingFileSystem::Fault::kSyncIo, nth);
    EngineOptions o = JournalOptions(dir.path(), Durability::kAsync);
    o.file_system = &fs;
    absl::StatusOr<std::unique_ptr<Engine>> opened = Engine::Open(o);
    if (!opened.ok()) continue;  // the failing sync was one of Open's own
    Engine& e = **opened;
    Recorder r;
    e.SetDurableListener(&r);
    if (e.Define("a", 10).ok()) {
      for (int i = 0; i < 3; ++i) (void)e.Take("a", 1);
    }
    const Engine::DurablePoint point = e.PointThisThread();
    e.RequestCommit();
    const State s = r.WaitSettled(e, point);
    ASSERT_NE(s, State::kPending);
    if (s == State::kFailed) {
      ++failed;
      EXPECT_NE(e.read_only_reason().find("injected"), std::string::npos) << e.read_only_reason();
      EXPECT_GT(r.calls(), 0);
    }
    e.SetDurableListener(nullptr);
  }
  EXPECT_GT(failed, 0) << "no run failed a sync the point depended on";
}

}  // namespace
}  // namespace flashstock
