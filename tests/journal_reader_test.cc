// The reader against damage: the newest segment cut at every byte offset
// (a torn tail: recovered up to the last whole record, reported, repaired),
// a bit flipped in every bit of every record type (corruption: refused with
// the file and offset; --salvage opens up to it), zero-filled tails, damage
// in an older segment, and damaged snapshots.
#include <filesystem>
#include <string>
#include <vector>

#include "flashstock/engine.h"
#include "gtest/gtest.h"
#include "journal/journal_reader.h"
#include "journal_test_util.h"
#include "journal/recovery.h"

namespace flashstock {
namespace {

using journal::Record;
using journal::RecordType;
using testing::JournalOptions;
using testing::OpenOrDie;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;

// A journal holding every record type, in one segment.
class DamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    {
      auto e = OpenOrDie(JournalOptions(golden_.path(), Durability::kSync));
      ASSERT_TRUE(e->Define("tee", 100).ok());
      ASSERT_TRUE(e->Take("tee", 3).ok());
      ASSERT_TRUE(e->Define("a-rather-longer-sku-name-for-padding", 7, -2).ok());
      ASSERT_TRUE(e->Restock("tee", 10).ok());
      ASSERT_TRUE(e->SetFloor("tee", -4).ok());
      ASSERT_TRUE(e->TakeUpTo("a-rather-longer-sku-name-for-padding", 100).ok());
      ASSERT_TRUE(e->Take("tee", 1).ok());
    }
    absl::StatusOr<std::vector<journal::SegmentFile>> segs = journal::ListSegments(golden_.path());
    ASSERT_TRUE(segs.ok());
    ASSERT_EQ(segs->size(), 1u);
    segment_ = (*segs)[0].name;
    bytes_ = ReadBytes(golden_ / segment_);
    journal::SegmentReader reader(bytes_, true);
    ASSERT_TRUE(reader.ReadHeader());
    Record r;
    while (reader.Next(&r)) records_.push_back(r);
    ASSERT_EQ(reader.end(), journal::SegmentReader::End::kClean);
    ASSERT_EQ(records_.size(), 7u);
  }

  // The state folded from the records wholly inside bytes [0, end).
  journal::JournalState StateUpTo(std::uint64_t end) const {
    journal::JournalState s;
    for (const Record& r : records_) {
      if (r.offset + r.bytes > end) break;
      EXPECT_TRUE(s.Apply(r).ok());
    }
    return s;
  }
  // The end of the last whole record at or before `cut`.
  std::uint64_t ValidEnd(std::uint64_t cut) const {
    std::uint64_t end = journal::kSegmentHeaderBytes;
    for (const Record& r : records_) {
      if (r.offset + r.bytes <= cut) end = r.offset + r.bytes;
    }
    return end;
  }
  // A copy of the journal whose segment holds `bytes`.
  std::unique_ptr<TempDir> With(const std::string& bytes) const {
    auto dir = std::make_unique<TempDir>();
    WriteBytes(*dir / segment_, bytes);
    return dir;
  }

  TempDir golden_;
  std::string segment_;
  std::string bytes_;
  std::vector<Record> records_;
};

TEST_F(DamageTest, CutAtEveryOffsetIsATornTail) {
  for (std::uint64_t cut = 0; cut < bytes_.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    auto dir = With(bytes_.substr(0, cut));
    journal::RecoveryOptions ro;
    absl::StatusOr<journal::Recovered> r = journal::Recover(dir->path(), ro);
    ASSERT_TRUE(r.ok()) << r.status();
    const std::uint64_t valid = ValidEnd(cut);
    const bool at_boundary = cut == valid && cut >= journal::kSegmentHeaderBytes;
    EXPECT_EQ(r->report.torn_tail, !at_boundary) << r->report.Summary();
    EXPECT_FALSE(r->report.salvaged);
    if (!at_boundary) {
      EXPECT_EQ(r->report.dropped_bytes, cut >= journal::kSegmentHeaderBytes ? cut - valid : cut);
    }
    EXPECT_EQ(r->state, StateUpTo(cut));
    // Repaired: the second open is clean and gives the same state.
    absl::StatusOr<journal::Recovered> again = journal::Recover(dir->path(), ro);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_FALSE(again->report.torn_tail) << again->report.Summary();
    EXPECT_EQ(again->state, r->state);
  }
}

TEST_F(DamageTest, ABitFlippedAnywhereInAnyRecordIsCorruption) {
  std::vector<bool> seen_type(8, false);
  for (std::size_t k = 0; k < records_.size(); ++k) {
    const Record& rec = records_[k];
    seen_type[static_cast<int>(rec.type)] = true;
    for (std::uint64_t bit = 0; bit < rec.bytes * 8u; ++bit) {
      SCOPED_TRACE("record " + std::to_string(k) + " bit " + std::to_string(bit));
      std::string damaged = bytes_;
      damaged[rec.offset + bit / 8] = static_cast<char>(damaged[rec.offset + bit / 8] ^ (1 << (bit % 8)));
      auto dir = With(damaged);
      journal::RecoveryOptions ro;
      ro.repair = false;
      absl::StatusOr<journal::Recovered> refused = journal::Recover(dir->path(), ro);
      ASSERT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
      const std::string message(refused.status().message());
      EXPECT_NE(message.find(segment_ + " at offset " + std::to_string(rec.offset) + ":"), std::string::npos)
          << message;
      ro.salvage = true;
      ro.repair = true;
      absl::StatusOr<journal::Recovered> salvaged = journal::Recover(dir->path(), ro);
      ASSERT_TRUE(salvaged.ok()) << salvaged.status();
      EXPECT_TRUE(salvaged->report.salvaged);
      EXPECT_FALSE(salvaged->report.torn_tail);
      EXPECT_EQ(salvaged->report.dropped_bytes, bytes_.size() - rec.offset);
      EXPECT_EQ(salvaged->state, StateUpTo(rec.offset));
      ro.salvage = false;  // salvage repaired the file: it now opens cleanly
      absl::StatusOr<journal::Recovered> after = journal::Recover(dir->path(), ro);
      ASSERT_TRUE(after.ok()) << after.status();
      EXPECT_EQ(after->state, StateUpTo(rec.offset));
    }
  }
  for (RecordType t : {RecordType::kDefine, RecordType::kTake, RecordType::kRestock, RecordType::kSetFloor}) {
    EXPECT_TRUE(seen_type[static_cast<int>(t)]) << static_cast<int>(t);
  }
}

TEST_F(DamageTest, HeaderDamageIsCorruption) {
  for (std::uint64_t bit = 0; bit < journal::kSegmentHeaderBytes * 8; ++bit) {
    std::string damaged = bytes_;
    damaged[bit / 8] = static_cast<char>(damaged[bit / 8] ^ (1 << (bit % 8)));
    auto dir = With(damaged);
    journal::RecoveryOptions ro;
    ro.repair = false;
    EXPECT_EQ(journal::Recover(dir->path(), ro).status().code(), absl::StatusCode::kDataLoss) << bit;
  }
}

TEST_F(DamageTest, ZeroFilledTailIsTorn) {
  auto dir = With(bytes_ + std::string(4096, '\0'));
  absl::StatusOr<journal::Recovered> r = journal::Recover(dir->path(), {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->report.torn_tail);
  EXPECT_EQ(r->report.dropped_bytes, 4096u);
  EXPECT_EQ(r->state, StateUpTo(bytes_.size()));
  // Zeros followed by anything else are not a crash artifact.
  auto dir2 = With(bytes_ + std::string(64, '\0') + "x");
  EXPECT_EQ(journal::Recover(dir2->path(), {}).status().code(), absl::StatusCode::kDataLoss);
}

// A write into the segment's pre-extended (zero) space that a SIGKILL or a
// crash stops part-way ends on a kTornWriteAlignment boundary: the record
// being written keeps its bytes up to that boundary and reads as zeros after
// it. Records of varying length (DEFINEs of names of every length) put such
// boundaries inside headers and payloads of every kind of record.
class SectorCutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    {
      auto e = OpenOrDie(JournalOptions(golden_.path(), Durability::kSync));
      for (int i = 0; i < 40; ++i) {
        const std::string name = "sku-" + std::string(static_cast<std::size_t>(i % 50), 'n') + std::to_string(i);
        ASSERT_TRUE(e->Define(name, 1000 + i).ok());
        ASSERT_TRUE(e->Take(name, 1 + i % 3).ok());
        if (i % 3 == 0) {
          ASSERT_TRUE(e->Restock(name, 2).ok());
        }
      }
    }
    absl::StatusOr<std::vector<journal::SegmentFile>> segs = journal::ListSegments(golden_.path());
    ASSERT_TRUE(segs.ok());
    ASSERT_EQ(segs->size(), 1u);
    segment_ = (*segs)[0].name;
    bytes_ = ReadBytes(golden_ / segment_);
    journal::SegmentReader reader(bytes_, true);
    ASSERT_TRUE(reader.ReadHeader());
    Record r;
    while (reader.Next(&r)) records_.push_back(r);
    ASSERT_EQ(reader.end(), journal::SegmentReader::End::kClean);
  }

  journal::JournalState StateUpTo(std::uint64_t end) const {
    journal::JournalState s;
    for (const Record& r : records_) {
      if (r.offset + r.bytes > end) break;
      EXPECT_TRUE(s.Apply(r).ok());
    }
    return s;
  }
  // The segment's bytes up to `cut`, then zeros to a page past the original end.
  std::string CutThenZeros(std::uint64_t cut) const {
    std::string b = bytes_.substr(0, cut);
    b.resize(bytes_.size() + 4096, '\0');
    return b;
  }

  TempDir golden_;
  std::string segment_;
  std::string bytes_;
  std::vector<Record> records_;
};

TEST_F(SectorCutTest, ARecordCutAtASectorBoundaryIsATornTail) {
  int cuts = 0;
  int cuts_in_header = 0;
  for (const Record& rec : records_) {
    const std::uint64_t a = journal::kTornWriteAlignment;
    for (std::uint64_t cut = (rec.offset / a + 1) * a; cut < rec.offset + rec.bytes; cut += a) {
      SCOPED_TRACE("record at " + std::to_string(rec.offset) + " cut at " + std::to_string(cut));
      ++cuts;
      if (cut < rec.offset + journal::kRecordHeaderBytes) ++cuts_in_header;
      TempDir dir;
      WriteBytes(dir / segment_, CutThenZeros(cut));
      journal::RecoveryOptions ro;
      absl::StatusOr<journal::Recovered> r = journal::Recover(dir.path(), ro);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_TRUE(r->report.torn_tail) << r->report.Summary();
      EXPECT_EQ(r->report.dropped_bytes, bytes_.size() + 4096 - rec.offset);
      EXPECT_EQ(r->state, StateUpTo(rec.offset));
      absl::StatusOr<journal::Recovered> again = journal::Recover(dir.path(), ro);
      ASSERT_TRUE(again.ok()) << again.status();
      EXPECT_FALSE(again->report.torn_tail) << again->report.Summary();
      EXPECT_EQ(again->state, r->state);
    }
  }
  EXPECT_GE(cuts, 5);            // the journal spans several sectors
  EXPECT_GE(cuts_in_header, 1);  // and some boundary falls inside a header
}

TEST_F(SectorCutTest, ZerosAfterTheCutThenAnythingElseIsCorruption) {
  for (const Record& rec : records_) {
    const std::uint64_t cut = (rec.offset / journal::kTornWriteAlignment + 1) * journal::kTornWriteAlignment;
    if (cut >= rec.offset + rec.bytes) continue;
    std::string damaged = CutThenZeros(cut);
    damaged.back() = 'x';
    TempDir dir;
    WriteBytes(dir / segment_, damaged);
    journal::RecoveryOptions ro;
    ro.repair = false;
    absl::StatusOr<journal::Recovered> r = journal::Recover(dir.path(), ro);
    ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << cut;
    EXPECT_NE(std::string(r.status().message()).find(" at offset " + std::to_string(rec.offset) + ":"),
              std::string::npos)
        << r.status();
  }
}

TEST_F(SectorCutTest, ASectorCutInAnOlderSegmentIsCorruption) {
  const Record* straddling = nullptr;
  for (const Record& rec : records_) {
    if (rec.offset / journal::kTornWriteAlignment != (rec.offset + rec.bytes - 1) / journal::kTornWriteAlignment) {
      straddling = &rec;
      break;
    }
  }
  ASSERT_NE(straddling, nullptr);
  const std::uint64_t cut = (straddling->offset / journal::kTornWriteAlignment + 1) * journal::kTornWriteAlignment;
  TempDir dir;
  WriteBytes(dir / segment_, CutThenZeros(cut));
  char header[journal::kSegmentHeaderBytes];
  journal::EncodeSegmentHeader(header, records_.back().sequence + 1);
  WriteBytes(dir / journal::SegmentFileName(records_.back().sequence + 1), std::string(header, sizeof(header)));
  journal::RecoveryOptions ro;
  ro.repair = false;
  EXPECT_EQ(journal::Recover(dir.path(), ro).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(DamageTest, DamageInAnOlderSegmentIsNeverATornTail) {
  // A second (empty) segment after the first makes the first one not the newest.
  auto dir = With(bytes_.substr(0, bytes_.size() - 5));
  char header[journal::kSegmentHeaderBytes];
  journal::EncodeSegmentHeader(header, records_.back().sequence + 1);
  WriteBytes(*dir / journal::SegmentFileName(records_.back().sequence + 1), std::string(header, sizeof(header)));
  journal::RecoveryOptions ro;
  ro.repair = false;
  absl::StatusOr<journal::Recovered> r = journal::Recover(dir->path(), ro);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(r.status().message()).find(segment_), std::string::npos);
  ro.salvage = true;
  ro.repair = true;
  r = journal::Recover(dir->path(), ro);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->report.dropped_files.size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(*dir / (journal::SegmentFileName(records_.back().sequence + 1) + ".dropped")));
}

TEST_F(DamageTest, EngineOpenRefusesAndSalvages) {
  std::string damaged = bytes_;
  damaged[records_[3].offset + 20] ^= 0x10;
  auto dir = With(damaged);
  EngineOptions o = JournalOptions(dir->path());
  absl::StatusOr<std::unique_ptr<Engine>> e = Engine::Open(o);
  ASSERT_EQ(e.status().code(), absl::StatusCode::kDataLoss);
  o.salvage = true;
  e = Engine::Open(o);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_NE((*e)->recovery_summary().find("SALVAGED"), std::string::npos);
  EXPECT_EQ((*e)->Level("tee").available, 97);  // define, take 3; the restock was dropped
}

TEST_F(DamageTest, DamagedSnapshotIsRefused) {
  TempDir dir;
  testing::CopyDir(golden_.path(), dir.path());
  {
    auto e = OpenOrDie(JournalOptions(dir.path()));
    ASSERT_TRUE(e->Checkpoint().ok());
  }
  std::string snap;
  for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
    if (f.path().extension() == ".snap") snap = f.path().string();
  }
  ASSERT_FALSE(snap.empty());
  std::string bytes = ReadBytes(snap);
  for (std::size_t i = 0; i < bytes.size(); i += 7) {
    std::string damaged = bytes;
    damaged[i] ^= 0x01;
    WriteBytes(snap, damaged);
    absl::StatusOr<journal::Recovered> r = journal::Recover(dir.path(), {});
    ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << i;
    EXPECT_NE(std::string(r.status().message()).find(".snap"), std::string::npos);
  }
  WriteBytes(snap, bytes);
  auto e = OpenOrDie(JournalOptions(dir.path()));
  EXPECT_EQ(e->Level("tee").available, 106);
}

}  // namespace
}  // namespace flashstock
