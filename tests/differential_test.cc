// Model-based differential test: random sequences of every
// command against a journaled engine (sync mode, one thread) and against
// the reference model (differential_model.h), with restarts at random
// points:
//   - clean: the engine is destroyed and opened again; it must then equal
//     the model exactly (every SKU's available / held / sold / floor, every
//     order id the model remembers with its state, lines and deadline, and
//     no order the model has forgotten), and answer every later command as
//     the model does (a retried RESERVE included);
//   - crash at a cut: while the engine is open, after its last answer, the
//     journal directory is copied and the copy's newest segment truncated
//     at a random record boundary, then the copy is opened. In sync mode
//     every answered change is durable, so each record boundary is the
//     state after some prefix of the operations: the recovered engine must
//     equal the model after one of them (followed, like any open, by a
//     sweep at the current time). The sequence goes on from that prefix.
// Time is a ManualClock (steady and wall clocks advanced together); expiry
// runs only when the test sweeps (and at each open). Orders are forgotten
// after a short retention, so forgetting happens in every sequence.
//
// FLASHSTOCK_DIFF_SEQUENCES=N runs N sequences (default 1500, 150 under
// AddressSanitizer; the ctest entry differential_test_long, label "long",
// runs 30000). A failure prints the sequence's seed and its last steps;
// FLASHSTOCK_DIFF_SEED=S runs that one sequence alone.
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "differential_model.h"
#include "flashstock/engine.h"
#include "gtest/gtest.h"
#include "journal/journal_format.h"
#include "journal_test_util.h"

namespace flashstock {
namespace {

using testing::Model;
using testing::ModelAnswer;
using testing::TempDir;

#if defined(__SANITIZE_ADDRESS__)
constexpr int kSequencesDefault = 150;
#else
constexpr int kSequencesDefault = 1500;
#endif
constexpr std::uint64_t kBaseSeed = 20261204;
constexpr int kStepsPerSequence = 50;
constexpr std::uint32_t kSkusMax = 6;
// Short, so that ids are forgotten (and, in the reuse variant, reused)
// within a sequence; whole milliseconds so forget times land on ticks.
constexpr std::int64_t kRetentionMs = 40;
constexpr std::int64_t kClockStartNanos = 1'000'000'000;
constexpr std::int64_t kWallStartNanos = 1'700'000'000'000'000'000;
// Past kOrderPruneMarginNanos (10 min) + retention: the snapshot prunes.
constexpr std::int64_t kLongGapMs = 11 * 60 * 1000;
constexpr std::int64_t kLongTtlMs = 20 * 60 * 1000;
constexpr int kLogLinesMax = 40;
constexpr int kRetriesAfterRestart = 3;

// What a sequence may do beyond the default mix. The variant with all of
// them reaches the crash-consistency corners (returns after the snapshot pruned,
// reused ids across a restart, DEFINE above the ceiling).
struct Features {
  bool reuse_ids = false;
  bool long_gaps = false;
  bool define_above_ceiling = false;
};

// Debian's Abseil has its own string_view: StrCat takes std::string.
std::string Code(Outcome o) { return std::string(OutcomeCode(o)); }
std::string Name(OrderState s) { return std::string(OrderStateName(s)); }

int Sequences() {
  const char* env = std::getenv("FLASHSTOCK_DIFF_SEQUENCES");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : kSequencesDefault;
}

// What the sequences did, printed at the end so a reader can see that
// restarts, crash cuts into acknowledged history and forgetting happened.
struct Coverage {
  std::uint64_t steps = 0, clean_restarts = 0, crash_cuts = 0, cuts_into_history = 0, forgotten = 0;
};
Coverage coverage;

// One sequence: an engine, its model, its clocks and a log for failures.
class Sequence {
 public:
  Sequence(std::uint64_t seed, Features features)
      : seed_(seed), features_(features), rng_(seed), model_(kRetentionMs * 1'000'000),
        clock_(kClockStartNanos), wall_(kWallStartNanos) {
    dirs_[0] = std::make_unique<TempDir>(testing::MemoryBackedBase());
    dirs_[1] = std::make_unique<TempDir>(testing::MemoryBackedBase());
  }

  // Runs the sequence; false after reporting a failure.
  bool Run() {
    if (!Open(dirs_[0]->path())) return false;
    history_.push_back(model_);
    for (int step = 0; step < kStepsPerSequence; ++step) {
      if (!Step()) return false;
      ++coverage.steps;
      history_.push_back(model_);
    }
    return Restart(/*crash=*/false);
  }

 private:
  std::int64_t Uniform(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(rng_() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  std::int64_t Now() const { return clock_.NowNanos(); }

  EngineOptions Options(const std::string& dir) const {
    EngineOptions o = testing::JournalOptions(dir, Durability::kSync);
    o.skus_max = kSkusMax + 2;
    o.orders_max = 4096;  // never full: a full book sweeps inside RESERVE
    o.order_retention_ms = kRetentionMs;
    o.clock = &clock_;
    o.wall_clock = &wall_;
    o.expiry_thread = false;
    o.checkpoint_bytes = 0;  // checkpoints are steps
    o.segment_bytes_max = 40 << 10;  // rotation every few hundred records
    return o;
  }

  bool Open(const std::string& dir) {
    dir_ = dir;
    absl::StatusOr<std::unique_ptr<Engine>> e = Engine::Open(Options(dir));
    if (!e.ok()) return Fail(absl::StrCat("open failed: ", e.status().ToString()));
    engine_ = std::move(*e);
    return true;
  }

  Model::Resolver Ask() {
    return {[this](std::uint64_t id) { return engine_->GetOrder(id).has_value(); },
            [this](std::uint64_t id) {
              const std::optional<OrderInfo> info = engine_->GetOrder(id);
              return info.has_value() && info->state == OrderState::kExpired;
            }};
  }

  void Log(const std::string& line) {
    log_.push_back(line);
    if (log_.size() > kLogLinesMax) log_.pop_front();
  }

  bool Fail(const std::string& why) {
    std::ostringstream out;
    out << "sequence seed " << seed_ << " (rerun alone: FLASHSTOCK_DIFF_SEED=" << seed_ << "): " << why
        << "\nlast steps:\n";
    for (const std::string& l : log_) out << "  " << l << "\n";
    ADD_FAILURE() << out.str();
    return false;
  }

  // "" when the engine shows exactly `m`'s state.
  std::string Differences(const Model& m) const {
    std::ostringstream out;
    if (engine_->sku_count() != m.skus().size()) {
      out << "SKU count " << engine_->sku_count() << " != model " << m.skus().size() << "; ";
    }
    for (std::uint32_t i = 0; i < m.skus().size(); ++i) {
      const testing::ModelSku& s = m.skus()[i];
      const std::optional<SkuHandle> h = engine_->Resolve(s.name);
      if (!h.has_value() || h->index != i) {
        out << s.name << " missing or at another index; ";
        continue;
      }
      const StockLevels l = engine_->Levels(*h);
      const std::int64_t floor = engine_->Floor(*h).value_or(1);
      if (l.available != s.available || l.held != s.held || l.sold != s.sold || floor != s.floor) {
        out << s.name << " is " << l.available << "/" << l.held << "/" << l.sold << " floor " << floor
            << ", model " << s.available << "/" << s.held << "/" << s.sold << " floor " << s.floor << "; ";
      }
    }
    for (std::uint64_t id : ids_) {
      const std::optional<OrderInfo> info = engine_->GetOrder(id);
      const auto it = m.orders().find(id);
      if (it == m.orders().end()) {
        if (info.has_value()) out << "order " << id << " is " << OrderStateName(info->state) << ", model forgot it; ";
        continue;
      }
      const testing::ModelOrder& o = it->second;
      if (!info.has_value()) {
        out << "order " << id << " forgotten, model has it " << OrderStateName(o.state) << "; ";
        continue;
      }
      std::vector<std::pair<std::uint32_t, std::int64_t>> lines;
      for (const OrderLine& l : info->Lines()) lines.emplace_back(l.sku.index, l.quantity);
      const bool deadline_ok = o.state == OrderState::kFailed || info->deadline_nanos == o.deadline;
      if (info->state != o.state || lines != o.lines || !deadline_ok) {
        out << "order " << id << " is " << OrderStateName(info->state) << " (deadline " << info->deadline_nanos
            << "), model " << OrderStateName(o.state) << " (deadline " << o.deadline << "); ";
      }
    }
    return out.str();
  }

  bool Same(const char* what, const ModelAnswer& want, Outcome outcome, std::int64_t available,
            std::int64_t taken = 0) {
    const bool carries_level = outcome == Outcome::kOk || outcome == Outcome::kInsufficient;
    if (outcome == want.outcome && (!carries_level || (available == want.available && taken == want.taken))) {
      return true;
    }
    return Fail(absl::StrCat(what, ": engine ", Code(outcome), " ", available, " ", taken, ", model ",
                             Code(want.outcome), " ", want.available, " ", want.taken));
  }
  bool SameOrder(const char* what, const ModelAnswer& want, const OrderResult& got) {
    bool same = got.outcome == want.outcome;
    if (same && got.outcome == Outcome::kInsufficient) {
      same = got.short_sku.index == want.short_sku && got.available == want.available;
    } else if (same && (got.outcome == Outcome::kOk || got.outcome == Outcome::kOrderClosed ||
                        got.outcome == Outcome::kOrderOpen)) {
      same = got.state == want.state;
    }
    if (same) return true;
    return Fail(absl::StrCat(what, ": engine ", Code(got.outcome), " ", Name(got.state), ", model ",
                             Code(want.outcome), " ", Name(want.state)));
  }

  // One stock command on a random SKU with n in [lo, hi]; `apply` runs it
  // on the model and the engine and returns both answers. Only TAKEUPTO's
  // answer carries `taken`.
  template <typename Apply>
  bool StockStep(const char* verb, std::int64_t lo, std::int64_t hi, Apply apply) {
    const std::uint32_t sku = AnySku();
    const std::int64_t n = Uniform(lo, hi);
    Log(absl::StrCat(verb, " ", model_.skus()[sku].name, " ", n));
    const auto [want, got] = apply(sku, n);
    const bool up_to = std::string_view(verb) == "TAKEUPTO";
    return Same(verb, want, got.outcome, got.available, up_to ? got.taken : 0);
  }

  std::uint32_t AnySku() { return static_cast<std::uint32_t>(Uniform(0, model_.skus().size() - 1)); }

  // A remembered order id (nullopt if none).
  std::optional<std::uint64_t> AnyOrder() {
    if (model_.orders().empty()) return std::nullopt;
    auto it = model_.orders().begin();
    std::advance(it, Uniform(0, model_.orders().size() - 1));
    return it->first;
  }

  std::vector<std::pair<std::uint32_t, std::int64_t>> AnyLines() {
    std::vector<std::pair<std::uint32_t, std::int64_t>> lines;
    const int n = static_cast<int>(Uniform(1, 3));
    for (int i = 0; i < n; ++i) lines.emplace_back(AnySku(), Uniform(1, 3));
    return lines;
  }

  bool Reserve(std::uint64_t id, const std::vector<std::pair<std::uint32_t, std::int64_t>>& lines,
               std::int64_t ttl_ms) {
    std::vector<OrderLine> engine_lines;
    std::string text = absl::StrCat("RESERVE ", id, " ", ttl_ms);
    for (const auto& [sku, q] : lines) {
      engine_lines.push_back({SkuHandle{sku}, q});
      absl::StrAppend(&text, " ", model_.skus()[sku].name, " ", q);
    }
    Log(text);
    ids_.insert(id);
    const ModelAnswer want = model_.Reserve(id, lines, ttl_ms, Now());
    return SameOrder("RESERVE", want, engine_->Reserve(id, engine_lines, ttl_ms));
  }

  bool Close(std::uint64_t id, OrderState target) {
    const char* verb = target == OrderState::kCommitted ? "COMMIT" : target == OrderState::kCancelled ? "CANCEL"
                                                                                                        : "RETURN";
    Log(absl::StrCat(verb, " ", id));
    const ModelAnswer want = model_.Close(id, target, Now());
    const OrderResult got = target == OrderState::kCommitted   ? engine_->Commit(id)
                            : target == OrderState::kCancelled ? engine_->Cancel(id)
                                                               : engine_->Return(id);
    return SameOrder(verb, want, got);
  }

  bool Sweep() {
    Log(absl::StrCat("SWEEP at ", Now()));
    (void)engine_->SweepExpired();
    const std::size_t remembered = model_.orders().size();
    model_.Sweep(Now(), Ask());
    coverage.forgotten += remembered - model_.orders().size();
    const std::string diff = Differences(model_);
    return diff.empty() || Fail("after a sweep: " + diff);
  }

  void Advance(std::int64_t ms) {
    clock_.AdvanceMs(ms);
    wall_.AdvanceMs(ms);
  }

  // Truncates the newest segment in `dir` at a random record boundary.
  void CutNewestSegment(const std::string& dir) {
    std::string newest;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
      std::uint64_t first = 0;
      const std::string name = f.path().filename().string();
      if (journal::ParseSegmentFileName(name, &first) && name > newest) newest = name;
    }
    if (newest.empty()) return;
    const std::string path = dir + "/" + newest;
    const std::string bytes = testing::ReadBytes(path);
    std::vector<std::size_t> boundaries{journal::kSegmentHeaderBytes};
    for (std::size_t off = journal::kSegmentHeaderBytes; off + journal::kRecordHeaderBytes <= bytes.size();) {
      const auto length = journal::Get<std::uint16_t>(bytes.data() + off + 4);
      const auto type = journal::Get<std::uint8_t>(bytes.data() + off + 6);
      const std::size_t record = journal::kRecordHeaderBytes + length;
      if (type == 0 || off + record > bytes.size()) break;
      off += record;
      boundaries.push_back(off);
    }
    const std::size_t cut = boundaries[Uniform(0, boundaries.size() - 1)];
    Log(absl::StrCat("  cut ", newest, " at ", cut, " (", boundaries.size() - 1, " records)"));
    std::filesystem::resize_file(path, cut);
  }

  // A retried RESERVE of a few remembered orders (same lines) answers as
  // the first did: OK with the order's state now, or the same INSUFFICIENT.
  bool RetryReserves() {
    for (int i = 0; i < kRetriesAfterRestart; ++i) {
      const std::optional<std::uint64_t> id = AnyOrder();
      if (!id.has_value()) return true;
      if (!Reserve(*id, model_.orders().at(*id).lines, Uniform(1, 60))) return false;
    }
    return true;
  }

  bool Restart(bool crash) {
    Log(crash ? "CRASH-CUT RESTART" : "CLEAN RESTART");
    if (!crash) {
      ++coverage.clean_restarts;
      engine_.reset();
      if (!Open(dir_)) return false;
      model_.Sweep(Now(), Ask());  // the open's own sweep
      const std::string diff = Differences(model_);
      if (!diff.empty()) return Fail("after a clean restart: " + diff);
      return RetryReserves();
    }
    const std::string copy = dirs_[0]->path() == dir_ ? dirs_[1]->path() : dirs_[0]->path();
    for (const auto& f : std::filesystem::directory_iterator(copy)) std::filesystem::remove_all(f.path());
    testing::CopyDir(dir_, copy);  // the engine is open: a crash right after its last answer
    CutNewestSegment(copy);
    engine_.reset();
    if (!Open(copy)) return false;
    // Newest prefix first; every prefix state, swept at the open's time.
    std::string newest_diff;
    for (std::size_t i = history_.size(); i-- > 0;) {
      Model candidate = history_[i];
      // The cut may have dropped some of a sweep's expiry records (in an
      // order of the engine's choosing): those holds expire again at this
      // open, so any expired order's change time is now unsure.
      candidate.WidenExpiryTimes(Now());
      candidate.Sweep(Now(), Ask());
      const std::string diff = Differences(candidate);
      if (i + 1 == history_.size()) newest_diff = diff;
      if (!diff.empty()) continue;
      Log(absl::StrCat("  recovered the state after step ", i, " of ", history_.size() - 1));
      ++coverage.crash_cuts;
      if (i + 1 < history_.size()) ++coverage.cuts_into_history;
      history_.erase(history_.begin() + static_cast<std::ptrdiff_t>(i) + 1, history_.end());
      model_ = std::move(candidate);
      return RetryReserves();
    }
    return Fail("after a crash cut the engine equals no prefix state; against the newest: " + newest_diff);
  }

  bool Step() {
    const bool need_sku = model_.skus().size() < 2;
    const int pick = need_sku ? 0 : static_cast<int>(Uniform(0, 99));
    const std::int64_t now = Now();
    if (pick < 4) {  // define (a new name; sometimes an existing one)
      const bool fresh = model_.skus().size() < kSkusMax && (need_sku || rng_() % 4 != 0);
      const std::string name = fresh ? absl::StrCat("s", model_.skus().size()) : model_.skus()[AnySku()].name;
      const std::int64_t q = Uniform(0, 8), floor = Uniform(-3, 0);
      Log(absl::StrCat("DEFINE ", name, " ", q, " ", floor));
      const ModelAnswer want = model_.Define(name, q, floor);
      const StockResult got = engine_->Define(name, q, floor);
      return Same("DEFINE", want, got.outcome, got.available);
    }
    if (pick < 6 && features_.define_above_ceiling && model_.skus().size() < kSkusMax) {
      const std::string name = absl::StrCat("s", model_.skus().size());
      Log(absl::StrCat("DEFINE ", name, " ", INT64_MAX));
      const ModelAnswer want = model_.Define(name, INT64_MAX, 0);
      const StockResult got = engine_->Define(name, INT64_MAX, 0);
      return Same("DEFINE above the ceiling", want, got.outcome, got.available);
    }
    if (pick < 18) {
      return StockStep("TAKE", 1, 4, [&](std::uint32_t sku, std::int64_t n) {
        return std::make_pair(model_.Take(sku, n), engine_->Take(SkuHandle{sku}, n));
      });
    }
    if (pick < 24) {
      return StockStep("TAKEUPTO", 1, 4, [&](std::uint32_t sku, std::int64_t n) {
        return std::make_pair(model_.TakeUpTo(sku, n), engine_->TakeUpTo(SkuHandle{sku}, n));
      });
    }
    if (pick < 33) {
      return StockStep("RESTOCK", 1, 6, [&](std::uint32_t sku, std::int64_t n) {
        return std::make_pair(model_.Restock(sku, n), engine_->Restock(SkuHandle{sku}, n));
      });
    }
    if (pick < 39) {
      return StockStep("FLOOR", -4, 0, [&](std::uint32_t sku, std::int64_t n) {
        return std::make_pair(model_.SetFloor(sku, n), engine_->SetFloor(SkuHandle{sku}, n));
      });
    }
    if (pick < 55) {  // a new order
      const bool long_ttl = features_.long_gaps && rng_() % 2 == 0;
      return Reserve(++next_id_, AnyLines(), long_ttl ? kLongTtlMs : Uniform(1, 60));
    }
    if (pick < 59) {  // a retry with the same lines, or a conflicting reuse
      const std::optional<std::uint64_t> id = AnyOrder();
      if (!id.has_value()) return true;
      std::vector<std::pair<std::uint32_t, std::int64_t>> lines = model_.orders().at(*id).lines;
      if (rng_() % 3 == 0) lines = AnyLines();
      return Reserve(*id, lines, Uniform(1, 60));
    }
    if (pick < 62 && features_.reuse_ids) {  // an id forgotten after its retention, reused
      std::vector<std::uint64_t> forgotten;
      for (std::uint64_t id : ids_) {
        if (!model_.orders().contains(id)) forgotten.push_back(id);
      }
      if (forgotten.empty()) return true;
      return Reserve(forgotten[Uniform(0, forgotten.size() - 1)], AnyLines(), Uniform(1, 60));
    }
    if (pick < 74) {
      const std::optional<std::uint64_t> id = rng_() % 8 == 0 ? std::optional<std::uint64_t>(next_id_ + 1) : AnyOrder();
      if (!id.has_value()) return true;
      return Close(*id, rng_() % 3 == 0 ? OrderState::kCancelled : OrderState::kCommitted);
    }
    if (pick < 79) {
      // A committed order if there is one (a RETURN that succeeds), else any.
      for (const auto& [id, o] : model_.orders()) {
        if (o.state == OrderState::kCommitted && rng_() % 2 == 0) return Close(id, OrderState::kReturned);
      }
      const std::optional<std::uint64_t> id = AnyOrder();
      return !id.has_value() || Close(*id, OrderState::kReturned);
    }
    if (pick < 90) {
      const bool long_gap = features_.long_gaps && rng_() % 3 == 0;
      const std::int64_t ms = long_gap ? kLongGapMs : Uniform(1, 30);
      Log(absl::StrCat("ADVANCE ", ms, " ms"));
      Advance(ms);
      return rng_() % 4 == 0 || Sweep();  // sometimes no sweep: a late driver
    }
    if (pick < 93) {
      Log("CHECKPOINT");
      const absl::Status s = engine_->Checkpoint();
      return s.ok() || Fail(absl::StrCat("checkpoint: ", s.ToString()));
    }
    (void)now;
    return Restart(/*crash=*/pick >= 97);
  }

  const std::uint64_t seed_;
  const Features features_;
  std::mt19937_64 rng_;
  Model model_;
  std::vector<Model> history_;  // the model after each step (prefix states)
  std::set<std::uint64_t> ids_;  // every id used
  std::uint64_t next_id_ = 0;
  ManualClock clock_, wall_;
  std::unique_ptr<TempDir> dirs_[2];  // a crash cut opens a copy in the other one
  std::string dir_;
  std::unique_ptr<Engine> engine_;
  std::deque<std::string> log_;
};

void RunSequences(Features features) {
  if (const char* one = std::getenv("FLASHSTOCK_DIFF_SEED")) {
    Sequence(std::strtoull(one, nullptr, 10), features).Run();
    return;
  }
  const int n = Sequences();
  coverage = {};
  for (int i = 0; i < n; ++i) {
    if (!Sequence(kBaseSeed + static_cast<std::uint64_t>(i), features).Run()) break;  // one failure is enough
  }
  std::cout << n << " sequences, " << coverage.steps << " steps, " << coverage.clean_restarts << " clean restarts, "
            << coverage.crash_cuts << " crash cuts (" << coverage.cuts_into_history
            << " recovered an earlier prefix), " << coverage.forgotten << " orders forgotten at sweeps\n";
  EXPECT_GT(coverage.cuts_into_history, 0u) << "no crash cut reached back into acknowledged history";
}

TEST(DifferentialTest, EngineEqualsModelAcrossCleanAndCrashCutRestarts) { RunSequences({}); }

// The crash-consistency corners, one variant each; each failed before its fix.
// Item 3: an id forgotten after retention and reserved again; after a
// restart recovery restored the older incarnation.
TEST(DifferentialRegressionTest, ReusedIdsAcrossRestarts) { RunSequences({.reuse_ids = true}); }

// Item 2: gaps past the snapshot's prune margin, with holds that outlive
// them: a RETURN accepted live was dropped at recovery.
TEST(DifferentialRegressionTest, LongGapsPastThePruneMargin) { RunSequences({.long_gaps = true}); }

// Item 4: DEFINE above the level ceiling with a journal aborted the process
// instead of answering INVALID_QUANTITY.
TEST(DifferentialRegressionTest, DefineAboveTheCeiling) { RunSequences({.define_above_ceiling = true}); }

}  // namespace
}  // namespace flashstock
