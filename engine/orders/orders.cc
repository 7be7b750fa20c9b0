#include "orders/order_book.h"

#include <algorithm>
#include <chrono>
#include <new>
#include <type_traits>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "flashstock/internal/catalog.h"
#include "flashstock/internal/stock_cell.h"
#include "flashstock/validate.h"
#include "flashstock/internal/escrow.h"
#include "base/check.h"
#include "base/forget_rule.h"
#include "base/test_point.h"
#include "orders/timer_wheel.h"
#include "base/thread_name.h"

// Memory ordering, edge by edge.
//
// 1. Reserve -> other API threads. The reserving thread fills the slot (id,
//    deadline, lines) and inserts id -> slot under the shard mutex; every
//    other API thread finds the slot under that mutex, so the unlock/lock
//    pair publishes those fields. They do not change while the slot is busy.
// 2. Reserve's outcome. The stock moves and the failure fields
//    (short_line, short_available) are written outside the mutex, then the
//    state is stored HELD or FAILED with release; readers load the state with
//    acquire before reading the failure fields.
// 3. Reserve -> expiry driver. HandOff pushes the slot on the shard's
//    hand-off list with a release CAS; the driver takes the whole list with
//    an acquire exchange, so it sees every field written before the push.
// 4. The decision. The CAS HELD -> <winner>|moving (and COMMITTED ->
//    RETURNED|moving) is relaxed: it publishes nothing. The slot's fields are
//    already visible to both possible deciders (edges 1 and 3), the stock
//    moves are RMWs on their own counters, and a loser only reports the
//    winner's name. All deciders but the driver CAS under the shard mutex,
//    so at most two (one API thread, the driver) ever race, and only from
//    HELD.
// 5. Finish -> recycling. The winner reads the slot's lines while moving
//    stock, then stores the final state with release. The driver recycles a
//    slot only after an acquire load shows a final state without the moving
//    bit, so the winner's reads happen before the slot's next owner writes.
//    A Return, which waits for COMMITTED without the moving bit, is ordered
//    after the commit's stock moves the same way.
// 6. Free list. The driver pushes a slot with a release CAS on free_head_; a
//    reserving thread pops with acquire, so the driver's last reads of the
//    slot happen before the new owner's writes.

namespace flashstock {

constexpr std::uint32_t kMovingBit = 0x100;
constexpr std::uint32_t StateWord(OrderState s) { return static_cast<std::uint32_t>(s); }
constexpr OrderState StateOf(std::uint32_t word) { return static_cast<OrderState>(word & 0xff); }

struct alignas(kCacheLineSize) OrderBook::Slot {
  std::atomic<std::uint32_t> state{StateWord(OrderState::kNone)};  // OrderState | kMovingBit
  std::atomic<std::uint32_t> next{kNoSlot};  // free list or hand-off list
  OrderId id = 0;
  std::int64_t deadline_nanos = 0;
  // Time of the last final-state change. Atomic because a Return rewrites it
  // while the driver may be reading it; relaxed: ordered by `state` (edge 5).
  std::atomic<std::int64_t> changed_nanos{0};
  std::int64_t short_available = 0;  // FAILED: the available count seen
  std::uint8_t line_count = 0;
  std::uint8_t short_line = 0;       // FAILED: which line was short
  PackedLine lines[kOrderLinesMax];
};
static_assert(kOrderLinesMax <= 255, "line_count fits a byte");

struct alignas(kCacheLineSize) OrderBook::Shard {
  // Guards `ids`. Held for a lookup, an insert or erase, and at most one
  // CAS: never while stock moves, never across a wait.
  std::mutex mu;
  absl::flat_hash_map<OrderId, std::uint32_t> ids;
  // Head of this shard's hand-off list to the expiry driver (edge 3).
  std::atomic<std::uint32_t> incoming{kNoSlot};
};

namespace {

// Lateness histogram: 50 us buckets up to 100 ms; the last bucket is "more".
constexpr std::int64_t kLatenessBucketNanos = 50'000;
constexpr std::size_t kLatenessBuckets = 2001;

// Waits for another thread's bounded, non-blocking work (a reserve moving
// stock, a winner finishing its moves). Spins briefly, then yields, so on
// two cores the thread we wait for gets to run: an unbounded spin would
// starve it.
class Backoff {
 public:
  void Wait() {
    if (++spins_ < 64) return;
    std::this_thread::yield();
  }

 private:
  int spins_ = 0;
};

// Sweeps one reserve may run when it finds every slot busy (see Reserve).
constexpr int kReserveHelpsMax = 16;

std::int64_t TickCeil(std::int64_t nanos) {
  return nanos / kExpiryTickNanos + (nanos % kExpiryTickNanos > 0 ? 1 : 0);
}
std::int64_t TickFloor(std::int64_t nanos) {
  return nanos / kExpiryTickNanos - (nanos % kExpiryTickNanos < 0 ? 1 : 0);
}

}  // namespace

void OrderBook::SlotsDeleter::operator()(Slot* slots) const {
  ::operator delete(slots, std::align_val_t{alignof(Slot)});
}

OrderBook::OrderBook(Catalog* catalog, const Clock* clock, std::uint32_t orders_max,
                     std::int64_t retention_ms)
    : catalog_(catalog),
      clock_(clock),
      capacity_(orders_max),
      retention_nanos_(retention_ms * 1'000'000),
      // Raw storage: a slot is constructed when first handed out, so an
      // engine sized for millions of orders costs address space, not memory,
      // until they come.
      slots_(static_cast<Slot*>(::operator new(sizeof(Slot) * std::size_t{orders_max},
                                               std::align_val_t{alignof(Slot)}))),
      shards_(new Shard[kOrderShards]),
      free_head_(kNoSlot),
      lateness_histogram_(new std::atomic<std::uint64_t>[kLatenessBuckets]) {
  static_assert(sizeof(Slot) == 2 * kCacheLineSize, "an order slot is two cache lines");
  static_assert(std::is_trivially_destructible_v<Slot>, "slots are freed without destruction");
  FLASHSTOCK_CHECK(catalog != nullptr);
  FLASHSTOCK_CHECK(clock != nullptr);
  FLASHSTOCK_CHECK(orders_max >= 1);
  FLASHSTOCK_CHECK(orders_max <= kOrdersMaxLimit);
  FLASHSTOCK_CHECK(ValidOrderRetentionMs(retention_ms));
  for (std::size_t i = 0; i < kLatenessBuckets; ++i) lateness_histogram_[i].store(0, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(sweep_mu_);
  wheel_ = std::make_unique<internal::TimerWheel>(orders_max, TickFloor(clock_->NowNanos()));
}

OrderBook::~OrderBook() { StopExpiryThread(); }

// One operation's journal reservation (see OrderJournal): Begin() before
// anything changes; Append() once the transition is won; otherwise the
// destructor abandons it.
class OrderBook::Prepared {
 public:
  explicit Prepared(OrderJournal* journal) : journal_(journal) {}
  ~Prepared() { Release(); }
  Prepared(const Prepared&) = delete;
  Prepared& operator=(const Prepared&) = delete;
  Outcome Begin(bool reads_floor = false) {
    if (journal_ == nullptr) return Outcome::kOk;
    const Outcome o = journal_->Prepare(reads_floor);
    open_ = o == Outcome::kOk;
    return o;
  }
  OrderTicket Append(const OrderEvent& event) {
    if (!open_) return {};
    open_ = false;
    return journal_->Append(event);
  }
  void Release() {
    if (open_) journal_->Abandon();
    open_ = false;
  }

 private:
  OrderJournal* const journal_;
  bool open_ = false;
};

void OrderBook::StopExpiryThread() {
  {
    std::lock_guard<std::mutex> lock(thread_mu_);
    stop_ = true;
  }
  thread_cv_.notify_all();
  if (expiry_thread_.joinable()) expiry_thread_.join();
}

void OrderBook::SetJournal(OrderJournal* journal) {
  if (journal != nullptr && tickets_ == nullptr) {
    static_assert(std::is_trivially_copyable_v<Tickets>, "tickets live in raw memory");
    tickets_.reset(static_cast<Tickets*>(::operator new(sizeof(Tickets) * std::size_t{capacity_})));
    // Slots in use already (restored) have no records to wait for.
    std::fill_n(tickets_.get(), fresh_.load(std::memory_order_relaxed), Tickets{});
  }
  journal_ = journal;
}

OrderEvent OrderBook::EventOf(const Slot& slot, OrderState state, std::int64_t now_nanos) const {
  OrderEvent e;
  e.state = state;
  e.id = slot.id;
  e.deadline_nanos = slot.deadline_nanos;
  e.at_nanos = now_nanos;
  if (state == OrderState::kHeld || state == OrderState::kFailed) {
    e.line_count = slot.line_count;
    for (std::uint32_t i = 0; i < slot.line_count; ++i) e.lines[i] = {slot.lines[i].sku, slot.lines[i].quantity};
  }
  if (state == OrderState::kFailed) {
    e.short_line = slot.short_line;
    e.available = slot.short_available;
  }
  return e;
}

OrderResult OrderBook::Acknowledge(OrderResult result, const OrderTicket* tickets, std::size_t count) {
  if (journal_ != nullptr && !journal_->WaitDurable(tickets, count)) return {Outcome::kReadOnly, result.state};
  return result;
}

std::size_t OrderBook::ShardIndex(std::size_t hash) {
  // High bits: flat_hash_map filters on the hash's low 7 bits, so shards
  // picked from those would share them and weaken its filtering.
  return hash >> (sizeof(std::size_t) * 8 - 6) & (kOrderShards - 1);
}

OrderBook::Shard& OrderBook::ShardFor(OrderId id) const {
  return shards_[ShardIndex(absl::Hash<OrderId>{}(id))];
}
static_assert(kOrderShards <= 64, "ShardFor takes the hash's top 6 bits");

OrderResult OrderBook::Normalise(std::span<const OrderLine> lines, Normalised* out) const {
  out->count = 0;
  for (const OrderLine& line : lines) {
    if (const Outcome o = ValidateOrderLineQuantity(line.quantity); o != Outcome::kOk) return {o};
    if (!catalog_->Contains(line.sku.index)) return {Outcome::kUnknownSku};
    // Insertion into a short sorted array, summing duplicates.
    std::uint32_t at = 0;
    while (at < out->count && out->lines[at].sku < line.sku.index) ++at;
    if (at < out->count && out->lines[at].sku == line.sku.index) {
      const std::int64_t sum = std::int64_t{out->lines[at].quantity} + line.quantity;
      if (const Outcome o = ValidateOrderLineQuantity(sum); o != Outcome::kOk) return {o};
      out->lines[at].quantity = static_cast<std::uint32_t>(sum);
      continue;
    }
    if (const Outcome o = ValidateLineCount(out->count + 1); o != Outcome::kOk) return {o};
    std::move_backward(out->lines.begin() + at, out->lines.begin() + out->count,
                       out->lines.begin() + out->count + 1);
    out->lines[at] = {line.sku.index, static_cast<std::uint32_t>(line.quantity)};
    ++out->count;
  }
  return {Outcome::kOk};
}

std::uint32_t OrderBook::Allocate() {
  // Acquire: pairs with Free's release CAS (edge 6).
  std::uint64_t head = free_head_.load(std::memory_order_acquire);
  while (static_cast<std::uint32_t>(head) != kNoSlot) {
    const std::uint32_t index = static_cast<std::uint32_t>(head);
    // May read a link that is being rewritten (the slot popped and pushed
    // again meanwhile); then the tag has moved on and the CAS fails.
    const std::uint32_t next = slots_[index].next.load(std::memory_order_relaxed);
    const std::uint64_t desired = (((head >> 32) + 1) << 32) | next;
    if (free_head_.compare_exchange_weak(head, desired, std::memory_order_acquire,
                                         std::memory_order_acquire)) {
      return index;
    }
  }
  // Relaxed: the counter only hands out distinct indices; the new slot is
  // constructed by its owner and published by the shard mutex (edge 1).
  std::uint32_t fresh = fresh_.load(std::memory_order_relaxed);
  while (fresh < capacity_) {
    if (fresh_.compare_exchange_weak(fresh, fresh + 1, std::memory_order_relaxed,
                                     std::memory_order_relaxed)) {
      new (&slots_[fresh]) Slot();
      return fresh;
    }
  }
  return kNoSlot;
}

void OrderBook::FreeChain(std::uint32_t first, std::uint32_t last) {
  std::uint64_t head = free_head_.load(std::memory_order_relaxed);
  while (true) {
    slots_[last].next.store(static_cast<std::uint32_t>(head), std::memory_order_relaxed);
    const std::uint64_t desired = (((head >> 32) + 1) << 32) | first;
    // Release: pairs with Allocate's acquire (edge 6), and publishes the
    // chain's links.
    if (free_head_.compare_exchange_weak(head, desired, std::memory_order_release,
                                         std::memory_order_relaxed)) {
      return;
    }
  }
}

void OrderBook::HandOff(Shard& shard, std::uint32_t index) {
  std::uint32_t head = shard.incoming.load(std::memory_order_relaxed);
  do {
    slots_[index].next.store(head, std::memory_order_relaxed);
    // Release: pairs with the driver's acquire exchange in Sweep (edge 3).
  } while (!shard.incoming.compare_exchange_weak(head, index, std::memory_order_release,
                                                 std::memory_order_relaxed));
}

OrderResult OrderBook::Reserve(OrderId id, std::span<const OrderLine> lines, std::int64_t ttl_ms) {
  if (const Outcome o = ValidateReserveShape(id, ttl_ms, lines.size()); o != Outcome::kOk) return {o};
  Normalised norm;
  if (OrderResult r = Normalise(lines, &norm); !r.ok()) return r;
  // Journal room first: a refusal here has changed nothing.
  Prepared prepared(journal_);
  if (const Outcome o = prepared.Begin(/*reads_floor=*/true); o != Outcome::kOk) return {o};
  Shard& shard = ShardFor(id);
  Claim claim;
  if (const Outcome o = ClaimSlot(shard, id, norm, ttl_ms, prepared, &claim); o != Outcome::kOk) return {o};
  if (claim.index == kNoSlot) {
    prepared.Release();
    return Acknowledge(claim.answer, claim.waits, 2);
  }
  return HoldLines(shard, claim.index, norm, claim.now, prepared);
}

Outcome OrderBook::ClaimSlot(Shard& shard, OrderId id, const Normalised& norm, std::int64_t ttl_ms,
                             Prepared& prepared, Claim* claim) {
  int helps = 0;
  for (Backoff backoff;; backoff.Wait()) {
    std::unique_lock<std::mutex> lock(shard.mu);
    auto it = shard.ids.find(id);
    if (it == shard.ids.end()) {
      const std::uint32_t index = Allocate();
      if (index == kNoSlot) {
        // Every slot busy. If the driver is only behind (on 2 cores with
        // many busy threads it gets a small share of the CPU), forgetting
        // what is due frees slots: run its sweep, outside the shard mutex
        // (the sweep takes shard mutexes), then look again. Again while a
        // sweep of ours frees slots that other reserves take first, up to
        // kReserveHelpsMax times; a sweep that frees nothing means full.
        if (helps == kReserveHelpsMax) return Outcome::kOrdersFull;
        lock.unlock();
        // The sweep journals its expiries through this thread's producer:
        // give our room back first (a reservation covers one push, and the
        // shared producer's is a held mutex), and take it again after.
        prepared.Release();
        ++helps;
        if (HelpSweep() == 0) helps = kReserveHelpsMax;
        if (const Outcome o = prepared.Begin(/*reads_floor=*/true); o != Outcome::kOk) return o;
        continue;
      }
      Slot& slot = slots_[index];
      slot.id = id;
      // The one clock reading of this reserve: the deadline, and the
      // failure's time if a line is short (steady_clock costs ~50-75 ns on
      // this VM).
      claim->now = clock_->NowNanos();
      slot.deadline_nanos = claim->now + ttl_ms * 1'000'000;
      slot.line_count = static_cast<std::uint8_t>(norm.count);
      std::copy_n(norm.lines.begin(), norm.count, slot.lines);
      // Relaxed: published with the other fields by the mutex (edge 1).
      slot.state.store(StateWord(OrderState::kReserving), std::memory_order_relaxed);
      shard.ids.emplace(id, index);
      claim->index = index;
      return Outcome::kOk;
    }
    // A retry (or a concurrent duplicate) of a known id.
    const Slot& slot = slots_[it->second];
    if (slot.line_count != norm.count || !std::equal(norm.lines.begin(), norm.lines.begin() + norm.count, slot.lines)) {
      return Outcome::kOrderConflict;
    }
    // Acquire: pairs with the release store of HELD/FAILED (edge 2).
    const std::uint32_t word = slot.state.load(std::memory_order_acquire);
    const OrderState state = StateOf(word);
    if (state == OrderState::kReserving) continue;  // the first reserve is still moving stock
    if (journal_ != nullptr && (word & kMovingBit) != 0) continue;  // a close's ticket is not there yet
    if (state == OrderState::kFailed) {
      claim->answer = {Outcome::kInsufficient, state, SkuHandle{slot.lines[slot.short_line].sku},
                       slot.short_available};
    } else {
      claim->answer = {Outcome::kOk, state};
    }
    if (journal_ != nullptr) {
      // The answer repeats what the journal says: it waits for those records.
      claim->waits[0] = tickets_[it->second].reserve;
      claim->waits[1] = state == OrderState::kFailed || state == OrderState::kHeld ? OrderTicket{}
                                                                                  : tickets_[it->second].close;
    }
    return Outcome::kOk;
  }
}

// Outside the mutex: move stock, line by line, in SKU order; all or none.
OrderResult OrderBook::HoldLines(Shard& shard, std::uint32_t index, const Normalised& norm, std::int64_t now,
                                 Prepared& prepared) {
  Slot& slot = slots_[index];
  for (std::uint32_t i = 0; i < norm.count; ++i) {
    const StockCell::Change change = HoldUnits(catalog_->cell(norm.lines[i].sku), norm.lines[i].quantity);
    if (change.ok) continue;
    for (std::uint32_t j = 0; j < i; ++j) catalog_->cell(norm.lines[j].sku).ReleaseHold(norm.lines[j].quantity);
    slot.short_line = static_cast<std::uint8_t>(i);
    slot.short_available = change.available;
    slot.changed_nanos.store(now, std::memory_order_relaxed);
    OrderTicket ticket;
    if (journal_ != nullptr) {
      // Journaled so that the id stays failed across a restart.
      ticket = prepared.Append(EventOf(slot, OrderState::kFailed, now));
      tickets_[index] = {ticket, {}};
    }
    // Release: publishes the failure fields (edge 2).
    slot.state.store(StateWord(OrderState::kFailed), std::memory_order_release);
    HandOff(shard, index);  // remembered for retention, then forgotten
    return Acknowledge({Outcome::kInsufficient, OrderState::kFailed, SkuHandle{norm.lines[i].sku}, change.available},
                       &ticket, 1);
  }
  OrderTicket ticket;
  if (journal_ != nullptr) {
    // Every line is held: the whole reserve is one record (all lines or none
    // on disk). Pushed before HELD is published, so any close of this order
    // is pushed after it and can find its ticket.
    ticket = prepared.Append(EventOf(slot, OrderState::kHeld, now));
    tickets_[index] = {ticket, {}};
  }
  // Release: pairs with acquire loads of the state (edge 2).
  slot.state.store(StateWord(OrderState::kHeld), std::memory_order_release);
  HandOff(shard, index);
  return Acknowledge({Outcome::kOk, OrderState::kHeld}, &ticket, 1);
}

OrderResult OrderBook::Commit(OrderId id) { return Decide(id, OrderState::kCommitted, true); }
OrderResult OrderBook::Cancel(OrderId id) { return Decide(id, OrderState::kCancelled, true); }
OrderResult OrderBook::Return(OrderId id) { return Decide(id, OrderState::kReturned, true); }

OrderResult OrderBook::Decide(OrderId id, OrderState target, bool honour_deadline) {
  // Journal room first: a refusal here has changed nothing.
  Prepared prepared(journal_);
  if (const Outcome o = prepared.Begin(); o != Outcome::kOk) return {o};
  Shard& shard = ShardFor(id);
  for (Backoff backoff;; backoff.Wait()) {
    Decision d;
    switch (DecideLocked(shard, id, target, honour_deadline, &d)) {
      case DecideStep::kRetry:
        continue;
      case DecideStep::kAnswer:
        return d.answer;
      case DecideStep::kLost: {
        prepared.Release();
        const OrderTicket waits[2] = {d.deps.reserve, d.deps.close};
        return Acknowledge(d.answer, waits, 2);
      }
      case DecideStep::kWon:
        return CloseWon(d, target, prepared);
    }
  }
}

OrderBook::DecideStep OrderBook::DecideLocked(Shard& shard, OrderId id, OrderState target, bool honour_deadline,
                                              Decision* d) {
  const OrderState from = target == OrderState::kReturned ? OrderState::kCommitted : OrderState::kHeld;
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.ids.find(id);
  if (it == shard.ids.end()) {
    d->answer = {Outcome::kUnknownOrder};
    return DecideStep::kAnswer;
  }
  d->index = it->second;
  Slot& slot = slots_[d->index];
  // Acquire: pairs with the release stores of edges 2 and 5.
  std::uint32_t word = slot.state.load(std::memory_order_acquire);
  if (word == StateWord(OrderState::kReserving)) return DecideStep::kRetry;
  // A return waits for a commit to finish moving its stock (edge 5).
  if (word == (StateWord(from) | kMovingBit)) return DecideStep::kRetry;
  // Journaled: a loser names the winner only once the winner's record is
  // pushed (its ticket is stored before the final state is).
  if (journal_ != nullptr && (word & kMovingBit) != 0) return DecideStep::kRetry;
  if (word != StateWord(from)) {
    d->answer = {Outcome::kOrderClosed, StateOf(word)};
    if (target == OrderState::kReturned && StateOf(word) == OrderState::kHeld) {
      d->answer = {Outcome::kOrderOpen, OrderState::kHeld};
    }
    if (journal_ == nullptr) return DecideStep::kAnswer;
    if (StateOf(word) == OrderState::kHeld) {
      // Only the reserve's ticket: it was stored before HELD was published,
      // while the expiry driver may be writing `close` right now (it
      // decides outside the shard mutex).
      d->deps.reserve = tickets_[d->index].reserve;
    } else {
      d->deps = tickets_[d->index];  // final: stored before the final state (edge 2)
    }
    return DecideStep::kLost;
  }
  // The one clock reading of this decision: the deadline check, the close's
  // time in the slot and in the journal record.
  d->now = clock_->NowNanos();
  d->won = target;
  if (honour_deadline && from == OrderState::kHeld && d->now >= slot.deadline_nanos) {
    d->won = OrderState::kExpired;  // a late commit or cancel performs the expiry
  }
  // The decision (edge 4). Relaxed: publishes nothing; see the top.
  if (!slot.state.compare_exchange_strong(word, StateWord(d->won) | kMovingBit, std::memory_order_relaxed,
                                          std::memory_order_relaxed)) {
    // Only the expiry driver decides outside this mutex, and only from
    // HELD: it won. Journaled, wait for its record (retry); else answer.
    if (journal_ != nullptr) return DecideStep::kRetry;
    d->answer = {Outcome::kOrderClosed, StateOf(word)};
    return DecideStep::kAnswer;
  }
  // Read before this close overwrites them: the reserve (and, for a
  // return, the commit) this answer depends on.
  if (journal_ != nullptr) d->deps = tickets_[d->index];
  return DecideStep::kWon;
}

OrderResult OrderBook::CloseWon(const Decision& d, OrderState target, Prepared& prepared) {
  OrderTicket own;
  if (journal_ != nullptr) {
    // Won, stock not moved yet. The record goes behind the reserve it
    // closes (a return: behind the commit), then is pushed (room was
    // reserved); its ticket is stored before Finish publishes the final
    // state. A give-back's units appear only once the record is
    // sequenced, so nothing that uses them is written before it. A failed
    // journal writes nothing more, so then the stock may move regardless.
    const OrderTicket after[2] = {d.deps.reserve, target == OrderState::kReturned ? d.deps.close : OrderTicket{}};
    (void)journal_->OrderAfter(after, 2);
    own = prepared.Append(EventOf(slots_[d.index], d.won, d.now));
    tickets_[d.index].close = own;
    if (d.won != OrderState::kCommitted) {
      FLASHSTOCK_TEST_POINT(kCauseQueued, d.index);
      (void)journal_->WaitSequenced(own);
    }
  }
  Finish(d.index, d.won, d.now);
  if (d.won != OrderState::kCommitted) FLASHSTOCK_TEST_POINT(kCauseVisible, d.index);
  const OrderResult result =
      d.won != target ? OrderResult{Outcome::kOrderClosed, d.won} : OrderResult{Outcome::kOk, d.won};
  if (journal_ == nullptr) return result;
  // In sync mode the answer waits for this record, the reserve's and, for a
  // return, the commit's: they may sit in other threads' rings, and the
  // journal thread may write them in a later batch than this one.
  const OrderTicket waits[3] = {own, d.deps.reserve, target == OrderState::kReturned ? d.deps.close : OrderTicket{}};
  return Acknowledge(result, waits, 3);
}

void OrderBook::Finish(std::uint32_t index, OrderState won, std::int64_t now_nanos) {
  Slot& slot = slots_[index];
  for (std::uint32_t i = 0; i < slot.line_count; ++i) {
    StockCell& cell = catalog_->cell(slot.lines[i].sku);
    const std::int64_t q = slot.lines[i].quantity;
    switch (won) {
      case OrderState::kCommitted: cell.SellHold(q); break;
      case OrderState::kCancelled:
      case OrderState::kExpired: cell.ReleaseHold(q); break;
      case OrderState::kReturned: cell.Unsell(q); break;
      default: FLASHSTOCK_CHECK(false);
    }
  }
  slot.changed_nanos.store(now_nanos, std::memory_order_relaxed);
  // Release: the stock is moved and the lines read (edge 5).
  slot.state.store(StateWord(won), std::memory_order_release);
}

std::optional<OrderInfo> OrderBook::Get(OrderId id) const {
  Shard& shard = ShardFor(id);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.ids.find(id);
  if (it == shard.ids.end()) return std::nullopt;
  const Slot& slot = slots_[it->second];
  OrderInfo info;
  // Acquire: as in Decide. A moving state reports its winner.
  info.state = StateOf(slot.state.load(std::memory_order_acquire));
  info.deadline_nanos = slot.deadline_nanos;
  info.line_count = slot.line_count;
  for (std::uint32_t i = 0; i < slot.line_count; ++i) {
    info.lines[i] = {SkuHandle{slot.lines[i].sku}, slot.lines[i].quantity};
  }
  return info;
}

// ---- The expiry driver ------------------------------------------------------

// The one forget rule (base/forget_rule.h), fed what the journal records
// about the slot: its last change and, unless it failed (a failed reserve's
// record has no deadline), its hold's deadline. So a hold that closed early
// is kept until its deadline whether or not the driver saw it open.
std::int64_t OrderBook::ForgetAt(const Slot& slot, std::uint32_t word) const {
  const std::int64_t deadline =
      StateOf(word) == OrderState::kFailed ? internal::kNoDeadline : slot.deadline_nanos;
  return internal::OrderForgetAtNanos(slot.changed_nanos.load(std::memory_order_relaxed), deadline,
                                      retention_nanos_);
}

std::size_t OrderBook::Sweep() {
  std::lock_guard<std::mutex> lock(sweep_mu_);
  return SweepLocked();
}

std::uint64_t OrderBook::HelpSweep() {
  // Blocking: if the driver is sweeping, its sweep may have drained the
  // hand-off lists before our closes; ours, right after, sees them.
  std::lock_guard<std::mutex> lock(sweep_mu_);
  const std::uint64_t forgotten_before = forgotten_.load(std::memory_order_relaxed);
  (void)SweepLocked();
  helped_sweeps_.store(helped_sweeps_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return forgotten_.load(std::memory_order_relaxed) - forgotten_before;
}

std::size_t OrderBook::SweepLocked() {
  const std::int64_t now = clock_->NowNanos();
  // Take every slot handed off since the last sweep (edge 3). A hold still
  // open waits in the wheel for its deadline; an order that closed (or
  // failed) before the driver saw it never enters the wheel for its
  // deadline: it is due at its forget time, which with a short retention is
  // this very sweep. That is the common case of a cart that commits in
  // well under a millisecond, and it costs the driver one look at the slot.
  for (std::size_t s = 0; s < kOrderShards; ++s) {
    std::uint32_t index = shards_[s].incoming.exchange(kNoSlot, std::memory_order_acquire);
    while (index != kNoSlot) {
      const Slot& slot = slots_[index];
      const std::uint32_t following = slot.next.load(std::memory_order_relaxed);
      // Acquire: pairs with the release stores of edges 2 and 5.
      const std::uint32_t word = slot.state.load(std::memory_order_acquire);
      if (Settled(word)) {
        ScheduleForget(index, word, now);
      } else {
        wheel_->Schedule(index, TickCeil(slot.deadline_nanos));
      }
      index = following;
    }
  }
  std::size_t expired = 0;
  wheel_->Advance(TickFloor(now), [&](std::uint32_t index, std::int64_t) { Visit(index, now, &expired); });
  FinishExpiries(now);
  ForgetDue(now);
  sweeps_.store(sweeps_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  scheduled_.store(wheel_->size(), std::memory_order_relaxed);
  return expired;
}

bool OrderBook::Settled(std::uint32_t word) {
  if ((word & kMovingBit) != 0) return false;
  const OrderState state = StateOf(word);
  return state != OrderState::kHeld && state != OrderState::kReserving && state != OrderState::kNone;
}

void OrderBook::ScheduleForget(std::uint32_t index, std::uint32_t word, std::int64_t now) {
  const Slot& slot = slots_[index];
  const std::int64_t forget_at = ForgetAt(slot, word);
  if (!internal::OrderForgottenAt(forget_at, now)) {
    wheel_->Schedule(index, TickCeil(forget_at));
    return;
  }
  forget_due_[ShardIndex(absl::Hash<OrderId>{}(slot.id))].push_back({index, word});
}

void OrderBook::ForgetDue(std::int64_t now) {
  std::uint32_t chain_first = kNoSlot, chain_last = kNoSlot;
  std::uint64_t forgotten = 0;
  // One lock of each shard for all of its ids due in this sweep.
  for (std::size_t s = 0; s < kOrderShards; ++s) {
    std::vector<DueForget>& due_here = forget_due_[s];
    if (due_here.empty()) continue;
    Shard& shard = shards_[s];
    if (journal_ != nullptr) {
      // Once the id is forgotten a reserve may reuse it, on any thread: the
      // old incarnation's records must be placed in the file first (durable
      // order follows dependence), or replay would find the new reserve of
      // an id still held. Long sequenced by now, except with a tiny retention.
      for (const DueForget& due : due_here) {
        (void)journal_->WaitSequenced(tickets_[due.index].reserve);
        (void)journal_->WaitSequenced(tickets_[due.index].close);
      }
    }
    {
      std::lock_guard<std::mutex> lock(shard.mu);
      for (const DueForget& due : due_here) {
        Slot& slot = slots_[due.index];
        // Under the mutex no API thread can decide (edge 4); if a return
        // won since the driver looked, look again next tick.
        if (slot.state.load(std::memory_order_acquire) != due.word) {
          wheel_->Schedule(due.index, TickFloor(now) + 1);
          continue;
        }
        shard.ids.erase(slot.id);
        slot.state.store(StateWord(OrderState::kNone), std::memory_order_relaxed);  // ours alone now
        slot.next.store(chain_first, std::memory_order_relaxed);
        if (chain_last == kNoSlot) chain_last = due.index;
        chain_first = due.index;
        ++forgotten;
      }
    }
    due_here.clear();
  }
  forgotten_.store(forgotten_.load(std::memory_order_relaxed) + forgotten, std::memory_order_relaxed);
  if (chain_first != kNoSlot) FreeChain(chain_first, chain_last);
}

void OrderBook::Visit(std::uint32_t index, std::int64_t now, std::size_t* expired) {
  Slot& slot = slots_[index];
  // Acquire: pairs with the release stores of edges 2 and 5.
  std::uint32_t word = slot.state.load(std::memory_order_acquire);
  if (word == StateWord(OrderState::kHeld)) {
    if (now < slot.deadline_nanos) {  // cannot happen with ceil/floor ticks; kept for safety
      wheel_->Schedule(index, TickCeil(slot.deadline_nanos));
      return;
    }
    // Journal room before the decision; without it (backpressure, read-only)
    // the hold stays held and is looked at again next tick.
    Prepared prepared(journal_);
    if (prepared.Begin() != Outcome::kOk) {
      wheel_->Schedule(index, TickFloor(now) + 1);
      return;
    }
    // The decision (edge 4), racing at most one API thread.
    if (slot.state.compare_exchange_strong(word, StateWord(OrderState::kExpired) | kMovingBit,
                                           std::memory_order_relaxed, std::memory_order_relaxed)) {
      if (journal_ != nullptr) {
        // As in Decide: behind its reserve; the stock moves in
        // FinishExpiries once the sweep's last expiry record is sequenced.
        (void)journal_->OrderAfter(&tickets_[index].reserve, 1);
        expiring_last_ = tickets_[index].close = prepared.Append(EventOf(slot, OrderState::kExpired, now));
        expiring_.push_back(index);
        ++*expired;
        return;
      }
      Finish(index, OrderState::kExpired, now);
      ++*expired;
      expired_.store(expired_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      RecordLateness(clock_->NowNanos() - slot.deadline_nanos);
      ScheduleForget(index, StateWord(OrderState::kExpired), now);
      return;
    }
    // Lost to a commit or cancel; fall through with the winner's word.
  }
  if (!Settled(word)) {
    wheel_->Schedule(index, TickFloor(now) + 1);  // a winner is still moving stock
    return;
  }
  ScheduleForget(index, word, now);
}

void OrderBook::FinishExpiries(std::int64_t now) {
  if (expiring_.empty()) return;
  FLASHSTOCK_TEST_POINT(kCauseQueued, expiring_.back());
  (void)journal_->WaitSequenced(expiring_last_);
  for (const std::uint32_t index : expiring_) Finish(index, OrderState::kExpired, now);
  FLASHSTOCK_TEST_POINT(kCauseVisible, expiring_.back());
  const std::int64_t back = clock_->NowNanos();  // stock is back: the lateness clock stops
  for (const std::uint32_t index : expiring_) {
    expired_.store(expired_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    RecordLateness(back - slots_[index].deadline_nanos);
    ScheduleForget(index, StateWord(OrderState::kExpired), now);
  }
  expiring_.clear();
  expiring_last_ = {};
}

void OrderBook::RecordLateness(std::int64_t nanos) {
  if (nanos < 0) nanos = 0;
  const std::size_t bucket =
      std::min<std::size_t>(static_cast<std::size_t>(nanos / kLatenessBucketNanos), kLatenessBuckets - 1);
  lateness_histogram_[bucket].store(lateness_histogram_[bucket].load(std::memory_order_relaxed) + 1,
                                    std::memory_order_relaxed);
  if (nanos > lateness_max_nanos_.load(std::memory_order_relaxed)) {
    lateness_max_nanos_.store(nanos, std::memory_order_relaxed);
  }
}

ExpiryStats OrderBook::expiry_stats() const {
  ExpiryStats stats;
  stats.sweeps = sweeps_.load(std::memory_order_relaxed);
  stats.expired = expired_.load(std::memory_order_relaxed);
  stats.forgotten = forgotten_.load(std::memory_order_relaxed);
  stats.scheduled = scheduled_.load(std::memory_order_relaxed);
  stats.helped_sweeps = helped_sweeps_.load(std::memory_order_relaxed);
  stats.lateness_max_nanos = lateness_max_nanos_.load(std::memory_order_relaxed);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < kLatenessBuckets; ++i) total += lateness_histogram_[i].load(std::memory_order_relaxed);
  // Percentiles report the bucket's upper edge (never flatter than the truth),
  // capped by the maximum seen.
  auto percentile = [&](double p) -> std::int64_t {
    if (total == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(p * static_cast<double>(total - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kLatenessBuckets; ++i) {
      seen += lateness_histogram_[i].load(std::memory_order_relaxed);
      if (seen >= rank) {
        return std::min<std::int64_t>(static_cast<std::int64_t>(i + 1) * kLatenessBucketNanos,
                                      stats.lateness_max_nanos);
      }
    }
    return stats.lateness_max_nanos;
  };
  stats.lateness_p50_nanos = percentile(0.50);
  stats.lateness_p99_nanos = percentile(0.99);
  return stats;
}

void OrderBook::StartExpiryThread() {
  FLASHSTOCK_CHECK(!expiry_thread_.joinable());
  expiry_thread_ = std::thread([this] {
    internal::NameThisThread("fs-expiry");
    std::unique_lock<std::mutex> lock(thread_mu_);
    while (!stop_) {
      lock.unlock();
      Sweep();
      lock.lock();
      // Sleeps one interval, or wakes at once when the book is destroyed.
      thread_cv_.wait_for(lock, std::chrono::nanoseconds(kExpirySweepIntervalNanos), [this] { return stop_; });
    }
  });
}

// ---- Recovery ---------------------------------------------------------------

OrderResult OrderBook::ClaimRestored(OrderId id, std::span<const OrderLine> lines, std::int64_t deadline_nanos,
                                     Normalised* norm, Shard** shard, std::uint32_t* index) {
  if (id == 0 || lines.empty()) return {Outcome::kInvalidOrder};
  if (OrderResult r = Normalise(lines, norm); !r.ok()) return r;
  *shard = &ShardFor(id);
  std::lock_guard<std::mutex> lock((*shard)->mu);
  if ((*shard)->ids.contains(id)) return {Outcome::kOrderConflict};
  *index = Allocate();
  if (*index == kNoSlot) return {Outcome::kOrdersFull};
  Slot& slot = slots_[*index];
  slot.id = id;
  slot.deadline_nanos = deadline_nanos;
  slot.line_count = static_cast<std::uint8_t>(norm->count);
  std::copy_n(norm->lines.begin(), norm->count, slot.lines);
  (*shard)->ids.emplace(id, *index);
  return {Outcome::kOk};
}

OrderResult OrderBook::RestoreHold(OrderId id, std::span<const OrderLine> lines, std::int64_t deadline_nanos) {
  Normalised norm;
  Shard* shard = nullptr;
  std::uint32_t index = kNoSlot;
  if (OrderResult r = ClaimRestored(id, lines, deadline_nanos, &norm, &shard, &index); !r.ok()) return r;
  for (std::uint32_t i = 0; i < norm.count; ++i) catalog_->cell(norm.lines[i].sku).ForceHold(norm.lines[i].quantity);
  if (tickets_ != nullptr) tickets_[index] = {};
  slots_[index].state.store(StateWord(OrderState::kHeld), std::memory_order_release);
  HandOff(*shard, index);
  return {Outcome::kOk, OrderState::kHeld};
}

OrderResult OrderBook::RestoreFailed(OrderId id, std::span<const OrderLine> lines, std::uint32_t short_line,
                                     std::int64_t available) {
  if (id == 0 || lines.empty()) return {Outcome::kInvalidOrder};
  Normalised norm;
  if (OrderResult r = Normalise(lines, &norm); !r.ok()) return r;
  if (short_line >= norm.count) return {Outcome::kInvalidOrder};
  Shard* shard = nullptr;
  std::uint32_t index = kNoSlot;
  if (OrderResult r = ClaimRestored(id, lines, clock_->NowNanos(), &norm, &shard, &index); !r.ok()) return r;
  // No concurrent callers (REQUIRES on Restore*): the fields need no lock.
  Slot& slot = slots_[index];
  slot.short_line = static_cast<std::uint8_t>(short_line);
  slot.short_available = available;
  slot.changed_nanos.store(clock_->NowNanos(), std::memory_order_relaxed);
  if (tickets_ != nullptr) tickets_[index] = {};
  slot.state.store(StateWord(OrderState::kFailed), std::memory_order_release);
  HandOff(*shard, index);
  return {Outcome::kOk, OrderState::kFailed};
}

OrderResult OrderBook::RestoreChangedAt(OrderId id, std::int64_t changed_nanos) {
  Shard& shard = ShardFor(id);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.ids.find(id);
  if (it == shard.ids.end()) return {Outcome::kUnknownOrder};
  // Relaxed: no concurrent callers (REQUIRES above); Sweep reads it later.
  slots_[it->second].changed_nanos.store(changed_nanos, std::memory_order_relaxed);
  return {Outcome::kOk};
}

OrderResult OrderBook::RestoreClose(OrderId id, OrderState target) {
  FLASHSTOCK_CHECK(target == OrderState::kCommitted || target == OrderState::kCancelled ||
                   target == OrderState::kExpired || target == OrderState::kReturned);
  return Decide(id, target, false);
}

}  // namespace flashstock
