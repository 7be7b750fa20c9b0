// Fault injection: ENOSPC and EIO on write, and a failing fdatasync, at the
// Nth call for every N over a short sync-mode run. Each time: a clear error,
// nothing acknowledged that is not durable, the engine read-only from the
// failure on (levels still answered), and recovery afterwards gives the
// acknowledged state plus at most the one change in flight.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flashstock/engine.h"
#include "gtest/gtest.h"
#include "base/file.h"
#include "journal_test_util.h"

namespace flashstock {
namespace {

using internal::FaultInjectingFileSystem;
using testing::JournalOptions;
using testing::OpenOrDie;
using testing::TempDir;

struct Sku {
  std::int64_t level;
  std::int64_t floor;
  bool operator==(const Sku&) const = default;
};
using Model = std::map<std::string, Sku>;

enum class Op { kDefine, kTake, kTakeUpTo, kRestock, kFloor };
struct Step {
  Op op;
  std::string sku;
  std::int64_t q;
};

std::vector<Step> Script() {
  std::vector<Step> s = {{Op::kDefine, "a", 100}, {Op::kDefine, "b", 50}};
  for (int i = 0; i < 12; ++i) {
    s.push_back({Op::kTake, i % 2 ? "a" : "b", 1 + i % 3});
    s.push_back({Op::kRestock, "a", 2});
    if (i % 4 == 0) s.push_back({Op::kFloor, "b", -i});
    if (i % 5 == 0) s.push_back({Op::kTakeUpTo, "a", 7});
    if (i == 6) s.push_back({Op::kDefine, "c", 5});
  }
  return s;
}

// The model after `step` succeeds (TakeUpTo takes what the model allows).
Model Applied(Model m, const Step& step) {
  switch (step.op) {
    case Op::kDefine: m[step.sku] = {step.q, 0}; break;
    case Op::kTake: m[step.sku].level -= step.q; break;
    case Op::kTakeUpTo: {
      Sku& s = m[step.sku];
      s.level -= std::max<std::int64_t>(0, std::min(step.q, s.level - s.floor));
      break;
    }
    case Op::kRestock: m[step.sku].level += step.q; break;
    case Op::kFloor: m[step.sku].floor = step.q; break;
  }
  return m;
}

StockResult RunStep(Engine& e, const Step& step) {
  switch (step.op) {
    case Op::kDefine: return e.Define(step.sku, step.q);
    case Op::kTake: return e.Take(step.sku, step.q);
    case Op::kTakeUpTo: return e.TakeUpTo(step.sku, step.q);
    case Op::kRestock: return e.Restock(step.sku, step.q);
    case Op::kFloor: return e.SetFloor(step.sku, step.q);
  }
  return {};
}

Model StateOf(Engine& e) {
  Model m;
  for (const char* name : {"a", "b", "c"}) {
    if (std::optional<SkuHandle> h = e.Resolve(name)) m[name] = {e.Level(*h).available, *e.Floor(*h)};
  }
  return m;
}

class FaultTest : public ::testing::TestWithParam<FaultInjectingFileSystem::Fault> {};

TEST_P(FaultTest, EveryNthCall) {
  const std::vector<Step> script = Script();
  int fired = 0;
  for (std::int64_t nth = 1;; ++nth) {
    SCOPED_TRACE("fault at call " + std::to_string(nth));
    TempDir dir;
    FaultInjectingFileSystem fs;
    fs.Arm(GetParam(), nth);
    EngineOptions o = JournalOptions(dir.path(), Durability::kSync);
    o.file_system = &fs;
    Model acked;
    std::optional<Model> maybe;  // acked plus the change in flight at the failure
    {
      absl::StatusOr<std::unique_ptr<Engine>> opened = Engine::Open(o);
      if (!opened.ok()) {
        EXPECT_TRUE(fs.fired());
        EXPECT_NE(std::string(opened.status().message()).find("injected"), std::string::npos) << opened.status();
      } else {
        Engine& e = **opened;
        bool read_only = false;
        for (const Step& step : script) {
          if (step.op != Op::kDefine && !acked.contains(step.sku)) continue;
          const StockResult r = RunStep(e, step);
          if (read_only) {
            EXPECT_EQ(r.outcome, step.op == Op::kDefine && acked.contains(step.sku) ? Outcome::kAlreadyDefined
                                                                                     : Outcome::kReadOnly);
            continue;
          }
          if (r.outcome == Outcome::kReadOnly) {
            read_only = true;
            maybe = Applied(acked, step);
            EXPECT_NE(e.read_only_reason().find("injected"), std::string::npos) << e.read_only_reason();
            EXPECT_EQ(StateOf(e), acked) << "a refused change stays out of memory";
            continue;
          }
          ASSERT_EQ(r.outcome, Outcome::kOk) << OutcomeCode(r.outcome);
          acked = Applied(acked, step);
        }
        if (read_only) {
          for (const auto& [name, sku] : acked) EXPECT_EQ(e.Level(name).available, sku.level);  // reads answered
          EXPECT_FALSE(e.Flush().ok());
        } else {
          EXPECT_TRUE(e.read_only_reason().empty());
        }
      }
    }
    if (!fs.fired()) break;  // the run made fewer than nth calls: every N covered
    ++fired;
    auto e = OpenOrDie(JournalOptions(dir.path(), Durability::kSync));
    const Model recovered = StateOf(*e);
    EXPECT_TRUE(recovered == acked || (maybe.has_value() && recovered == *maybe)) << e->recovery_summary();
    // The recovered engine is writable again.
    if (recovered.contains("a")) {
      EXPECT_TRUE(e->Restock("a", 1).ok());
    }
  }
  EXPECT_GT(fired, 10);
}

INSTANTIATE_TEST_SUITE_P(Faults, FaultTest,
                         ::testing::Values(FaultInjectingFileSystem::Fault::kWriteNoSpace,
                                           FaultInjectingFileSystem::Fault::kWriteIo,
                                           FaultInjectingFileSystem::Fault::kSyncIo));

// A full disk while growing the segment ahead of its records comes after
// the fdatasync: what was synced is durable and must be acknowledged, and
// the engine must stay writable (the next append meets the disk itself).
TEST(GrowFaultTest, AFullDiskWhilePreallocatingLosesNothingAndStaysWritable) {
  for (std::int64_t nth = 1; nth <= 4; ++nth) {
    TempDir dir;
    FaultInjectingFileSystem fs;
    fs.Arm(FaultInjectingFileSystem::Fault::kGrowNoSpace, nth);
    EngineOptions o = JournalOptions(dir.path(), Durability::kSync);
    o.file_system = &fs;
    {
      auto e = OpenOrDie(o);
      ASSERT_TRUE(e->Define("a", 100).ok()) << "nth " << nth;
      for (int i = 0; i < 20; ++i) ASSERT_TRUE(e->Take("a", 1).ok()) << "nth " << nth << " take " << i;
      EXPECT_TRUE(fs.fired()) << nth;
      EXPECT_EQ(e->read_only_reason(), "") << nth;
    }
    auto e = OpenOrDie(JournalOptions(dir.path(), Durability::kSync));
    EXPECT_EQ(e->Level("a").available, 80) << nth;
  }
}

}  // namespace
}  // namespace flashstock
