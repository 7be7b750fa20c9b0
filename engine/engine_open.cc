// Engine::Open in three steps: open the journal directory (lock it, recover
// it), restore the recovered state into a fresh engine through the journal's
// RecoveryApplier, then start the journal writer, the checkpointer and the
// expiry thread.
#include <algorithm>
#include <array>
#include <memory>
#include <span>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/file.h"
#include "base/forget_rule.h"
#include "flashstock/engine.h"
#include "flashstock/validate.h"
#include "journal/checkpointer.h"
#include "journal/journal_writer.h"
#include "journal/recovery.h"
#include "order_journal_adapter.h"
#include "orders/order_book.h"

namespace flashstock {
namespace {

// sold += s without touching available: Unsell(-s) moves s from available to
// sold, Add(s) puts it back. Recovery only.
void AddSold(StockCell& cell, std::int64_t s) {
  cell.Unsell(-s);
  cell.Add(s);
}

}  // namespace

// Restores the folded journal into a fresh engine. SKUs first: their base
// counters. Then orders: restoring one into the book moves its stock (hold,
// then close), and an order the book cannot take back (a closed one past
// orders_max or reusing the id) gets its effect added directly.
class Engine::Restorer final : public journal::RecoveryApplier {
 public:
  Restorer(Engine* engine, const EngineOptions& options, std::int64_t wall_offset_nanos)
      : engine_(engine), options_(options), wall_offset_(wall_offset_nanos) {}

  absl::Status ApplySku(std::uint32_t index, const journal::SkuState& sku) override {
    // Define at level 0 with the lowest floor (always valid), then set the
    // recovered level and floor: a recovered level may be negative or below
    // a since-raised floor, which Define alone would refuse.
    const Catalog::Defined d = engine_->catalog_.Define(sku.name, 0, kFloorMin);
    if (d.outcome != Outcome::kOk || d.index != index) {
      return absl::DataLossError(absl::StrCat(options_.journal_dir, ": SKU '", sku.name, "' (index ", index,
                                              ") cannot be defined: ", std::string(OutcomeCode(d.outcome))));
    }
    StockCell& cell = engine_->catalog_.cell(d.index);
    cell.Add(sku.level);
    cell.SetFloor(sku.floor);
    AddSold(cell, sku.sold);
    return absl::OkStatus();
  }

  absl::Status ApplyOrder(std::uint64_t id, const journal::OrderEntry& e) override {
    std::array<OrderLine, kOrderLinesMax> lines;
    for (std::uint32_t i = 0; i < e.line_count; ++i) lines[i] = {SkuHandle{e.lines[i].sku}, e.lines[i].quantity};
    const std::span<const OrderLine> span(lines.data(), e.line_count);
    OrderBook& book = *engine_->orders_;
    if (e.state == OrderState::kFailed) {
      // Best effort: not remembered if it does not fit.
      if (book.RestoreFailed(id, span, e.short_line, e.available).ok()) {
        (void)book.RestoreChangedAt(id, ToSteady(e.changed));
      }
      return absl::OkStatus();
    }
    const OrderResult held = book.RestoreHold(id, span, ToSteady(e.deadline));
    if (!held.ok()) return NotRestored(id, e, held.outcome);
    OrderResult closed{Outcome::kOk};
    if (e.state == OrderState::kReturned) {
      closed = book.RestoreClose(id, OrderState::kCommitted);
      if (closed.ok()) closed = book.RestoreClose(id, OrderState::kReturned);
    } else if (e.state != OrderState::kHeld) {
      closed = book.RestoreClose(id, e.state);
    }
    FLASHSTOCK_CHECK(closed.ok());
    // Retention runs from the close, not from this restore, so the book
    // forgets it before the checkpointer prunes it (docs/design.md).
    if (e.state != OrderState::kHeld) (void)book.RestoreChangedAt(id, ToSteady(e.changed));
    return absl::OkStatus();
  }

  // The counters must now be what the records fold to.
  absl::Status CheckLevels(const journal::JournalState& state) const {
    const std::vector<journal::SkuLevels> want = state.Levels();
    for (std::size_t i = 0; i < want.size(); ++i) {
      const StockCell& cell = engine_->catalog_.cell(static_cast<std::uint32_t>(i));
      const journal::SkuLevels got{cell.Level(), cell.Held(), cell.Sold()};
      if (!(got == want[i])) {
        return absl::DataLossError(absl::StrCat(options_.journal_dir, ": SKU index ", i, " recovered as ",
                                                got.available, "/", got.held, "/", got.sold,
                                                " but the journal folds to ", want[i].available, "/", want[i].held,
                                                "/", want[i].sold));
      }
    }
    return absl::OkStatus();
  }

 private:
  // A journaled wall time back on the engine's clock. Saturating: a record's
  // time is any int64 the reader accepted, and a clamped deadline or change
  // time only moves an expiry or a forget to the clock's end.
  std::int64_t ToSteady(std::int64_t wall_nanos) const {
    return internal::SaturatingAdd(wall_nanos, wall_offset_ == INT64_MIN ? INT64_MAX : -wall_offset_);
  }

  // An order the book would not take back: an open hold must fit (refuse to
  // open); a closed one's effect goes straight into the counters.
  absl::Status NotRestored(std::uint64_t id, const journal::OrderEntry& e, Outcome why) {
    if (e.state == OrderState::kHeld) {
      return absl::FailedPreconditionError(absl::StrCat(options_.journal_dir, ": cannot restore open hold of order ",
                                                        id, ": ", std::string(OutcomeCode(why)), " (orders_max ",
                                                        options_.orders_max, " too small?)"));
    }
    if (e.state == OrderState::kCommitted) {
      for (std::uint32_t i = 0; i < e.line_count; ++i) {
        StockCell& cell = engine_->catalog_.cell(e.lines[i].sku);
        cell.Add(-std::int64_t{e.lines[i].quantity});
        AddSold(cell, e.lines[i].quantity);
      }
    }
    return absl::OkStatus();
  }

  Engine* const engine_;
  const EngineOptions& options_;
  const std::int64_t wall_offset_;
};

absl::Status Engine::CheckOptions(const EngineOptions& options) {
  if (options.skus_max < 1 || options.skus_max > kSkusMaxLimit) {
    return absl::InvalidArgumentError(absl::StrCat("skus_max ", options.skus_max, " not in 1..", kSkusMaxLimit));
  }
  if (options.orders_max < 1 || options.orders_max > kOrdersMaxLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("orders_max ", options.orders_max, " not in 1..", kOrdersMaxLimit));
  }
  if (!ValidOrderRetentionMs(options.order_retention_ms)) {
    return absl::InvalidArgumentError(
        absl::StrCat("order_retention_ms ", options.order_retention_ms, " not in 0..", kOrderRetentionMsMax));
  }
  if (options.escrow == EscrowMode::kOn) {
    return absl::InvalidArgumentError("escrow on for every SKU would split them all: set it per SKU, or auto");
  }
  if (options.durability == Durability::kNone && !options.journal_dir.empty()) {
    return absl::InvalidArgumentError("a journal directory needs durability async or sync");
  }
  if (options.durability != Durability::kNone && options.journal_dir.empty()) {
    return absl::InvalidArgumentError("durability async or sync needs a journal directory");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  if (options.durability == Durability::kNone) return std::make_unique<Engine>(options);

  // 1. The journal directory: locked, then recovered.
  const std::string& dir = options.journal_dir;
  if (absl::Status s = internal::CreateDirIfMissing(dir); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<internal::DirLock>> lock = internal::DirLock::Acquire(dir);
  if (!lock.ok()) return lock.status();
  journal::RecoveryOptions recovery_options;
  recovery_options.salvage = options.salvage;
  recovery_options.fs = options.file_system;
  absl::StatusOr<journal::Recovered> recovered = journal::Recover(dir, recovery_options);
  if (!recovered.ok()) return recovered.status();
  journal::JournalState& state = recovered->state;

  // 2. A fresh engine with the recovered SKUs and orders.
  const std::uint32_t skus_max =
      std::max<std::uint32_t>(options.skus_max, static_cast<std::uint32_t>(state.skus.size()));
  std::unique_ptr<Engine> engine(new Engine(options, skus_max));
  engine->lock_ = std::move(*lock);
  engine->recovery_summary_ = recovered->report.Summary();
  const Clock* clock = options.clock != nullptr ? options.clock : Clock::Steady();
  const Clock* wall = options.wall_clock != nullptr ? options.wall_clock : Clock::System();
  const std::int64_t wall_offset = wall->NowNanos() - clock->NowNanos();
  Restorer restorer(engine.get(), options, wall_offset);
  if (absl::Status s = journal::Replay(state, restorer); !s.ok()) return s;
  if (absl::Status s = restorer.CheckLevels(state); !s.ok()) return s;

  // 3. The threads: journal writer, checkpointer, expiry.
  if (absl::Status s = engine->StartJournal(options, std::move(state), wall_offset); !s.ok()) return s;
  return engine;
}

absl::Status Engine::StartJournal(const EngineOptions& options, journal::JournalState&& state,
                                  std::int64_t wall_offset_nanos) {
  internal::FileSystem* fs = options.file_system != nullptr ? options.file_system : internal::FileSystem::Default();
  const std::uint64_t first_sequence = state.sequence + 1;
  checkpointer_ = std::make_unique<journal::Checkpointer>(options.journal_dir, fs, std::move(state),
                                                          options.order_retention_ms * 1'000'000);
  journal::WriterOptions w;
  w.dir = options.journal_dir;
  w.durability = options.durability;
  w.full_queue = options.full_queue;
  w.segment_bytes_max = options.segment_bytes_max;
  w.checkpoint_bytes = options.checkpoint_bytes;
  w.first_sequence = first_sequence;
  w.fs = fs;
  journal::Checkpointer* checkpointer = checkpointer_.get();
  w.checkpoint_due = [checkpointer] { checkpointer->Due(); };
  absl::StatusOr<std::unique_ptr<journal::JournalWriter>> writer = journal::JournalWriter::Start(w);
  if (!writer.ok()) return writer.status();
  journal_ = std::move(*writer);
  checkpointer_->Start(journal_.get());
  order_journal_ = std::make_unique<EngineOrderJournal>(journal_.get(), options.durability, wall_offset_nanos);
  orders_->SetJournal(order_journal_.get());
  // Holds whose deadline passed while the engine was down expire now, and
  // the expiries are journaled like any other.
  (void)orders_->Sweep();
  if (options.expiry_thread) orders_->StartExpiryThread();
  return absl::OkStatus();
}

}  // namespace flashstock
