// Recovery checks the rule (docs/design.md): a journal whose file order is
// not a history the engine could have gone through is damage. Each case
// writes one segment by hand with the format's own encoders, ending in one
// record that breaks the rule, and checks that `flashstock journal verify`
// reports a PROBLEM at that record's file and offset with exit status 1,
// that Engine::Open refuses it with DataLoss naming both, and that salvage
// opens exactly the records before it.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

#include "flashstock/engine.h"
#include "gtest/gtest.h"
#include "journal/journal_format.h"
#include "journal_test_util.h"
#include "journal/snapshot.h"

namespace flashstock {
namespace {

using journal::RecordType;
using testing::OpenOrDie;
using testing::TempDir;
using testing::WriteBytes;

// Builds one segment (first sequence 1) record by record.
class SegmentBuilder {
 public:
  SegmentBuilder() : bytes_(journal::kSegmentHeaderBytes, '\0') { journal::EncodeSegmentHeader(bytes_.data(), 1); }

  // Each returns the byte offset of the record it appended.
  std::size_t Define(std::string_view name, std::int64_t level, std::int64_t floor = 0) {
    return Append(journal::DefineRecordBytes(name.size()), [&](char* p) {
      journal::EncodeDefineRecord(p, seq_, skus_++, name, level, floor);
    });
  }
  std::size_t Stock(RecordType type, std::uint32_t sku, std::int64_t value) {
    return Append(journal::kStockRecordBytes, [&](char* p) { journal::EncodeStockRecord(p, type, seq_, sku, value); });
  }
  std::size_t Reserve(std::uint64_t id, std::int64_t deadline, std::initializer_list<journal::OrderLineRecord> l) {
    const std::vector<journal::OrderLineRecord> lines(l);
    return Append(journal::OrderReserveRecordBytes(lines.size()), [&](char* p) {
      journal::EncodeOrderReserveRecord(p, seq_, id, deadline, lines.data(), lines.size());
    });
  }
  std::size_t Close(RecordType type, std::uint64_t id, std::int64_t tag, std::int64_t at) {
    return Append(journal::kOrderCloseRecordBytes,
                  [&](char* p) { journal::EncodeOrderCloseRecord(p, type, seq_, id, tag, at); });
  }
  // Writes dir/<first segment name>; returns that name.
  std::string WriteTo(const std::string& dir) const {
    const std::string name = journal::SegmentFileName(1);
    WriteBytes(dir + "/" + name, bytes_);
    return name;
  }

 private:
  template <typename Encode>
  std::size_t Append(std::size_t n, Encode encode) {
    const std::size_t at = bytes_.size();
    bytes_.resize(at + n, '\0');
    encode(bytes_.data() + at);
    ++seq_;
    return at;
  }
  std::string bytes_;
  std::uint64_t seq_ = 1;
  std::uint32_t skus_ = 0;
};

constexpr std::int64_t kWall = 1'700'000'000'000'000'000;
constexpr std::int64_t kDeadline = kWall + 60'000'000'000;

struct Case {
  const char* name;
  // Appends the records; returns the offset of the one that breaks the rule.
  std::size_t (*build)(SegmentBuilder&);
  const char* why;  // part of the problem's text
};

const Case kCases[] = {
    {"take below the floor",
     [](SegmentBuilder& b) {
       b.Define("a", 5);
       b.Stock(RecordType::kTake, 0, 3);
       return b.Stock(RecordType::kTake, 0, 3);
     },
     "below its floor"},
    {"take below a raised floor in effect at that point",
     [](SegmentBuilder& b) {
       b.Define("a", 5, -10);
       b.Stock(RecordType::kTake, 0, 8);  // -3: fine under floor -10
       b.Stock(RecordType::kSetFloor, 0, -4);
       return b.Stock(RecordType::kTake, 0, 2);  // -5 < -4
     },
     "below its floor"},
    {"reserve line below the floor",
     [](SegmentBuilder& b) {
       b.Define("a", 5);
       b.Define("b", 1);
       return b.Reserve(7, kDeadline, {{0, 2}, {1, 2}});
     },
     "below its floor"},
    {"restock past INT64_MAX",
     [](SegmentBuilder& b) {
       b.Define("a", kLevelMax - 1);
       b.Stock(RecordType::kRestock, 0, kGiveBackHeadroom);  // up to the ceiling plus the headroom: fine
       return b.Stock(RecordType::kRestock, 0, 2);
     },
     "overflows the level"},
    {"commit of an unknown order",
     [](SegmentBuilder& b) {
       b.Define("a", 5);
       return b.Close(RecordType::kOrderCommit, 7, kDeadline, kWall);
     },
     "commit of unknown order 7"},
    {"cancel of an order that is not HELD",
     [](SegmentBuilder& b) {
       b.Define("a", 5);
       b.Reserve(7, kDeadline, {{0, 2}});
       b.Close(RecordType::kOrderCommit, 7, kDeadline, kWall);
       return b.Close(RecordType::kOrderCancel, 7, kDeadline, kWall + 1);
     },
     "that is COMMITTED, not HELD"},
    {"return of an order that is not COMMITTED",
     [](SegmentBuilder& b) {
       b.Define("a", 5);
       b.Reserve(7, kDeadline, {{0, 2}});
       return b.Close(RecordType::kOrderReturn, 7, kDeadline, kWall);
     },
     "that is HELD, not COMMITTED"},
    {"close naming another incarnation",
     [](SegmentBuilder& b) {
       b.Define("a", 5);
       b.Reserve(7, kDeadline, {{0, 2}});
       return b.Close(RecordType::kOrderCommit, 7, kDeadline + 1, kWall);
     },
     "names deadline"},
    {"reserve of an id still HELD",
     [](SegmentBuilder& b) {
       b.Define("a", 5);
       b.Reserve(7, kDeadline, {{0, 2}});
       return b.Reserve(7, kDeadline + 5, {{0, 1}});
     },
     "still HELD"},
    {"take of an unknown SKU index",
     [](SegmentBuilder& b) {
       b.Define("a", 5);
       return b.Stock(RecordType::kTake, 1, 1);
     },
     "undefined SKU index 1"},
    {"define above the level ceiling",
     [](SegmentBuilder& b) {
       b.Define("a", 5);
       return b.Define("big", kLevelMax + 1);
     },
     "the API refuses"},
};

// Runs `flashstock journal verify dir`; returns its exit status and output.
int Verify(const std::string& dir, std::string* out) {
  const std::string command = std::string(FLASHSTOCK_BIN) + " journal verify " + dir + " 2>&1";
  std::FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(RecoveryRuleTest, EveryBreachIsDamageAtItsFileAndOffset) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    SegmentBuilder b;
    const std::size_t bad_offset = c.build(b);
    const std::string segment = b.WriteTo(dir.path());
    const std::string where = segment + " at offset " + std::to_string(bad_offset) + ":";

    std::string out;
    EXPECT_EQ(Verify(dir.path(), &out), 1) << out;
    EXPECT_EQ(out.rfind("PROBLEM ", 0), 0u) << out;
    EXPECT_NE(out.find(where), std::string::npos) << out;
    EXPECT_NE(out.find(c.why), std::string::npos) << out;

    EngineOptions o = testing::JournalOptions(dir.path());
    absl::StatusOr<std::unique_ptr<Engine>> refused = Engine::Open(o);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(refused.status().message().find(where), std::string::npos) << refused.status();

    // Salvage opens the records before it, and cuts the file there.
    o.salvage = true;
    std::unique_ptr<Engine> salvaged = OpenOrDie(o);
    EXPECT_NE(salvaged->recovery_summary().find("SALVAGED: damage in " + segment + " at offset " +
                                                std::to_string(bad_offset)),
              std::string::npos)
        << salvaged->recovery_summary();
  }
}

// A snapshot carrying a value no history can produce (here a negative sold
// count, with valid checksums) is damage too, named by its file; so is a
// floor the API refuses.
TEST(RecoveryRuleTest, SnapshotValueTheApiRefusesIsDamage) {
  TempDir dir;
  {
    std::unique_ptr<Engine> e = OpenOrDie(testing::JournalOptions(dir.path()));
    ASSERT_TRUE(e->Define("a", 5).ok());
    ASSERT_TRUE(e->Checkpoint().ok());
  }
  std::string snapshot;
  for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
    if (f.path().extension() == ".snap") snapshot = f.path().filename().string();
  }
  ASSERT_FALSE(snapshot.empty());
  absl::StatusOr<journal::JournalState> state =
      journal::DecodeSnapshot(testing::ReadBytes(dir / snapshot));
  ASSERT_TRUE(state.ok()) << state.status();
  const journal::JournalState good = *state;
  for (int field = 0; field < 2; ++field) {
    journal::JournalState bad = good;
    (field == 0 ? bad.skus[0].sold : bad.skus[0].floor) = field == 0 ? -1 : 1;
    WriteBytes(dir / snapshot, journal::EncodeSnapshot(bad));
    const std::string why = field == 0 ? "negative sold count of SKU index 0" : "bad snapshot SKU floor";
    std::string out;
    EXPECT_EQ(Verify(dir.path(), &out), 1) << out;
    EXPECT_NE(out.find(snapshot + " at offset 0: " + why), std::string::npos) << out;
    absl::StatusOr<std::unique_ptr<Engine>> refused = Engine::Open(testing::JournalOptions(dir.path()));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(refused.status().message().find(snapshot), std::string::npos) << refused.status();
  }
}

// A version 1 snapshot (before one entry per id) still loads: an orphan
// close is dropped, and of two incarnations of one id the newest (latest
// deadline) is kept, the older one's committed units folded into the base.
TEST(RecoveryRuleTest, VersionOneSnapshotKeepsTheNewestIncarnation) {
  using journal::Put;
  std::string skus(17, '\0');
  Put<std::int64_t>(skus.data(), 10);  // base level
  Put<std::uint8_t>(skus.data() + 16, 1);
  skus += "a";
  std::string orders(16, '\0');
  Put<std::int64_t>(orders.data(), kWall);
  Put<std::uint64_t>(orders.data() + 8, 3);
  auto entry = [&orders](std::uint64_t id, std::int64_t deadline, OrderState state, bool reserved, std::uint32_t q) {
    char o[48] = {};
    Put<std::uint64_t>(o, id);
    Put<std::int64_t>(o + 8, deadline);
    Put<std::int64_t>(o + 16, kWall);
    Put<std::uint8_t>(o + 32, static_cast<std::uint8_t>(state));
    Put<std::uint8_t>(o + 33, reserved ? 1 : 0);
    Put<std::uint8_t>(o + 34, reserved ? 1 : 0);
    Put<std::uint32_t>(o + 44, q);  // line: sku 0, quantity q
    orders.append(o, reserved ? 48 : 40);
  };
  entry(5, kDeadline, OrderState::kCommitted, false, 0);  // an orphan close
  entry(7, kDeadline, OrderState::kCommitted, true, 2);   // the older incarnation
  entry(7, kDeadline + 9, OrderState::kHeld, true, 1);    // the newest
  std::string bytes(journal::kSnapshotHeaderBytes, '\0');
  Put<std::uint64_t>(bytes.data(), journal::kSnapshotMagic);
  Put<std::uint32_t>(bytes.data() + 8, 1);
  Put<std::uint64_t>(bytes.data() + 16, 1);
  Put<std::uint64_t>(bytes.data() + 24, 1);
  Put<std::uint32_t>(bytes.data() + 12, journal::Checksum32(bytes.data(), journal::kSnapshotHeaderBytes));
  auto section = [&bytes](journal::SectionType type, const std::string& payload) {
    char h[journal::kSectionHeaderBytes] = {};
    Put<std::uint32_t>(h, static_cast<std::uint32_t>(type));
    Put<std::uint64_t>(h + 8, payload.size());
    Put<std::uint64_t>(h + 16, journal::Hash64(payload.data(), payload.size()));
    bytes.append(h, sizeof(h));
    bytes += payload;
  };
  section(journal::SectionType::kSkus, skus);
  section(journal::SectionType::kOrders, orders);
  section(journal::SectionType::kEnd, "");
  absl::StatusOr<journal::JournalState> s = journal::DecodeSnapshot(bytes);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->orders.size(), 1u);
  EXPECT_EQ(s->orders.at(7).deadline, kDeadline + 9);
  EXPECT_EQ(s->Levels()[0], (journal::SkuLevels{7, 1, 2}));  // 10 - 2 sold - 1 held
  // Written again, it is a version 2 snapshot of the same state.
  absl::StatusOr<journal::JournalState> again = journal::DecodeSnapshot(journal::EncodeSnapshot(*s));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(*again == *s);
  EXPECT_EQ(journal::Get<std::uint32_t>(journal::EncodeSnapshot(*s).data() + 8), journal::kSnapshotVersion);
}

// Salvage stops exactly before the damage: the take that would go below the
// floor is not applied, the one before it is.
TEST(RecoveryRuleTest, SalvageKeepsThePrefixBeforeTheDamage) {
  TempDir dir;
  SegmentBuilder b;
  b.Define("a", 5);
  b.Stock(RecordType::kTake, 0, 3);
  b.Stock(RecordType::kTake, 0, 3);
  b.WriteTo(dir.path());
  EngineOptions o = testing::JournalOptions(dir.path());
  o.salvage = true;
  {
    std::unique_ptr<Engine> e = OpenOrDie(o);
    EXPECT_EQ(e->Level("a").available, 2);
  }
  // The damage was cut off: the directory now opens and verifies clean.
  o.salvage = false;
  std::unique_ptr<Engine> e = OpenOrDie(o);
  EXPECT_EQ(e->Level("a").available, 2);
}

// A journal that keeps the rule replays, including a close of a reserve
// earlier in the file, a return, and a reserve reusing a settled id.
TEST(RecoveryRuleTest, AHistoryTheEngineCouldHaveGoneThroughOpens) {
  TempDir dir;
  SegmentBuilder b;
  b.Define("a", 5);
  b.Reserve(7, kDeadline, {{0, 5}});
  b.Close(RecordType::kOrderCommit, 7, kDeadline, kWall);
  b.Close(RecordType::kOrderReturn, 7, kDeadline, kWall + 1);
  b.Stock(RecordType::kTake, 0, 5);
  b.Stock(RecordType::kRestock, 0, 2);
  b.Reserve(7, kDeadline + 10, {{0, 2}});  // a new incarnation of id 7
  b.Close(RecordType::kOrderCommit, 7, kDeadline + 10, kWall + 2);
  b.WriteTo(dir.path());
  std::string out;
  EXPECT_EQ(Verify(dir.path(), &out), 0) << out;
  // Clocks at the records' time, so order 7 is still within its retention.
  ManualClock steady(0), wall(kWall + 3);
  EngineOptions o = testing::JournalOptions(dir.path());
  o.clock = &steady;
  o.wall_clock = &wall;
  o.expiry_thread = false;
  std::unique_ptr<Engine> e = OpenOrDie(o);
  const StockLevels l = e->Levels(*e->Resolve("a"));
  EXPECT_EQ(l.available, 0);
  EXPECT_EQ(l.held, 0);
  EXPECT_EQ(l.sold, 2);
  ASSERT_TRUE(e->GetOrder(7).has_value());
  EXPECT_EQ(e->GetOrder(7)->state, OrderState::kCommitted);
  EXPECT_EQ(e->GetOrder(7)->lines[0].quantity, 2);
}

}  // namespace
}  // namespace flashstock
