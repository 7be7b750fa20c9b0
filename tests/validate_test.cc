// One validator per input (flashstock/validate.h): the same command gets the
// same answer with and without a journal, limits are tested at their edges,
// and EngineOptions out of range are refused by Open, not by an abort.
#include <string>
#include <vector>

#include "flashstock/engine.h"
#include "flashstock/validate.h"
#include "gtest/gtest.h"
#include "base/file.h"
#include "journal/journal_format.h"
#include "journal_test_util.h"

namespace flashstock {
namespace {

using testing::OpenOrDie;
using testing::TempDir;

TEST(ValidateTest, LimitsAtTheirEdges) {
  EXPECT_EQ(ValidateLevel(kLevelMax), Outcome::kOk);
  EXPECT_EQ(ValidateLevel(kLevelMax + 1), Outcome::kInvalidQuantity);
  EXPECT_EQ(ValidateLevel(0), Outcome::kOk);
  EXPECT_EQ(ValidateLevel(-1), Outcome::kInvalidQuantity);
  EXPECT_EQ(ValidateFloor(0), Outcome::kOk);
  EXPECT_EQ(ValidateFloor(1), Outcome::kInvalidQuantity);
  EXPECT_EQ(ValidateFloor(kFloorMin), Outcome::kOk);
  EXPECT_EQ(ValidateName(std::string(kNameBytesMax, 'n')), Outcome::kOk);
  EXPECT_EQ(ValidateName(std::string(kNameBytesMax + 1, 'n')), Outcome::kInvalidName);
  EXPECT_EQ(ValidateName(""), Outcome::kInvalidName);
  EXPECT_EQ(ValidateQuantity(1), Outcome::kOk);
  EXPECT_EQ(ValidateQuantity(0), Outcome::kInvalidQuantity);
  EXPECT_EQ(ValidateOrderLineQuantity(kOrderLineQuantityMax), Outcome::kOk);
  EXPECT_EQ(ValidateOrderLineQuantity(kOrderLineQuantityMax + 1), Outcome::kInvalidQuantity);
  EXPECT_EQ(ValidateReserveShape(1, kHoldTtlMsMax, 1), Outcome::kOk);
  EXPECT_EQ(ValidateReserveShape(1, kHoldTtlMsMax + 1, 1), Outcome::kInvalidOrder);
  EXPECT_EQ(ValidateReserveShape(1, kHoldTtlMsMin - 1, 1), Outcome::kInvalidOrder);
  EXPECT_EQ(ValidateReserveShape(0, kHoldTtlMsMin, 1), Outcome::kInvalidOrder);
  EXPECT_EQ(ValidateLineCount(kOrderLinesMax), Outcome::kOk);
  EXPECT_EQ(ValidateLineCount(kOrderLinesMax + 1), Outcome::kInvalidOrder);
  EXPECT_TRUE(ValidOperatorRetentionMs(kOrderRetentionMsOperatorMin));
  EXPECT_FALSE(ValidOperatorRetentionMs(kOrderRetentionMsOperatorMin - 1));
  EXPECT_TRUE(ValidOperatorRetentionMs(kOrderRetentionMsMax));
  EXPECT_FALSE(ValidOperatorRetentionMs(kOrderRetentionMsMax + 1));
  EXPECT_TRUE(ValidOrderRetentionMs(0));
  EXPECT_FALSE(ValidOrderRetentionMs(-1));
}

// The answers one engine gives to defines at and around the level ceiling.
std::vector<Outcome> DefineAnswers(Engine& e) {
  std::vector<Outcome> out;
  out.push_back(e.Define("top", kLevelMax).outcome);
  out.push_back(e.Define("over", kLevelMax + 1).outcome);
  out.push_back(e.Define("top", kLevelMax + 1).outcome);  // existing name, bad level: the level first
  out.push_back(e.Define("top", 5).outcome);
  out.push_back(e.Define("", kLevelMax + 1).outcome);     // bad name and level: the name first
  out.push_back(e.Define("neg", 5, 1).outcome);
  const Engine::SkuDefinition many[] = {{"m1", 1, 0}, {"top", kLevelMax + 1, 0}};
  const Engine::DefineManyResult r = e.DefineMany(many);
  out.push_back(r.outcome);
  out.push_back(static_cast<Outcome>(r.failed_at));
  return out;
}

// Above the ceiling a journaled define must be refused before its record is
// written, the same as without a journal (it once aborted after the record
// was durable).
TEST(ValidateTest, DefineAtTheLevelCeilingAnswersAlikeWithAndWithoutJournal) {
  const std::vector<Outcome> want = {Outcome::kOk,           Outcome::kInvalidQuantity, Outcome::kInvalidQuantity,
                                     Outcome::kAlreadyDefined, Outcome::kInvalidName,   Outcome::kInvalidQuantity,
                                     Outcome::kInvalidQuantity, static_cast<Outcome>(1)};
  Engine bare({.skus_max = 16});
  EXPECT_EQ(DefineAnswers(bare), want);
  TempDir dir;
  {
    std::unique_ptr<Engine> journaled = OpenOrDie(testing::JournalOptions(dir.path()));
    EXPECT_EQ(DefineAnswers(*journaled), want);
  }
  // Nothing refused reached the journal: it reopens with the one SKU.
  std::unique_ptr<Engine> reopened = OpenOrDie(testing::JournalOptions(dir.path()));
  EXPECT_EQ(reopened->sku_count(), 1u);
  EXPECT_EQ(reopened->Level("top").available, kLevelMax);
}

TEST(ValidateTest, OpenRefusesOptionsOutOfRange) {
  EngineOptions o;
  o.order_retention_ms = kOrderRetentionMsMax + 1;
  EXPECT_EQ(Engine::Open(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.order_retention_ms = -1;
  EXPECT_EQ(Engine::Open(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.order_retention_ms = kOrderRetentionMsMax;
  EXPECT_TRUE(Engine::Open(o).ok());
  o.orders_max = 0;
  EXPECT_EQ(Engine::Open(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.orders_max = kOrdersMaxLimit + 1;
  EXPECT_EQ(Engine::Open(o).status().code(), absl::StatusCode::kInvalidArgument);
}

// Recovery makes its repair durable through the injected file system, not
// the real one (it once used the real one, so fault injection missed it). The repair (cutting a torn tail) is the first thing
// that reaches the file system, before the writer opens its segment.
class RecordingFileSystem : public internal::FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<internal::WritableFile>> NewWritableFile(const std::string& path,
                                                                          std::uint64_t preallocate) override {
    calls.push_back("new");
    return internal::FileSystem::NewWritableFile(path, preallocate);
  }
  absl::Status SyncDir(const std::string& dir) override {
    calls.push_back("syncdir");
    return internal::FileSystem::SyncDir(dir);
  }
  std::vector<std::string> calls;
};

TEST(ValidateTest, RecoveryRepairsThroughTheInjectedFileSystem) {
  TempDir dir;
  {
    std::unique_ptr<Engine> e = OpenOrDie(testing::JournalOptions(dir.path()));
    ASSERT_TRUE(e->Define("a", 5).ok());
  }
  const std::string segment = dir / journal::SegmentFileName(1);
  testing::WriteBytes(segment, testing::ReadBytes(segment) + std::string(5, '\x01'));  // a torn record header
  RecordingFileSystem fs;
  EngineOptions o = testing::JournalOptions(dir.path());
  o.file_system = &fs;
  std::unique_ptr<Engine> e = OpenOrDie(o);
  ASSERT_FALSE(fs.calls.empty());
  EXPECT_EQ(fs.calls.front(), "syncdir");
  EXPECT_NE(e->recovery_summary().find("torn tail"), std::string::npos);
}

}  // namespace
}  // namespace flashstock
