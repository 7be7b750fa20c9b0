// Orders in the journal: reserve, commit, cancel, return, expiry and failed
// reserves survive a reopen (levels available/held/sold and every order's
// state); holds whose deadline passed while the engine was down come back
// as available; a journal cut anywhere inside a multi-line reserve record
// never yields half an order; bit flips are detected; replay checks the
// rule in file order, so a close whose reserve is not before it (an orphan)
// is damage.
#include <algorithm>
#include <filesystem>
#include <latch>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "flashstock/engine.h"
#include "gtest/gtest.h"
#include "base/reader_slots.h"
#include "journal_test_util.h"
#include "journal/journal_writer.h"
#include "journal/recovery.h"
#include "journal/snapshot.h"

namespace flashstock {
namespace {

using testing::CopyDir;
using testing::JournalOptions;
using testing::OpenOrDie;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;

constexpr std::int64_t kMs = 1'000'000;
// Wall time of the first boot: any realistic unix time.
constexpr std::int64_t kWallStart = 1'700'000'000'000'000'000;

struct Clocks {
  ManualClock steady{5 * kMs};
  ManualClock wall{kWallStart};
};

EngineOptions Options(const std::string& dir, Clocks* clocks, Durability d = Durability::kSync) {
  EngineOptions o = JournalOptions(dir, d);
  o.clock = &clocks->steady;
  o.wall_clock = &clocks->wall;
  o.expiry_thread = false;
  return o;
}

// A book of `orders_max` slots that forgets closed orders at once, so a
// reserve past it must sweep (HelpSweep) to get a slot.
EngineOptions SmallBookOptions(const std::string& dir, Clocks* clocks, std::uint32_t orders_max) {
  EngineOptions o = Options(dir, clocks);
  o.orders_max = orders_max;
  o.order_retention_ms = 0;
  return o;
}

void AdvanceBoth(Clocks* clocks, std::int64_t nanos) {
  clocks->steady.AdvanceNanos(nanos);
  clocks->wall.AdvanceNanos(nanos);
}

std::vector<OrderLine> Lines(Engine& e, std::initializer_list<std::pair<const char*, std::int64_t>> l) {
  std::vector<OrderLine> out;
  for (const auto& [name, q] : l) out.push_back({*e.Resolve(name), q});
  return out;
}

struct Observed {
  std::vector<StockLevels> levels;
  std::vector<std::optional<OrderState>> states;
  std::vector<std::vector<OrderLine>> lines;
  bool operator==(const Observed& o) const {
    if (levels.size() != o.levels.size() || states != o.states || lines != o.lines) return false;
    for (std::size_t i = 0; i < levels.size(); ++i) {
      if (levels[i].available != o.levels[i].available || levels[i].held != o.levels[i].held ||
          levels[i].sold != o.levels[i].sold) {
        return false;
      }
    }
    return true;
  }
};

Observed Observe(Engine& e, OrderId max_id) {
  Observed out;
  for (std::uint32_t i = 0; i < e.sku_count(); ++i) out.levels.push_back(e.Levels(SkuHandle{i}));
  for (OrderId id = 1; id <= max_id; ++id) {
    std::optional<OrderInfo> info = e.GetOrder(id);
    out.states.push_back(info ? std::optional<OrderState>(info->state) : std::nullopt);
    out.lines.emplace_back();
    if (info) out.lines.back().assign(info->Lines().begin(), info->Lines().end());
  }
  return out;
}

void ExpectConserved(Engine& e, std::int64_t initial) {
  for (std::uint32_t i = 0; i < e.sku_count(); ++i) {
    const StockLevels l = e.Levels(SkuHandle{i});
    EXPECT_EQ(l.available + l.held + l.sold, initial) << "SKU " << i;
    EXPECT_GE(l.available, 0);
    EXPECT_GE(l.held, 0);
  }
}

// Runs every kind of order change; returns the highest order id used.
OrderId Workload(Engine& e, Clocks& c) {
  EXPECT_TRUE(e.Define("a", 100).ok());
  EXPECT_TRUE(e.Define("b", 100).ok());
  EXPECT_TRUE(e.Define("c", 100).ok());
  EXPECT_TRUE(e.Reserve(1, Lines(e, {{"a", 3}, {"b", 2}, {"c", 1}}), 60'000).ok());
  EXPECT_TRUE(e.Commit(1).ok());
  EXPECT_TRUE(e.Reserve(2, Lines(e, {{"a", 5}, {"a", 1}}), 60'000).ok());  // summed
  EXPECT_TRUE(e.Cancel(2).ok());
  EXPECT_TRUE(e.Reserve(3, Lines(e, {{"b", 4}, {"c", 4}}), 60'000).ok());
  EXPECT_TRUE(e.Commit(3).ok());
  EXPECT_TRUE(e.Return(3).ok());
  EXPECT_TRUE(e.Reserve(4, Lines(e, {{"c", 7}}), 10).ok());
  c.steady.AdvanceMs(20);
  c.wall.AdvanceMs(20);
  EXPECT_EQ(e.SweepExpired(), 1u);
  EXPECT_TRUE(e.Reserve(5, Lines(e, {{"a", 2}, {"c", 3}}), 3'600'000).ok());  // stays open
  const OrderResult failed = e.Reserve(6, Lines(e, {{"a", 1}, {"b", 1000}}), 60'000);
  EXPECT_EQ(failed.outcome, Outcome::kInsufficient);
  EXPECT_TRUE(e.Take("b", 1).ok());
  return 6;
}

TEST(OrdersJournalTest, ReopenGivesTheSameOrdersAndLevels) {
  TempDir dir;
  Clocks c;
  Observed before;
  OrderId max_id;
  std::int64_t open_deadline;
  {
    auto e = OpenOrDie(Options(dir.path(), &c));
    max_id = Workload(*e, c);
    before = Observe(*e, max_id);
    open_deadline = e->GetOrder(5)->deadline_nanos;
  }
  for (int round = 0; round < 3; ++round) {  // journal, journal again, snapshot
    auto e = OpenOrDie(Options(dir.path(), &c));
    EXPECT_EQ(Observe(*e, max_id), before) << "round " << round << ": " << e->recovery_summary();
    EXPECT_EQ(e->GetOrder(5)->deadline_nanos, open_deadline);
    if (round == 1) {
      ASSERT_TRUE(e->Checkpoint().ok());
    }
  }
  auto e = OpenOrDie(Options(dir.path(), &c));
  // Retries answer as before; a failed reserve stays failed.
  EXPECT_EQ(e->Reserve(1, Lines(*e, {{"a", 3}, {"b", 2}, {"c", 1}}), 60'000).state, OrderState::kCommitted);
  const OrderResult failed = e->Reserve(6, Lines(*e, {{"a", 1}, {"b", 1000}}), 60'000);
  EXPECT_EQ(failed.outcome, Outcome::kInsufficient);
  EXPECT_EQ(failed.short_sku.index, e->Resolve("b")->index);
  EXPECT_EQ(e->Reserve(6, Lines(*e, {{"a", 1}}), 60'000).outcome, Outcome::kOrderConflict);
  EXPECT_EQ(e->Commit(2).outcome, Outcome::kOrderClosed);
  // A committed order can still be returned after the restart; sold survives.
  EXPECT_EQ(e->Levels("a").sold, 3);
  EXPECT_TRUE(e->Return(1).ok());
  EXPECT_TRUE(e->Commit(5).ok());
  const Observed after = Observe(*e, max_id);
  e.reset();
  e = OpenOrDie(Options(dir.path(), &c));
  EXPECT_EQ(Observe(*e, max_id), after);
  EXPECT_EQ(e->Levels("a").sold, 2);
  EXPECT_EQ(e->Levels("c").sold, 3);
  const StockLevels a = e->Levels("a"), b = e->Levels("b");
  EXPECT_EQ(a.available + a.held + a.sold, 100);
  EXPECT_EQ(b.available + b.held + b.sold, 99);  // one plain take
}

TEST(OrdersJournalTest, HoldsWhoseDeadlinePassedWhileDownAreReturned) {
  TempDir dir;
  Clocks c;
  {
    auto e = OpenOrDie(Options(dir.path(), &c));
    ASSERT_TRUE(e->Define("a", 10).ok());
    ASSERT_TRUE(e->Define("b", 10).ok());
    ASSERT_TRUE(e->Reserve(1, Lines(*e, {{"a", 4}, {"b", 1}}), 100).ok());
    ASSERT_TRUE(e->Reserve(2, Lines(*e, {{"a", 1}}), 10'000).ok());
  }
  // A new boot: the steady clock starts over, the wall clock moved 1 s.
  Clocks later;
  later.wall.AdvanceNanos(1000 * kMs);
  {
    auto e = OpenOrDie(Options(dir.path(), &later));
    EXPECT_EQ(e->GetOrder(1)->state, OrderState::kExpired);
    EXPECT_EQ(e->GetOrder(2)->state, OrderState::kHeld);
    // Order 2 keeps its remaining ttl: 10 s - 1 s on the new clock.
    EXPECT_EQ(e->GetOrder(2)->deadline_nanos, later.steady.NowNanos() + 9000 * kMs);
    EXPECT_EQ(e->Levels("a").available, 9);
    EXPECT_EQ(e->Levels("a").held, 1);
    EXPECT_EQ(e->Levels("b").available, 10);
    EXPECT_EQ(e->Commit(1).state, OrderState::kExpired);
  }
  // The expiry was journaled: it stays expired, even before the wall deadline.
  Clocks again;
  auto e = OpenOrDie(Options(dir.path(), &again));
  EXPECT_EQ(e->GetOrder(1)->state, OrderState::kExpired);
  EXPECT_EQ(e->Levels("a").available, 9);
  ExpectConserved(*e, 10);
}

// A reserve that finds the book full sweeps (HelpSweep), and the expiries it
// performs are journaled through the reserving thread's own producer,
// between that reserve's giving back its journal room and taking it again:
// every record reaches the journal, and a reopen sees exactly the live state.
TEST(OrdersJournalTest, ExpiriesOfAHelpingSweepAreJournaled) {
  TempDir dir;
  Clocks c;
  {
    auto e = OpenOrDie(SmallBookOptions(dir.path(), &c, 2));
    ASSERT_TRUE(e->Define("a", 10).ok());
    ASSERT_TRUE(e->Reserve(1, Lines(*e, {{"a", 3}}), 1).ok());
    ASSERT_TRUE(e->Reserve(2, Lines(*e, {{"a", 4}}), 1).ok());
    AdvanceBoth(&c, 2 * kMs);
    // Full: this reserve's sweep expires and forgets orders 1 and 2.
    ASSERT_TRUE(e->Reserve(3, Lines(*e, {{"a", 5}}), 60'000).ok());
    EXPECT_EQ(e->expiry_stats().helped_sweeps, 1u);
    EXPECT_EQ(e->expiry_stats().expired, 2u);
    EXPECT_EQ(e->Levels("a").available, 5);
    EXPECT_EQ(e->Levels("a").held, 5);
  }
  Clocks later;
  later.wall.AdvanceNanos(3 * kMs);
  auto e = OpenOrDie(SmallBookOptions(dir.path(), &later, 2));
  EXPECT_EQ(e->GetOrder(3)->state, OrderState::kHeld);
  EXPECT_EQ(e->Levels("a").available, 5);
  EXPECT_EQ(e->Levels("a").held, 5);
  ExpectConserved(*e, 10);
}

// The same on the shared producer (threads beyond kReaderThreadsMax share
// one, under a mutex held from a reservation to its push): the helping
// sweep must not take that mutex again while the reserve holds it.
TEST(OrdersJournalTest, AHelpingSweepOnTheSharedProducerDoesNotDeadlock) {
  TempDir dir;
  Clocks c;
  auto e = OpenOrDie(SmallBookOptions(dir.path(), &c, 1));
  ASSERT_TRUE(e->Define("a", 10).ok());
  ASSERT_TRUE(e->Reserve(1, Lines(*e, {{"a", 3}}), 1).ok());
  AdvanceBoth(&c, 2 * kMs);
  // Every reader slot taken by a parked thread: the next thread has none.
  constexpr int kHolders = static_cast<int>(kReaderThreadsMax);
  std::latch claimed(kHolders);
  std::latch release(1);
  std::vector<std::thread> holders;
  holders.reserve(kHolders);
  for (int i = 0; i < kHolders; ++i) {
    holders.emplace_back([&] {
      (void)internal::ReaderSlots::ThisThreadSlot();
      claimed.count_down();
      release.wait();
    });
  }
  claimed.wait();
  OrderResult r;
  bool slotless = false;
  std::thread buyer([&] {
    slotless = internal::ReaderSlots::ThisThreadSlot() == nullptr;
    r = e->Reserve(2, Lines(*e, {{"a", 4}}), 60'000);
  });
  buyer.join();
  release.count_down();
  for (std::thread& t : holders) t.join();
  EXPECT_TRUE(slotless);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(e->expiry_stats().helped_sweeps, 1u);
  EXPECT_EQ(e->GetOrder(2)->state, OrderState::kHeld);
  EXPECT_EQ(e->Levels("a").available, 6);
  ExpectConserved(*e, 10);
}

// The journal's records, in file order.
std::vector<journal::Record> ReadRecords(const std::string& dir, std::vector<std::string>* names) {
  std::vector<journal::Record> out;
  journal::RecoveryOptions o;
  o.repair = false;
  o.read_covered = true;
  names->reserve(1024);  // name views point here
  o.on_record = [&](const std::string&, const journal::Record& r) {
    out.push_back(r);
    if (r.type == journal::RecordType::kDefine) {
      names->emplace_back(r.name);
      out.back().name = names->back();
    }
  };
  EXPECT_TRUE(journal::Recover(dir, o).ok());
  return out;
}

std::string OnlySegment(const std::string& dir) {
  absl::StatusOr<std::vector<journal::SegmentFile>> segs = journal::ListSegments(dir);
  EXPECT_TRUE(segs.ok());
  EXPECT_EQ(segs->size(), 1u);
  return dir + "/" + segs->front().name;
}

TEST(OrdersJournalTest, CutInsideAMultiLineReserveNeverLeavesHalfAnOrder) {
  TempDir dir;
  Clocks c;
  {
    auto e = OpenOrDie(Options(dir.path(), &c));
    for (const char* n : {"a", "b", "c", "d", "e"}) ASSERT_TRUE(e->Define(n, 50).ok());
    ASSERT_TRUE(e->Reserve(7, Lines(*e, {{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}, {"e", 5}}), 60'000).ok());
  }
  std::vector<std::string> names;
  const std::vector<journal::Record> records = ReadRecords(dir.path(), &names);
  ASSERT_EQ(records.back().type, journal::RecordType::kOrderReserve);
  const std::uint64_t start = records.back().offset;
  const std::uint64_t end = start + records.back().bytes;
  const std::string segment = OnlySegment(dir.path());
  const std::string bytes = ReadBytes(segment);
  ASSERT_EQ(bytes.size(), end);
  for (std::uint64_t cut = start; cut <= end; ++cut) {
    TempDir copy;
    CopyDir(dir.path(), copy.path());
    WriteBytes(copy / std::filesystem::path(segment).filename().string(), bytes.substr(0, cut));
    auto e = OpenOrDie(Options(copy.path(), &c));
    const bool whole = cut == end;
    EXPECT_EQ(e->GetOrder(7).has_value(), whole) << "cut at " << cut;
    for (std::uint32_t i = 0; i < 5; ++i) {
      const StockLevels l = e->Levels(SkuHandle{i});
      EXPECT_EQ(l.held, whole ? i + 1 : 0) << "cut at " << cut << " SKU " << i;
      EXPECT_EQ(l.available + l.held, 50);
    }
  }
}

TEST(OrdersJournalTest, EveryBitFlipInOrderRecordsIsDetected) {
  TempDir dir;
  Clocks c;
  {
    auto e = OpenOrDie(Options(dir.path(), &c));
    ASSERT_TRUE(e->Define("a", 50).ok());
    ASSERT_TRUE(e->Define("b", 50).ok());
    ASSERT_TRUE(e->Reserve(7, Lines(*e, {{"a", 1}, {"b", 2}}), 60'000).ok());
    ASSERT_TRUE(e->Commit(7).ok());
    ASSERT_EQ(e->Reserve(8, Lines(*e, {{"a", 100}}), 60'000).outcome, Outcome::kInsufficient);
    ASSERT_TRUE(e->Take("a", 1).ok());  // so no order record is the last one
  }
  std::vector<std::string> names;
  const std::vector<journal::Record> records = ReadRecords(dir.path(), &names);
  const std::string segment = OnlySegment(dir.path());
  const std::string bytes = ReadBytes(segment);
  int checked = 0;
  for (const journal::Record& r : records) {
    if (r.type < journal::RecordType::kOrderReserve) continue;
    for (std::uint64_t bit = 0; bit < 8ull * r.bytes; ++bit) {
      TempDir copy;
      CopyDir(dir.path(), copy.path());
      std::string damaged = bytes;
      damaged[r.offset + bit / 8] = static_cast<char>(damaged[r.offset + bit / 8] ^ (1 << (bit % 8)));
      WriteBytes(copy / std::filesystem::path(segment).filename().string(), damaged);
      EngineOptions o = Options(copy.path(), &c);
      absl::StatusOr<std::unique_ptr<Engine>> e = Engine::Open(o);
      ASSERT_FALSE(e.ok()) << "bit " << bit << " of record " << r.sequence << " not detected";
      EXPECT_EQ(e.status().code(), absl::StatusCode::kDataLoss);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 8 * (40 + 8 * 2) + 8 * 40 + 8 * (48 + 8));
}

// Folds `records` (defines first, then the rest in the given order), or
// says why the order breaks the rule.
absl::StatusOr<journal::JournalState> Fold(const std::vector<journal::Record>& defines,
                                           const std::vector<journal::Record>& rest) {
  journal::JournalState s;
  std::uint64_t seq = 0;
  for (const auto* part : {&defines, &rest}) {
    for (journal::Record r : *part) {
      r.sequence = ++seq;
      if (absl::Status st = s.Apply(r); !st.ok()) return st;
    }
  }
  return s;
}

// Was ReplayIsIndependentOfRecordOrder. Replay now checks the rule in file
// order: the file's own order folds to what the engine recovers, and any
// other order of the same records either breaks the rule (a close before
// its reserve, a take before the stock it used: refused) or folds to the
// same levels.
TEST(OrdersJournalTest, ReplayInAnotherOrderIsRefusedOrFoldsAlike) {
  TempDir dir;
  Clocks c;
  std::mt19937_64 rng(11);
  {
    auto e = OpenOrDie(Options(dir.path(), &c, Durability::kAsync));
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(e->Define("s" + std::to_string(i), 200).ok());
    for (OrderId id = 1; id <= 400; ++id) {
      std::vector<OrderLine> lines;
      const int n = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < n; ++k) lines.push_back({SkuHandle{static_cast<std::uint32_t>(rng() % 6)}, 1 + static_cast<std::int64_t>(rng() % 5)});
      (void)e->Reserve(id, lines, 1 + static_cast<std::int64_t>(rng() % 50));
      const OrderId other = 1 + rng() % id;
      switch (rng() % 5) {
        case 0: (void)e->Commit(other); break;
        case 1: (void)e->Cancel(other); break;
        case 2: (void)e->Return(other); break;
        case 3: (void)e->Take(SkuHandle{static_cast<std::uint32_t>(rng() % 6)}, 1); break;
        default: (void)e->Restock(SkuHandle{static_cast<std::uint32_t>(rng() % 6)}, 2); break;
      }
      c.steady.AdvanceMs(1);
      c.wall.AdvanceMs(1);
      if (id % 10 == 0) (void)e->SweepExpired();
    }
    ASSERT_TRUE(e->Flush().ok());
  }
  std::vector<std::string> names;
  std::vector<journal::Record> records = ReadRecords(dir.path(), &names);
  std::vector<journal::Record> defines, rest;
  for (const journal::Record& r : records) (r.type == journal::RecordType::kDefine ? defines : rest).push_back(r);
  std::size_t order_records = 0;
  for (const journal::Record& r : rest) order_records += r.type >= journal::RecordType::kOrderReserve ? 1 : 0;
  EXPECT_GT(order_records, 500u);
  absl::StatusOr<journal::JournalState> reference = Fold(defines, rest);
  ASSERT_TRUE(reference.ok()) << reference.status();
  auto e = OpenOrDie(Options(dir.path(), &c));
  const std::vector<journal::SkuLevels> levels = reference->Levels();
  for (std::uint32_t i = 0; i < 6; ++i) {
    const StockLevels l = e->Levels(SkuHandle{i});
    EXPECT_EQ((journal::SkuLevels{l.available, l.held, l.sold}), levels[i]);
  }
  int refused = 0;
  for (int round = 0; round < 20; ++round) {
    std::shuffle(rest.begin(), rest.end(), rng);
    const absl::StatusOr<journal::JournalState> s = Fold(defines, rest);
    if (!s.ok()) {
      EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
      ++refused;
      continue;
    }
    EXPECT_EQ(s->Levels(), levels);
  }
  EXPECT_GT(refused, 0);  // hundreds of closes: a shuffle puts one before its reserve
}

journal::Record OrderRecord(journal::RecordType t, OrderId id, std::int64_t deadline) {
  journal::Record r;
  r.type = t;
  r.order_id = id;
  r.deadline = deadline;
  r.at = deadline - 5;
  r.line_count = 2;
  r.lines[0] = {0, 3};
  r.lines[1] = {1, 4};
  if (t != journal::RecordType::kOrderReserve) r.line_count = 0;
  return r;
}

// Was OrphanClosesAreCarriedBySnapshotsAndDroppedAtRecovery: since replay
// checks the rule in file order, a close whose reserve is not before it is
// damage (refused, the state unchanged), not an orphan kept for later.
TEST(OrdersJournalTest, CloseWithoutItsReserveIsDamageAndPruningFoldsIntoTheBase) {
  journal::JournalState s;
  journal::Record d;
  d.type = journal::RecordType::kDefine;
  d.value = 10;
  for (std::uint32_t i = 0; i < 2; ++i) {
    d.sku = i;
    d.name = i == 0 ? "x" : "y";
    d.sequence = i + 1;
    ASSERT_TRUE(s.Apply(d).ok());
  }
  const journal::JournalState before = s;
  journal::Record commit = OrderRecord(journal::RecordType::kOrderCommit, 9, 1000);
  commit.sequence = 3;
  EXPECT_EQ(s.Apply(commit).code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(s == before);
  journal::Record reserve = OrderRecord(journal::RecordType::kOrderReserve, 9, 1000);
  reserve.sequence = 3;
  ASSERT_TRUE(s.Apply(reserve).ok());
  commit.sequence = 4;
  ASSERT_TRUE(s.Apply(commit).ok());
  EXPECT_EQ(s.Levels()[0], (journal::SkuLevels{7, 0, 3}));
  EXPECT_EQ(s.Levels()[1], (journal::SkuLevels{6, 0, 4}));
  // A close naming another incarnation of the id (other deadline tag) is damage too.
  journal::Record cancel = OrderRecord(journal::RecordType::kOrderCancel, 9, 2000);
  cancel.sequence = 5;
  EXPECT_EQ(s.Apply(cancel).code(), absl::StatusCode::kDataLoss);
  absl::StatusOr<journal::JournalState> decoded = journal::DecodeSnapshot(journal::EncodeSnapshot(s));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(*decoded == s);
  // Pruning folds a closed order into the base counters, once its forget
  // time (here: its deadline, 1000) plus the margin has come.
  s.wall_high = 1000 + journal::kOrderPruneMarginNanos - 1;
  s.PruneClosed(0);
  EXPECT_EQ(s.orders.size(), 1u);
  s.wall_high += 1;
  const std::vector<journal::SkuLevels> levels = s.Levels();
  s.PruneClosed(0);
  EXPECT_TRUE(s.orders.empty());
  EXPECT_EQ(s.Levels(), levels);
  EXPECT_EQ(s.skus[0].sold, 3);
}

TEST(OrdersJournalTest, AsyncOrdersAreJournaledAndCheckpointed) {
  TempDir dir;
  Clocks c;
  Observed before;
  {
    EngineOptions o = Options(dir.path(), &c, Durability::kAsync);
    o.segment_bytes_max = journal::kSegmentBytesMin;
    auto e = OpenOrDie(o);
    ASSERT_TRUE(e->Define("a", 1000).ok());
    ASSERT_TRUE(e->Define("b", 1000).ok());
    for (OrderId id = 1; id <= 300; ++id) {
      ASSERT_TRUE(e->Reserve(id, Lines(*e, {{"a", 1}, {"b", 2}}), 60'000).ok());
      if (id % 3 == 0) {
        ASSERT_TRUE(e->Commit(id).ok());
      }
      if (id % 3 == 1) {
        ASSERT_TRUE(e->Cancel(id).ok());
      }
      if (id % 50 == 0) {
        ASSERT_TRUE(e->Checkpoint().ok());
      }
    }
    ASSERT_TRUE(e->Flush().ok());
    before = Observe(*e, 300);
  }
  auto e = OpenOrDie(Options(dir.path(), &c));
  EXPECT_EQ(Observe(*e, 300), before) << e->recovery_summary();
  ExpectConserved(*e, 1000);
}

}  // namespace
}  // namespace flashstock
