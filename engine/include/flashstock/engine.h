// flashstock's public facade: define SKUs, resolve names to handles, and take,
// take-up-to, restock and read stock, by handle (the hot path) or by name.
//
// Thread-safety: every method may be called from any thread at any time.
// By handle, a take is one compare-and-swap on the SKU's own cache line: no
// allocation, no lock, no syscall. By name, a lookup first reads the catalog
// without writing shared memory (see catalog.h).
//
// Errors: expected outcomes come back as an Outcome in a StockResult; no
// method throws.
//
// Durability: Engine::Open with a journal directory recovers it and journals
// every accepted change (docs/design.md, "Journal and recovery"):
//   kNone  - no journal (the public constructor; tests and benches use it);
//   kAsync - an answer comes once the change is in memory; durable_sequence(),
//            WaitUntilDurable() and Flush() tell or wait for the disk;
//   kSync  - an answer comes once the batch holding the change is on disk.
// A define always waits for its record to be durable when journaling, so no
// change to a SKU can reach the disk before the SKU's definition. After a
// failed write or fdatasync the engine is read-only for good: changes are
// refused with kReadOnly (in sync mode, a change whose commit failed is
// rolled back in memory and answered kReadOnly), levels are still answered.
//
// Example:
//   flashstock::Engine engine({.skus_max = 1000});
//   (void)engine.Define("tee-black-m", 500);
//   flashstock::SkuHandle tee = *engine.Resolve("tee-black-m");
//   flashstock::StockResult r = engine.Take(tee, 2);
//   if (r.outcome == flashstock::Outcome::kInsufficient) { /* r.available left */ }
#ifndef FLASHSTOCK_ENGINE_H_
#define FLASHSTOCK_ENGINE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "flashstock/internal/catalog.h"
#include "flashstock/internal/escrow.h"
#include "flashstock/clock.h"
#include "flashstock/limits.h"
#include "flashstock/options.h"
#include "flashstock/order.h"
#include "flashstock/outcome.h"
#include "flashstock/sku_handle.h"

namespace flashstock {

class OrderBook;
class EngineOrderJournal;
namespace internal {
class DirLock;
struct EngineAccess;
}  // namespace internal
namespace journal {
class JournalWriter;
struct Producer;
class Checkpointer;
struct JournalState;
}  // namespace journal
class DurableListenerAdapter;

// Journal counters, for benchmarks and the shell's status.
struct JournalStats {
  std::uint64_t batches = 0;  // group commits (one fdatasync each)
  std::uint64_t records = 0;  // journal records written
  std::uint64_t changes = 0;  // changes handed off (several may share a record)
  std::uint64_t bytes = 0;
  std::uint64_t checkpoints = 0;
};

// A SKU's three counters (see stock_cell.h for what they mean together).
struct [[nodiscard]] StockLevels {
  Outcome outcome = Outcome::kOk;
  std::int64_t available = 0;
  std::int64_t held = 0;
  std::int64_t sold = 0;

  bool ok() const { return outcome == Outcome::kOk; }
};

class Engine {
 public:
  // An engine without a journal. REQUIRES: options.durability == kNone.
  explicit Engine(const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Opens an engine; with a journal, recovers options.journal_dir first
  // (newest snapshot, then later records; a torn tail is cut and reported).
  // Errors: InvalidArgument for inconsistent options, DataLoss naming the file
  // and offset for damage that is not a torn tail (unless salvage),
  // FailedPrecondition if another process holds the directory, or the I/O
  // error.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(const EngineOptions& options);

  // Adds a SKU with `quantity` units (>= 0) and a floor (<= 0; negative allows
  // backorders down to it). Returns kOk with the level, or kInvalidName,
  // kInvalidQuantity, kAlreadyDefined, kCatalogFull. Redefining is an error:
  // restock instead.
  StockResult Define(std::string_view name, std::int64_t quantity, std::int64_t floor = 0);

  // Bulk catalog load: defines every SKU in `skus`, in order, sharing one
  // durable wait when journaling (Define waits once per SKU, which with a
  // journal costs one fdatasync each). Every definition is checked first,
  // including duplicates within `skus`; if any is refused nothing is defined
  // and `failed_at` names it. Otherwise a journal refusal (kBackpressure,
  // kReadOnly) can stop the load part way: `defined` SKUs, a prefix, exist.
  struct SkuDefinition {
    std::string_view name;
    std::int64_t quantity = 0;
    std::int64_t floor = 0;
  };
  struct [[nodiscard]] DefineManyResult {
    Outcome outcome = Outcome::kOk;
    std::size_t defined = 0;
    std::size_t failed_at = 0;  // index into `skus` when outcome != kOk
  };
  DefineManyResult DefineMany(std::span<const SkuDefinition> skus);

  // Name -> handle; nullopt for an unknown or invalid name. Resolve once, keep
  // the handle: it is valid for the engine's life.
  std::optional<SkuHandle> Resolve(std::string_view name) const;
  std::string_view Name(SkuHandle sku) const;

  // All or nothing. kOk with the level after; kInsufficient with the level
  // seen; kInvalidQuantity unless 0 < quantity; kUnknownSku.
  StockResult Take(SkuHandle sku, std::int64_t quantity);
  // Takes min(quantity, level - floor): kOk with `taken` (maybe 0) and the
  // level after; kInvalidQuantity; kUnknownSku.
  StockResult TakeUpTo(SkuHandle sku, std::int64_t quantity);
  // Adds units. kOk with the level after; kInvalidQuantity for quantity <= 0
  // or a level past INT64_MAX (nothing changes); kUnknownSku.
  StockResult Restock(SkuHandle sku, std::int64_t quantity);
  // kOk with the level now; kUnknownSku.
  StockResult Level(SkuHandle sku) const;
  // Changes the floor (<= 0, else kInvalidQuantity). Takes that start after
  // this returns obey the new floor. kOk with the level.
  StockResult SetFloor(SkuHandle sku, std::int64_t floor);
  std::optional<std::int64_t> Floor(SkuHandle sku) const;

  // The same operations by name: one lookup each, then as by handle.
  // kInvalidName for an empty or over-long name, kUnknownSku for no such SKU.
  StockResult Take(std::string_view name, std::int64_t quantity);
  StockResult TakeUpTo(std::string_view name, std::int64_t quantity);
  StockResult Restock(std::string_view name, std::int64_t quantity);
  StockResult Level(std::string_view name) const;
  StockResult SetFloor(std::string_view name, std::int64_t floor);

  // ---- Escrow: a hot SKU split across cache lines (docs/design.md, "Escrow")
  // In escrow, a SKU's units sit in a pool (its own line) and kEscrowLeases
  // leases (a line each); a take spends from its thread's lease and writes
  // no line another core's lease uses, until the lease refills from the
  // pool. Nothing else changes: a take is refused only when the pool and
  // every lease together cannot cover it (the refusing path reclaims the
  // leases first), floors, restocks, take-up-tos and orders keep their
  // meaning, and every accepted take is journaled as before. The SKU splits
  // when it has at least kEscrowSplitMin units above its floor (now, or at a
  // later restock) and runs joined (one line, as without escrow) for its
  // last units. Two things differ while split: the level a take answers is
  // a lower bound (the pool plus the caller's own lease), and Level/Levels
  // sum the pool and the leases word by word, so they can be off by units
  // moving meanwhile (at most kEscrowChunkMax per lease). Escrow is a runtime
  // setting: not journaled, back to EngineOptions::escrow after a restart.
  // kAuto splits a SKU when buyers contend for its line (kEscrowAutoRetries
  // failed CASes seen by one thread within kEscrowAutoWindowMs) and joins
  // it when it cools (kEscrowAutoCoolMs between refills) or runs low. A SKU
  // once split keeps its escrow, joined, after kOff or cooling: its takes
  // then pay one call more than a SKU never split.
  // kOk with the level; kUnknownSku; kEscrowFull past kEscrowSkusMax SKUs
  // (kOn only: an auto SKU past the limit simply stays on one line).
  StockResult SetEscrow(SkuHandle sku, EscrowMode mode);
  StockResult SetEscrow(std::string_view name, EscrowMode mode);
  StockResult SetEscrow(SkuHandle sku, bool on) { return SetEscrow(sku, on ? EscrowMode::kOn : EscrowMode::kOff); }
  StockResult SetEscrow(std::string_view name, bool on) {
    return SetEscrow(name, on ? EscrowMode::kOn : EscrowMode::kOff);
  }
  struct EscrowStatus {
    bool on = false;  // mode is kOn or kAuto
    bool split = false;             // leases open now
    std::uint64_t transitions = 0;  // splits and joins so far
    EscrowMode mode = EscrowMode::kOff;
  };
  std::optional<EscrowStatus> GetEscrow(SkuHandle sku) const;

  std::uint32_t sku_count() const { return catalog_.size(); }
  std::uint32_t skus_max() const { return catalog_.capacity(); }

  // ---- journal ----
  Durability durability() const { return durability_; }
  // The last journal sequence number on disk (0 without a journal).
  std::uint64_t durable_sequence() const;
  // Waits until every change this thread made is durable. OK without a journal.
  absl::Status WaitUntilDurable();
  // Waits until every change any thread made before the call is durable.
  absl::Status Flush();

  // Durable replies without blocking, for a front end that answers many
  // clients on one thread (flashstock serve): mark what the calling thread
  // changed, answer once Check says kDurable, and learn when to look again
  // from the listener instead of waiting.
  struct DurablePoint {
    journal::Producer* stream = nullptr;  // null: nothing to wait for
    std::uint64_t seq = 0;
    std::uint64_t control_seq = 0;
  };
  enum class PointState : std::uint8_t { kPending, kDurable, kFailed };
  // Everything the calling thread changed so far, and every define and floor
  // change any thread made so far. Without a journal: always durable.
  DurablePoint PointThisThread();
  PointState Check(const DurablePoint& point) const;
  // Called on the journal thread after every commit and once if the
  // journal fails; it must return quickly and never block. Null removes it:
  // once that returns, no call to the old listener runs. No-op without a
  // journal.
  class DurableListener {
   public:
    virtual ~DurableListener() = default;
    virtual void OnJournalProgress() = 0;
  };
  void SetDurableListener(DurableListener* listener);
  // Wakes an idle journal thread now (async mode otherwise commits within
  // kJournalIdleSleepUs). Cheap when it is awake.
  void RequestCommit();
  // Writes a snapshot now (the background one runs every checkpoint_bytes).
  // FailedPrecondition without a journal.
  absl::Status Checkpoint();
  // Non-empty once the engine is read-only: why (the failed write or sync).
  std::string read_only_reason() const;
  // What Open recovered: snapshot, records replayed, torn tail or salvage.
  const std::string& recovery_summary() const { return recovery_summary_; }
  JournalStats journal_stats() const;

  // ---- Orders ----------------------------------------------------------------
  // Holds, all-or-nothing reserves, one final state per order, returns and
  // idempotent retries; the value types and lifecycle are in order.h.
  OrderResult Reserve(OrderId id, std::span<const OrderLine> lines, std::int64_t ttl_ms);
  OrderResult Commit(OrderId id);
  OrderResult Cancel(OrderId id);
  OrderResult Return(OrderId id);
  std::optional<OrderInfo> GetOrder(OrderId id) const;
  // available, held, sold; kUnknownSku (or kInvalidName by name).
  StockLevels Levels(SkuHandle sku) const;
  StockLevels Levels(std::string_view name) const;
  // Runs the expiry driver once at the clock's time (what the expiry thread
  // does every kExpirySweepIntervalNanos); returns the holds it expired.
  std::size_t SweepExpired();
  ExpiryStats expiry_stats() const;

 private:
  Engine(const EngineOptions& options, std::uint32_t skus_max);
  // Open's steps (engine_open.cc): the options, the recovered state restored
  // through Restorer (journal/recovery.h's RecoveryApplier), then the threads.
  class Restorer;
  static absl::Status CheckOptions(const EngineOptions& options);
  absl::Status StartJournal(const EngineOptions& options, journal::JournalState&& state,
                            std::int64_t wall_offset_nanos);
  // Resolves a name for a by-name call, or says why it cannot.
  std::optional<SkuHandle> Lookup(std::string_view name, Outcome* why) const;
  static constexpr int kChangeTake = 0;  // JournaledChange's kinds
  static constexpr int kChangeTakeUpTo = 1;
  static constexpr int kChangeRestock = 2;
  StockResult JournaledChange(std::uint32_t index, std::int64_t quantity, int kind);
  StockResult RestockJournaled(std::uint32_t index, std::int64_t quantity);
  StockResult SetFloorJournaled(std::uint32_t index, std::int64_t floor);
  // Serialises the causes of one SKU that must be checked before they are
  // journaled and applied after (restock, floor change); striped by index.
  static constexpr std::size_t kCauseStripes = 64;
  std::mutex& CauseMutex(std::uint32_t index) { return cause_mu_[index % kCauseStripes]; }
  StockResult DefineJournaled(std::string_view name, std::int64_t quantity, std::int64_t floor);
  // A take or take-up-to on a SKU in escrow, without a journal.
  StockResult EscrowTake(std::uint32_t index, Escrow& escrow, std::int64_t quantity, bool up_to);
  // A take that failed `retries` CASes on a SKU's line: counts them for
  // auto escrow (a thread-local tally) and splits the SKU at the threshold.
  void NoteContention(std::uint32_t index, std::uint32_t retries);
  void AutoSplit(std::uint32_t index);
  // The SKU's escrow, made if it has none (kEscrowFull past the limit).
  // REQUIRES: escrow_mu_ held.
  Escrow* EscrowOf(std::uint32_t index, Outcome* why);

  Catalog catalog_;
  Durability durability_ = Durability::kNone;
  std::mutex define_mu_;  // serialises all defines (std::mutex: visible to TSan)
  std::array<std::mutex, kCauseStripes> cause_mu_;
  // Every SKU's escrow once first put in escrow (kept, and its cell's
  // pointer with it, when taken out: see Take), by SKU index, and every
  // mode set per SKU. Guarded by escrow_mu_.
  mutable std::mutex escrow_mu_;
  absl::flat_hash_map<std::uint32_t, std::unique_ptr<Escrow>> escrows_;
  absl::flat_hash_map<std::uint32_t, EscrowMode> escrow_modes_;
  const EscrowMode escrow_default_;
  // Whether any SKU may be auto: a contended take counts its retries only
  // then. Relaxed: a take that misses a fresh kAuto counts from its next.
  std::atomic<bool> escrow_auto_any_{false};
  const Clock* const clock_;
  std::unique_ptr<internal::DirLock> lock_;
  std::unique_ptr<journal::Checkpointer> checkpointer_;
  // Before journal_: destroyed after it, so the journal thread never
  // calls a freed adapter.
  std::unique_ptr<DurableListenerAdapter> durable_listener_;
  std::unique_ptr<journal::JournalWriter> journal_;
  std::string recovery_summary_;
  // Journals the order book's changes (null without a journal). Declared
  // before orders_ so it outlives the book.
  std::unique_ptr<EngineOrderJournal> order_journal_;
  std::unique_ptr<OrderBook> orders_;  // after catalog_: destroyed (expiry thread stopped) first

  friend struct internal::EngineAccess;  // tests of internals (engine/engine_access.h)
};

// Inline: the hot path, so a caller's take is the checks and one CAS with no
// call in between.
inline StockResult Engine::Take(SkuHandle sku, std::int64_t quantity) {
  if (quantity <= 0) return {Outcome::kInvalidQuantity, 0, 0};
  if (!catalog_.Contains(sku.index)) return {Outcome::kUnknownSku, 0, 0};
  if (journal_ != nullptr) return JournaledChange(sku.index, quantity, kChangeTake);
  StockCell& cell = catalog_.cell(sku.index);
  Escrow* escrow = cell.escrow();
  if (escrow == nullptr) [[likely]] {
    // Acquire: if this is refused, a split that began before it is seen
    // below (the pointer is published before any split, and never cleared).
    const StockCell::Change change = cell.TryTake<std::memory_order_acquire>(quantity);
    if (change.retries != 0 && escrow_auto_any_.load(std::memory_order_relaxed)) [[unlikely]] {
      NoteContention(sku.index, change.retries);
    }
    if (change.ok) return {Outcome::kOk, change.available, quantity};
    // Refused on the pool's line alone: exact unless the SKU went into
    // escrow meanwhile, with units in leases.
    escrow = cell.escrow();
    if (escrow == nullptr) return {Outcome::kInsufficient, change.available, 0};
    return EscrowTake(sku.index, *escrow, quantity, false);
  }
  // In escrow: the caller's own lease, inline; anything else out of line.
  std::int64_t available = 0;
  if (escrow->TrySpendLease(quantity, internal::ThisThreadLease(), &available)) {
    return {Outcome::kOk, available, quantity};
  }
  return EscrowTake(sku.index, *escrow, quantity, false);
}

}  // namespace flashstock

#endif  // FLASHSTOCK_ENGINE_H_
