#include "flashstock/engine.h"

#include <algorithm>
#include <array>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "base/check.h"
#include "base/file.h"
#include "base/test_point.h"
#include "flashstock/validate.h"
#include "journal/checkpointer.h"
#include "journal/journal_writer.h"
#include "order_journal_adapter.h"
#include "orders/order_book.h"
#include "flashstock/internal/escrow.h"

namespace flashstock {

Engine::Engine(const EngineOptions& options) : Engine(options, options.skus_max) {
  FLASHSTOCK_CHECK(options.durability == Durability::kNone);
  if (options.expiry_thread) orders_->StartExpiryThread();
}

// Does not start the expiry thread: Open restores orders first.
Engine::Engine(const EngineOptions& options, std::uint32_t skus_max)
    : catalog_(skus_max),
      durability_(options.durability),
      escrow_default_(options.escrow),
      escrow_auto_any_(options.escrow == EscrowMode::kAuto),
      clock_(options.clock != nullptr ? options.clock : Clock::Steady()),
      orders_(std::make_unique<OrderBook>(&catalog_, options.clock != nullptr ? options.clock : Clock::Steady(),
                                          options.orders_max, options.order_retention_ms)) {}

// Adapts the public listener to the journal's (the journal does not know
// the engine's types).
class DurableListenerAdapter final : public journal::JournalWriter::Listener {
 public:
  explicit DurableListenerAdapter(Engine::DurableListener* l) : l_(l) {}
  void OnJournalProgress() override { l_->OnJournalProgress(); }

 private:
  Engine::DurableListener* l_;
};

Engine::~Engine() {
  // The expiry thread journals expiries: stop it before the journal goes.
  // The checkpointer's thread talks to the writer and the writer's thread
  // calls the checkpointer: stop the former, then the writer, then free.
  orders_->StopExpiryThread();
  orders_->SetJournal(nullptr);
  if (checkpointer_ != nullptr) checkpointer_->Stop();
  journal_.reset();
  checkpointer_.reset();
}

StockResult Engine::Define(std::string_view name, std::int64_t quantity, std::int64_t floor) {
  // The input first, the same way with and without a journal (validate.h).
  if (const Outcome o = ValidateDefine(name, quantity, floor); o != Outcome::kOk) return {o, 0, 0};
  if (journal_ != nullptr) return DefineJournaled(name, quantity, floor);
  // define_mu_ also without a journal: DefineMany's checks rely on it.
  std::lock_guard<std::mutex> lock(define_mu_);
  const Catalog::Defined defined = catalog_.Define(name, quantity, floor);
  if (defined.outcome != Outcome::kOk) return {defined.outcome, 0, 0};
  return {Outcome::kOk, quantity, 0};
}

// The define record is durable before the SKU exists in memory, so no change
// to it can be journaled ahead of it. The control mutex orders defines; the
// catalog's checks after validation (name taken, capacity) are made here
// first so a define that will be refused writes nothing.
// REQUIRES: ValidateDefine(name, quantity, floor) == kOk (Define checked it).
StockResult Engine::DefineJournaled(std::string_view name, std::int64_t quantity, std::int64_t floor) {
  // Held across the durable wait: defines are serialised, one per commit.
  std::lock_guard<std::mutex> lock(define_mu_);
  if (catalog_.Find(name).has_value()) return {Outcome::kAlreadyDefined, 0, 0};
  const std::uint32_t index = catalog_.size();
  if (index >= catalog_.capacity()) return {Outcome::kCatalogFull, 0, 0};
  std::uint64_t seq = 0;
  const Outcome queued = journal_->AppendControl(
      {journal::RecordType::kDefine, index, quantity, floor, std::string(name)}, [] {}, &seq);
  if (queued != Outcome::kOk) return {queued, 0, 0};
  if (!journal_->WaitControlDurable(seq)) return {Outcome::kReadOnly, 0, 0};
  const Catalog::Defined defined = catalog_.Define(name, quantity, floor);
  // Only defines add SKUs and we hold define_mu_: the checks above still hold.
  FLASHSTOCK_CHECK(defined.outcome == Outcome::kOk);
  FLASHSTOCK_CHECK(defined.index == index);
  return {Outcome::kOk, quantity, 0};
}

Engine::DefineManyResult Engine::DefineMany(std::span<const SkuDefinition> skus) {
  // Serialised with every other define, so the checks below stay true.
  std::lock_guard<std::mutex> lock(define_mu_);
  const std::uint32_t first = catalog_.size();
  absl::flat_hash_set<std::string_view> names;
  names.reserve(std::min<std::size_t>(skus.size(), catalog_.capacity() - first));
  for (std::size_t i = 0; i < skus.size(); ++i) {
    const SkuDefinition& d = skus[i];
    if (const Outcome o = ValidateDefine(d.name, d.quantity, d.floor); o != Outcome::kOk) return {o, 0, i};
    if (catalog_.Find(d.name).has_value() || !names.insert(d.name).second) {
      return {Outcome::kAlreadyDefined, 0, i};
    }
    // The same order of checks as Define: input, name taken, then room.
    if (i >= catalog_.capacity() - first) return {Outcome::kCatalogFull, 0, i};
  }
  // Journal first (as DefineJournaled does): a SKU exists in memory only once
  // its define record is durable, so no change to it can precede it on disk.
  std::size_t journaled = skus.size();
  Outcome refused = Outcome::kOk;
  std::uint64_t last_seq = 0;
  if (journal_ != nullptr) {
    for (std::size_t i = 0; i < skus.size(); ++i) {
      const SkuDefinition& d = skus[i];
      std::uint64_t seq = 0;
      const Outcome queued = journal_->AppendControl(
          {journal::RecordType::kDefine, static_cast<std::uint32_t>(first + i), d.quantity, d.floor,
           std::string(d.name)},
          [] {}, &seq);
      if (queued != Outcome::kOk) {
        journaled = i;
        refused = queued;
        break;
      }
      last_seq = seq;
    }
    if (journaled > 0 && !journal_->WaitControlDurable(last_seq)) return {Outcome::kReadOnly, 0, 0};
  }
  for (std::size_t i = 0; i < journaled; ++i) {
    const Catalog::Defined defined = catalog_.Define(skus[i].name, skus[i].quantity, skus[i].floor);
    // Checked above under define_mu_, which every define holds.
    FLASHSTOCK_CHECK(defined.outcome == Outcome::kOk);
    FLASHSTOCK_CHECK(defined.index == first + i);
  }
  return {refused, journaled, refused == Outcome::kOk ? 0 : journaled};
}

// Takes and take-up-tos: applied first, then journaled (a lost decrease only
// raises stock). The floor read is bracketed so a floor raise can wait for
// this change's record (JournalWriter::WaitForFloorReadersAndSequence).
StockResult Engine::JournaledChange(std::uint32_t index, std::int64_t quantity, int kind) {
  if (kind == kChangeRestock) return RestockJournaled(index, quantity);
  journal::JournalWriter& j = *journal_;
  journal::Producer* p = j.ThisThreadProducer();
  std::unique_lock<std::mutex> shared;
  if (p->shared) shared = std::unique_lock<std::mutex>(j.shared_mu());
  StockCell& cell = catalog_.cell(index);
  const Outcome reserved = j.Reserve(p);
  if (reserved != Outcome::kOk) return {reserved, cell.Level(), 0};
  StockResult result;
  journal::Entry entry{journal::RecordType::kTake, index, quantity};
  bool announced = false;
  auto announce = [p] { journal::JournalWriter::BeginFloorRead(p); };
  const bool up_to = kind == kChangeTakeUpTo;
  std::uint32_t retries = 0;
  std::int64_t taken = 0;  // on the pool's line, before the escrow path
  Escrow* escrow = cell.escrow();
  if (escrow == nullptr) {
    FLASHSTOCK_TEST_POINT(kTakeSawNoEscrow, index);
    // The plain take; its reads acquire and a shortfall looks at the
    // pointer again, as in Take.
    if (!up_to) {
      const StockCell::Change change = cell.TryTakeAnnounced(quantity, announce, &announced);
      retries = change.retries;
      if (change.ok) taken = quantity;
      result = {change.ok ? Outcome::kOk : Outcome::kInsufficient, change.available, taken};
    } else {
      const StockCell::Partial partial = cell.TakeUpToAnnounced(quantity, announce, &announced);
      taken = partial.taken;
      result = {Outcome::kOk, partial.available, taken};
    }
    if (taken < quantity) escrow = cell.escrow();
  }
  if (escrow != nullptr) {
    // A lease take reads no floor, but its pool draws and refusals do, and a
    // floor raise joins the SKU first: announcing every take keeps the raise
    // waiting for each one that may have spent under the old floor.
    if (!announced) announce();
    announced = true;
    const Escrow::Taken more = escrow->Take(quantity - taken, up_to, internal::ThisThreadLease());
    retries += more.retries;
    taken += more.taken;
    result = {(up_to || taken == quantity) ? Outcome::kOk : Outcome::kInsufficient, more.available, taken};
  }
  if (taken == 0) {  // nothing changed, nothing to journal
    if (announced) journal::JournalWriter::CancelFloorRead(p);
    if (shared.owns_lock()) shared.unlock();
    if (retries != 0 && escrow_auto_any_.load(std::memory_order_relaxed)) NoteContention(index, retries);
    return result;
  }
  entry.value = taken;
  FLASHSTOCK_TEST_POINT(kTakeApplied, index);
  const std::uint64_t seq = j.Push(p, entry);  // ends the floor read announced above
  if (shared.owns_lock()) shared.unlock();
  // After every lock is let go: a split takes the SKU's cause mutex.
  if (retries != 0 && escrow_auto_any_.load(std::memory_order_relaxed)) NoteContention(index, retries);
  if (durability_ == Durability::kSync && !j.WaitDurable(p, seq)) {
    // Not durable, so not acknowledged: give the units back. Visible before
    // any record of it, which is safe only because the journal has failed:
    // nothing is written after a failure, so nothing can depend on it on disk.
    cell.Add(entry.value);
    return {Outcome::kReadOnly, cell.Level(), 0};
  }
  return result;
}

// A restock is a cause: takes may use its units. So its record is pushed
// first and the units become visible only once the record is sequenced
// (docs/design.md, "Durable order follows dependence"). The SKU's cause
// mutex keeps restocks of one SKU from racing past the level ceiling
// between the check and the add: meanwhile only takes and holds (lower) and
// give-backs (within kGiveBackHeadroom, limits.h) move the level.
StockResult Engine::RestockJournaled(std::uint32_t index, std::int64_t quantity) {
  journal::JournalWriter& j = *journal_;
  journal::Producer* p = j.ThisThreadProducer();
  StockCell& cell = catalog_.cell(index);
  std::int64_t level = 0;
  std::uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> cause(CauseMutex(index));
    if (cell.Level() > kLevelMax - quantity) return {Outcome::kInvalidQuantity, cell.Level(), 0};
    {
      std::unique_lock<std::mutex> shared;
      if (p->shared) shared = std::unique_lock<std::mutex>(j.shared_mu());
      const Outcome reserved = j.Reserve(p);
      if (reserved != Outcome::kOk) return {reserved, cell.Level(), 0};
      seq = j.Push(p, {journal::RecordType::kRestock, index, quantity});
    }
    FLASHSTOCK_TEST_POINT(kCauseQueued, index);
    // A failed journal drops the record: the units never appear.
    if (!j.WaitSequenced(p, seq)) return {Outcome::kReadOnly, cell.Level(), 0};
    level = cell.Add(quantity);
    FLASHSTOCK_TEST_POINT(kCauseVisible, index);
    // Under the cause mutex: see SetFloorJournaled.
    if (Escrow* escrow = cell.escrow(); escrow != nullptr) escrow->SplitIfRoomy();
  }
  if (durability_ == Durability::kSync && !j.WaitDurable(p, seq)) {
    // As for a take above: after a failure nothing more reaches the disk.
    cell.Add(-quantity);
    return {Outcome::kReadOnly, cell.Level(), 0};
  }
  return {Outcome::kOk, level, 0};
}

std::optional<SkuHandle> Engine::Resolve(std::string_view name) const {
  std::optional<std::uint32_t> index = catalog_.Find(name);
  if (!index.has_value()) return std::nullopt;
  return SkuHandle{*index};
}

std::string_view Engine::Name(SkuHandle sku) const {
  if (!catalog_.Contains(sku.index)) return {};
  return catalog_.name(sku.index);
}


StockResult Engine::TakeUpTo(SkuHandle sku, std::int64_t quantity) {
  if (quantity <= 0) return {Outcome::kInvalidQuantity, 0, 0};
  if (!catalog_.Contains(sku.index)) return {Outcome::kUnknownSku, 0, 0};
  if (journal_ != nullptr) return JournaledChange(sku.index, quantity, kChangeTakeUpTo);
  StockCell& cell = catalog_.cell(sku.index);
  if (Escrow* escrow = cell.escrow(); escrow != nullptr) return EscrowTake(sku.index, *escrow, quantity, true);
  // Acquire, and the pointer again when short: as in Take.
  const StockCell::Partial partial = cell.TakeUpTo<std::memory_order_relaxed, std::memory_order_acquire>(quantity);
  Escrow* escrow = partial.taken < quantity ? cell.escrow() : nullptr;
  if (escrow == nullptr) return {Outcome::kOk, partial.available, partial.taken};
  const StockResult rest = EscrowTake(sku.index, *escrow, quantity - partial.taken, true);
  return {Outcome::kOk, rest.available, partial.taken + rest.taken};
}

StockResult Engine::Restock(SkuHandle sku, std::int64_t quantity) {
  if (quantity <= 0) return {Outcome::kInvalidQuantity, 0, 0};
  if (!catalog_.Contains(sku.index)) return {Outcome::kUnknownSku, 0, 0};
  if (journal_ != nullptr) return JournaledChange(sku.index, quantity, kChangeRestock);
  StockCell& cell = catalog_.cell(sku.index);
  const StockCell::Change change = cell.Restock(quantity);
  if (!change.ok) return {Outcome::kInvalidQuantity, change.available, 0};
  if (Escrow* escrow = cell.escrow(); escrow != nullptr) {
    escrow->SplitIfRoomy();
    return {Outcome::kOk, escrow->Available(), 0};
  }
  return {Outcome::kOk, change.available, 0};
}

StockResult Engine::Level(SkuHandle sku) const {
  if (!catalog_.Contains(sku.index)) return {Outcome::kUnknownSku, 0, 0};
  const StockCell& cell = catalog_.cell(sku.index);
  const Escrow* escrow = cell.escrow();
  return {Outcome::kOk, escrow != nullptr ? escrow->Available() : cell.Level(), 0};
}

StockResult Engine::SetFloor(SkuHandle sku, std::int64_t floor) {
  if (!catalog_.Contains(sku.index)) return {Outcome::kUnknownSku, 0, 0};
  if (floor > 0) return {Outcome::kInvalidQuantity, 0, 0};
  StockCell& cell = catalog_.cell(sku.index);
  if (journal_ != nullptr) return SetFloorJournaled(sku.index, floor);
  if (Escrow* escrow = cell.escrow(); escrow != nullptr) {
    escrow->SetFloor(floor);  // joined across the change: no lease spends past it
    return {Outcome::kOk, escrow->Available(), 0};
  }
  cell.SetFloor(floor);
  return {Outcome::kOk, cell.Level(), 0};
}

StockResult Engine::EscrowTake(std::uint32_t index, Escrow& escrow, std::int64_t quantity, bool up_to) {
  const Escrow::Taken taken = escrow.Take(quantity, up_to, internal::ThisThreadLease());
  if (taken.retries != 0 && escrow.mode() == EscrowMode::kAuto) {
    NoteContention(index, taken.retries);
  }
  if (!up_to && taken.taken == 0) return {Outcome::kInsufficient, taken.available, 0};
  return {Outcome::kOk, taken.available, taken.taken};
}

// Under the SKU's cause mutex, so entering or leaving escrow never splits a
// SKU between a journaled floor raise's join and its floor store.
StockResult Engine::SetEscrow(SkuHandle sku, EscrowMode mode) {
  if (!catalog_.Contains(sku.index)) return {Outcome::kUnknownSku, 0, 0};
  std::lock_guard<std::mutex> cause(CauseMutex(sku.index));
  StockCell& cell = catalog_.cell(sku.index);
  Escrow* escrow = cell.escrow();
  {
    std::lock_guard<std::mutex> lock(escrow_mu_);
    if (mode == EscrowMode::kOn && escrow == nullptr) {
      Outcome why = Outcome::kOk;
      escrow = EscrowOf(sku.index, &why);
      if (escrow == nullptr) return {why, cell.Level(), 0};
    }
    escrow_modes_[sku.index] = mode;
  }
  if (mode == EscrowMode::kAuto) escrow_auto_any_.store(true, std::memory_order_relaxed);
  // kOff and kAuto on a SKU never split need no escrow (auto makes one
  // when contended); one that has an escrow keeps it (see Take).
  if (escrow == nullptr) return {Outcome::kOk, cell.Level(), 0};
  escrow->SetMode(mode);
  return {Outcome::kOk, escrow->Available(), 0};
}

StockResult Engine::SetEscrow(std::string_view name, EscrowMode mode) {
  Outcome why;
  std::optional<SkuHandle> sku = Lookup(name, &why);
  return sku ? SetEscrow(*sku, mode) : StockResult{why, 0, 0};
}

// Publishes the escrow, joined, before any split: a take that loaded no
// pointer and is refused on the pool then finds it (see Take). The pointer
// is never cleared, so a take that finds none twice across its refusal saw
// no split in between.
Escrow* Engine::EscrowOf(std::uint32_t index, Outcome* why) {
  StockCell& cell = catalog_.cell(index);
  if (Escrow* escrow = cell.escrow(); escrow != nullptr) return escrow;
  if (escrows_.size() >= kEscrowSkusMax) {
    *why = Outcome::kEscrowFull;
    return nullptr;
  }
  std::unique_ptr<Escrow>& slot = escrows_[index];
  slot = std::make_unique<Escrow>(&cell, clock_);
  cell.set_escrow(slot.get());
  return slot.get();
}

std::optional<Engine::EscrowStatus> Engine::GetEscrow(SkuHandle sku) const {
  if (!catalog_.Contains(sku.index)) return std::nullopt;
  EscrowMode mode = escrow_default_;
  {
    std::lock_guard<std::mutex> lock(escrow_mu_);
    if (auto it = escrow_modes_.find(sku.index); it != escrow_modes_.end()) mode = it->second;
  }
  const Escrow* escrow = catalog_.cell(sku.index).escrow();
  EscrowStatus status;
  status.on = mode != EscrowMode::kOff;
  status.mode = mode;
  if (escrow != nullptr) {
    status.split = escrow->split();
    status.transitions = escrow->transitions();
  }
  return status;
}

// Per thread: the SKU whose line this thread last failed a CAS on, the
// failures counted there, and when the count began. A thread that moves to
// another SKU starts over, so only a SKU this thread keeps colliding on
// splits.
namespace {
struct ContentionTally {
  const void* engine = nullptr;
  std::uint32_t index = 0;
  std::uint32_t retries = 0;
  std::int64_t since_ns = 0;
};
thread_local ContentionTally contention_tally;
}  // namespace

void Engine::NoteContention(std::uint32_t index, std::uint32_t retries) {
  ContentionTally& t = contention_tally;
  // A count starts at its first failure: one clock read per count.
  if (t.engine != this || t.index != index || t.retries == 0) t = {this, index, 0, clock_->NowNanos()};
  t.retries += retries;
  if (t.retries < kEscrowAutoRetries) return;
  const bool hot = clock_->NowNanos() - t.since_ns <= kEscrowAutoWindowMs * 1'000'000;
  t.retries = 0;
  if (hot) AutoSplit(index);
}

void Engine::AutoSplit(std::uint32_t index) {
  std::lock_guard<std::mutex> cause(CauseMutex(index));
  Escrow* escrow = nullptr;
  {
    std::lock_guard<std::mutex> lock(escrow_mu_);
    auto it = escrow_modes_.find(index);
    if ((it != escrow_modes_.end() ? it->second : escrow_default_) != EscrowMode::kAuto) return;
    Outcome why = Outcome::kOk;
    escrow = EscrowOf(index, &why);
    if (escrow == nullptr) return;  // past kEscrowSkusMax: stays on one line
  }
  if (escrow->mode() != EscrowMode::kAuto) escrow->SetMode(EscrowMode::kAuto);
  escrow->SplitIfRoomy(/*hot=*/true);
}

// A floor change is a barrier for its SKU (docs/design.md, "Durable order
// follows dependence"). A lowering lets more be taken, so it is a cause:
// journaled first, visible once sequenced. A raise restricts, so it is
// stored first (takes starting after it obey it) and journaled only once
// every take that may have read the old floor has its record sequenced:
// replayed in file order, every take then meets the floor it was checked
// against. The cause mutex orders floor changes (and restocks) of one SKU.
StockResult Engine::SetFloorJournaled(std::uint32_t index, std::int64_t floor) {
  journal::JournalWriter& j = *journal_;
  StockCell& cell = catalog_.cell(index);
  std::uint64_t seq = 0;
  std::int64_t old_floor = 0;
  bool was_split = false;
  {
    std::lock_guard<std::mutex> cause(CauseMutex(index));
    old_floor = cell.Floor();
    if (const Escrow* escrow = cell.escrow(); escrow != nullptr) was_split = escrow->split();
    const journal::JournalWriter::Control record{journal::RecordType::kSetFloor, index, floor, 0, {}};
    if (floor > old_floor) {
      // A split SKU joins first: a lease spends without reading the floor.
      // No split can follow before the store: splits run under this mutex
      // or after a restock, which takes it too.
      if (Escrow* escrow = cell.escrow(); escrow != nullptr) was_split = escrow->Join();
      cell.SetFloor(floor);
      FLASHSTOCK_TEST_POINT(kFloorStored, index);
      Outcome o = j.WaitForFloorReadersAndSequence() ? Outcome::kOk : Outcome::kReadOnly;
      if (o == Outcome::kOk) o = j.AppendControl(record, [] {}, &seq);
      if (o != Outcome::kOk) {
        // Never journaled: back to the floor the file still has.
        cell.SetFloor(old_floor);
        return {o, cell.Level(), 0};
      }
    } else {
      const Outcome o = j.AppendControl(record, [] {}, &seq);
      if (o != Outcome::kOk) return {o, cell.Level(), 0};
      FLASHSTOCK_TEST_POINT(kCauseQueued, index);
      if (!j.WaitControlSequenced(seq)) return {Outcome::kReadOnly, cell.Level(), 0};
      cell.SetFloor(floor);
      FLASHSTOCK_TEST_POINT(kCauseVisible, index);
    }
    // Split again if it was (an auto SKU stays as hot as it was).
    if (Escrow* escrow = cell.escrow(); escrow != nullptr) escrow->SplitIfRoomy(was_split);
  }
  if (durability_ == Durability::kSync && !j.WaitControlDurable(seq)) {
    // Not durable, so not acknowledged: put the old floor back (nothing is
    // written after a failure). Two sync floor changes of one SKU failing in
    // the same commit may restore in either order; the engine is read-only
    // from here on either way.
    cell.SetFloor(old_floor);
    return {Outcome::kReadOnly, cell.Level(), 0};
  }
  return {Outcome::kOk, cell.Level(), 0};
}

std::optional<std::int64_t> Engine::Floor(SkuHandle sku) const {
  if (!catalog_.Contains(sku.index)) return std::nullopt;
  return catalog_.cell(sku.index).Floor();
}

std::uint64_t Engine::durable_sequence() const {
  return journal_ != nullptr ? journal_->durable_sequence() : 0;
}

absl::Status Engine::WaitUntilDurable() {
  return journal_ != nullptr ? journal_->WaitThisThread() : absl::OkStatus();
}

absl::Status Engine::Flush() { return journal_ != nullptr ? journal_->Flush() : absl::OkStatus(); }

Engine::DurablePoint Engine::PointThisThread() {
  if (journal_ == nullptr) return {};
  const journal::JournalWriter::Mark m = journal_->MarkThisThread();
  return {m.producer, m.seq, m.control_seq};
}

Engine::PointState Engine::Check(const DurablePoint& point) const {
  if (point.stream == nullptr) return PointState::kDurable;
  switch (journal_->Check({point.stream, point.seq, point.control_seq})) {
    case journal::JournalWriter::MarkState::kDurable:
      return PointState::kDurable;
    case journal::JournalWriter::MarkState::kFailed:
      return PointState::kFailed;
    case journal::JournalWriter::MarkState::kPending:
      break;
  }
  return PointState::kPending;
}

void Engine::SetDurableListener(DurableListener* listener) {
  if (journal_ == nullptr) return;
  auto adapter = listener != nullptr ? std::make_unique<DurableListenerAdapter>(listener) : nullptr;
  journal_->SetListener(adapter.get());
  // The journal no longer calls the old adapter: free it.
  durable_listener_ = std::move(adapter);
}

void Engine::RequestCommit() {
  if (journal_ != nullptr) journal_->RequestCommit();
}

absl::Status Engine::Checkpoint() {
  if (checkpointer_ == nullptr) return absl::FailedPreconditionError("no journal: nothing to checkpoint");
  return checkpointer_->Checkpoint();
}

std::string Engine::read_only_reason() const {
  if (journal_ == nullptr || !journal_->failed()) return {};
  return std::string(journal_->failure().message());
}

JournalStats Engine::journal_stats() const {
  JournalStats out;
  if (journal_ == nullptr) return out;
  const journal::JournalWriter::Stats s = journal_->stats();
  out.batches = s.batches;
  out.records = s.records;
  out.changes = s.changes;
  out.bytes = s.bytes;
  out.checkpoints = checkpointer_->checkpoints();
  return out;
}

std::optional<SkuHandle> Engine::Lookup(std::string_view name, Outcome* why) const {
  if (!Catalog::ValidName(name)) {
    *why = Outcome::kInvalidName;
    return std::nullopt;
  }
  std::optional<SkuHandle> sku = Resolve(name);
  if (!sku.has_value()) *why = Outcome::kUnknownSku;
  return sku;
}

StockResult Engine::Take(std::string_view name, std::int64_t quantity) {
  Outcome why;
  std::optional<SkuHandle> sku = Lookup(name, &why);
  return sku ? Take(*sku, quantity) : StockResult{why, 0, 0};
}

StockResult Engine::TakeUpTo(std::string_view name, std::int64_t quantity) {
  Outcome why;
  std::optional<SkuHandle> sku = Lookup(name, &why);
  return sku ? TakeUpTo(*sku, quantity) : StockResult{why, 0, 0};
}

StockResult Engine::Restock(std::string_view name, std::int64_t quantity) {
  Outcome why;
  std::optional<SkuHandle> sku = Lookup(name, &why);
  return sku ? Restock(*sku, quantity) : StockResult{why, 0, 0};
}

StockResult Engine::Level(std::string_view name) const {
  Outcome why;
  std::optional<SkuHandle> sku = Lookup(name, &why);
  return sku ? Level(*sku) : StockResult{why, 0, 0};
}

StockResult Engine::SetFloor(std::string_view name, std::int64_t floor) {
  Outcome why;
  std::optional<SkuHandle> sku = Lookup(name, &why);
  return sku ? SetFloor(*sku, floor) : StockResult{why, 0, 0};
}

// ---- Orders ------------------------------------------------------------------

OrderResult Engine::Reserve(OrderId id, std::span<const OrderLine> lines, std::int64_t ttl_ms) {
  return orders_->Reserve(id, lines, ttl_ms);
}
OrderResult Engine::Commit(OrderId id) { return orders_->Commit(id); }
OrderResult Engine::Cancel(OrderId id) { return orders_->Cancel(id); }
OrderResult Engine::Return(OrderId id) { return orders_->Return(id); }
std::optional<OrderInfo> Engine::GetOrder(OrderId id) const { return orders_->Get(id); }
std::size_t Engine::SweepExpired() { return orders_->Sweep(); }
ExpiryStats Engine::expiry_stats() const { return orders_->expiry_stats(); }

StockLevels Engine::Levels(SkuHandle sku) const {
  if (!catalog_.Contains(sku.index)) return {Outcome::kUnknownSku};
  const StockCell& cell = catalog_.cell(sku.index);
  const Escrow* escrow = cell.escrow();
  return {Outcome::kOk, escrow != nullptr ? escrow->Available() : cell.Level(), cell.Held(), cell.Sold()};
}

StockLevels Engine::Levels(std::string_view name) const {
  Outcome why;
  std::optional<SkuHandle> sku = Lookup(name, &why);
  return sku ? Levels(*sku) : StockLevels{why};
}

}  // namespace flashstock
