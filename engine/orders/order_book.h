// Orders on top of the stock counters: cart holds with a time-to-live,
// all-or-nothing multi-SKU reservations, exactly one final state per order,
// returns, idempotent retries, and expiry without a timer per hold.
//
// Lifecycle of one order id (docs/design.md, "## Orders"):
//
//   Reserve --short line--> FAILED (held nothing; stays failed)
//      |
//      v
//    HELD --commit--> COMMITTED --return--> RETURNED
//      |--cancel----> CANCELLED
//      '--deadline--> EXPIRED
//
// Exactly one of commit, cancel and expiry wins: each is a compare-and-swap
// of the order's state word from HELD to "<winner> | moving", and only the
// winner moves stock; it then stores "<winner>" once the stock is moved.
// Every later attempt reads the winner and gets kOrderClosed naming it, and
// changes nothing. A commit or cancel arriving at or after the deadline
// performs the expiry itself (so nothing is ever committed past its
// deadline, however late the expiry driver runs) and answers EXPIRED.
// RETURN is the same transition from COMMITTED to RETURNED.
//
// Reserve: lines naming the same SKU are summed, then sorted by SKU index.
// Each line moves available -> held with one CAS refusing below the floor
// (StockCell::TryHold). On a short line every line already taken is given
// back and the answer names the short SKU and the available count seen.
// Between the take and the give-back other buyers may see that stock as
// gone (and be refused): a reservation can cause a spurious refusal, never
// an oversell, because every unit is only ever moved by a CAS that checks
// the floor against the value it replaces, and a give-back only adds.
//
// Idempotency: the first reserve of an id records its normalised lines and
// its answer. A reserve repeating the id with the same lines (after
// normalising) answers as the first did and changes nothing: OK for an order
// that was held (whatever its state now; `state` says which), INSUFFICIENT
// with the same SKU and count for one that failed. Different lines:
// kOrderConflict. A reserve refused before anything was recorded (invalid
// id, lines or ttl; unknown SKU; kOrdersFull) is not remembered.
//
// Memory bound: ids are remembered in a fixed number of slots (orders_max).
// A slot is busy while its order is open and, once settled, until the later
// of `retention_ms` after the order's last state change (failure, close,
// return) and the hold's deadline (none for a failed reserve); then the id
// is forgotten and the slot reused. The rule reads only what the journal
// records, so recovery and snapshots apply it too (base/forget_rule.h). A reserve that finds every slot
// busy first runs the expiry driver's sweep itself (HelpSweep), and gets
// kOrdersFull if that frees nothing. So a retry is recognised for at least
// retention_ms after the order closed, and a committed order can be
// returned within that window.
//
// Expiry: one hierarchical timing wheel (orders/timer_wheel.h) owned by a
// single driver (Sweep(): the engine's expiry thread, or a test). Reserves
// hand new slots to the driver through a lock-free per-shard list; the wheel
// finds each slot again at its deadline and at the end of its retention.
// An order already closed (or failed) when the driver first sees it skips
// its deadline and is filed at its forget time; nothing is removed from the
// wheel when a filed hold closes early: the driver sees the closed state at
// the deadline and moves the slot on to its forget time.
//
// Thread-safety: Reserve/Commit/Cancel/Return/Get may be called from any
// thread at any time. Sweep may be called from any thread; calls are
// serialised by an internal mutex. The Restore* recovery entry points
// REQUIRE no concurrent calls of any kind.
//
// Memory ordering: see orders/order_slot.h, "Memory ordering", for each edge.
//
// Code: order_book.cc (construction, id shards, Get), order_reserve.cc,
// order_close.cc (commit, cancel, return), expiry.cc (the driver),
// retention.cc (forgetting), order_slots.cc (the slot allocator),
// order_restore.cc (the Restore* entry points).
#ifndef FLASHSTOCK_ORDERS_ORDER_BOOK_H_
#define FLASHSTOCK_ORDERS_ORDER_BOOK_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "flashstock/clock.h"
#include "flashstock/limits.h"
#include "flashstock/order.h"
#include "flashstock/outcome.h"
#include "flashstock/sku_handle.h"
#include "orders/lateness_histogram.h"
#include "orders/order_journal.h"

namespace flashstock {

class Catalog;
namespace internal {
class TimerWheel;
}  // namespace internal

class OrderBook {
 public:
  // REQUIRES: catalog and clock outlive the book; 1 <= orders_max <=
  // kOrdersMaxLimit; 0 <= retention_ms <= kOrderRetentionMsMax.
  OrderBook(Catalog* catalog, const Clock* clock, std::uint32_t orders_max, std::int64_t retention_ms);
  ~OrderBook();  // stops the expiry thread if running
  OrderBook(const OrderBook&) = delete;
  OrderBook& operator=(const OrderBook&) = delete;

  // All or nothing across lines; see the file comment. Checks, in order:
  // id != 0, 1 <= ttl_ms <= kHoldTtlMsMax, at least one line (kInvalidOrder);
  // each quantity in [1, kOrderLineQuantityMax] also after summing
  // (kInvalidQuantity); each SKU defined (kUnknownSku); at most
  // kOrderLinesMax distinct SKUs (kInvalidOrder); then the id.
  OrderResult Reserve(OrderId id, std::span<const OrderLine> lines, std::int64_t ttl_ms);
  OrderResult Commit(OrderId id);
  OrderResult Cancel(OrderId id);
  // COMMITTED -> RETURNED, restocking every line once.
  OrderResult Return(OrderId id);
  // nullopt for an unknown (or forgotten) id.
  std::optional<OrderInfo> Get(OrderId id) const;

  // Runs the expiry driver once at the clock's current time: expires holds
  // whose deadline has come, forgets ids whose retention has passed. Returns
  // the number of holds expired by this call.
  std::size_t Sweep();
  // Starts a thread that calls Sweep() every kExpirySweepIntervalNanos until
  // the book is destroyed. REQUIRES: not already started.
  void StartExpiryThread();
  // Stops and joins it (the engine does so before destroying its journal,
  // which the thread's expiries write to). Idempotent.
  void StopExpiryThread();

  // Journals every state change through `journal` from now on (null: stop).
  // REQUIRES: no concurrent calls; `journal` outlives its use.
  void SetJournal(OrderJournal* journal);
  ExpiryStats expiry_stats() const;

  // ---- Recovery entry points (for journal replay; see docs/design.md) ----
  // REQUIRE: no concurrent calls to this book, not even Sweep.
  // Re-creates an open hold exactly as journaled, moving its stock from
  // available to held without a floor check (it was checked when accepted).
  // A deadline already passed expires at the next Sweep, as holds whose
  // deadline passed while the engine was down must.
  OrderResult RestoreHold(OrderId id, std::span<const OrderLine> lines, std::int64_t deadline_nanos);
  // Applies a journaled close: target is kCommitted, kCancelled or kExpired
  // (from HELD) or kReturned (from COMMITTED). Ignores the clock.
  OrderResult RestoreClose(OrderId id, OrderState target);
  // Re-creates a failed reserve, so a retry still answers INSUFFICIENT.
  // kOk (state kFailed) once restored; otherwise why not, as RestoreHold.
  OrderResult RestoreFailed(OrderId id, std::span<const OrderLine> lines, std::uint32_t short_line,
                            std::int64_t available);
  // Sets when a restored closed or failed order last changed (its retention
  // runs from then, not from the restore). kUnknownOrder if not found.
  OrderResult RestoreChangedAt(OrderId id, std::int64_t changed_nanos);

  std::uint32_t capacity() const { return capacity_; }

 private:
  struct PackedLine {
    std::uint32_t sku;
    std::uint32_t quantity;
    friend bool operator==(const PackedLine&, const PackedLine&) = default;
  };
  struct Slot;
  struct Shard;
  struct Normalised {
    std::array<PackedLine, kOrderLinesMax> lines;
    std::uint32_t count = 0;
  };

  static constexpr std::uint32_t kNoSlot = UINT32_MAX;

  OrderResult Normalise(std::span<const OrderLine> lines, Normalised* out) const;
  Shard& ShardFor(OrderId id) const;
  // One operation's journal reservation (orders/prepared.h).
  class Prepared;
  // Reserve, step 1: under the shard mutex, a new slot for `id` (RESERVING,
  // filed under the id, index and clock reading set) or, for a known id,
  // the answer a retry gets and the records it repeats (index kNoSlot).
  // kOk, or why neither (conflicting lines, book full, journal refused).
  struct Claim {
    std::uint32_t index = kNoSlot;
    std::int64_t now = 0;
    OrderResult answer;
    OrderTicket waits[2];
  };
  Outcome ClaimSlot(Shard& shard, OrderId id, const Normalised& norm, std::int64_t ttl_ms, Prepared& prepared,
                    Claim* claim);
  // ClaimSlot's two cases, both under the shard mutex. FillSlot: files the
  // new slot `index` under `id`. AnswerRetry: the answer for a known id in
  // slot `index` (kOrderConflict for other lines), or nullopt while its
  // first reserve or a close is still moving: look again.
  void FillSlot(Shard& shard, std::uint32_t index, OrderId id, const Normalised& norm, std::int64_t ttl_ms,
                Claim* claim);
  std::optional<Outcome> AnswerRetry(std::uint32_t index, const Normalised& norm, Claim* claim) const;
  // Reserve, step 2: holds every line or none, journals, publishes.
  OrderResult HoldLines(Shard& shard, std::uint32_t index, const Normalised& norm, std::int64_t now,
                        Prepared& prepared);
  // The one state transition: see the file comment. DecideLocked looks at
  // the slot under the shard mutex and either decides (kWon), loses
  // (kLost: answer, and the records it repeats), answers at once, or asks
  // to look again; CloseWon journals a won close and moves its stock.
  OrderResult Decide(OrderId id, OrderState target, bool honour_deadline);
  enum class DecideStep : std::uint8_t { kRetry, kAnswer, kLost, kWon };
  struct Decision;
  DecideStep DecideLocked(Shard& shard, OrderId id, OrderState target, bool honour_deadline, Decision* d);
  OrderResult CloseWon(const Decision& d, OrderState target, Prepared& prepared);
  // Moves the stock of a transition this thread won, then publishes it.
  // `now_nanos` is the decision's clock reading: the close's time.
  void Finish(std::uint32_t index, OrderState won, std::int64_t now_nanos);
  std::uint32_t Allocate();
  // Recovery: claims a slot for `id` with these lines and deadline and files
  // it under the id (state not yet published). kOk with *shard and *index
  // set, or why not (invalid lines, id taken, book full).
  OrderResult ClaimRestored(OrderId id, std::span<const OrderLine> lines, std::int64_t deadline_nanos,
                            Normalised* norm, Shard** shard, std::uint32_t* index);
  // Pushes the slots first -> ... -> last (linked through Slot::next) on
  // the free list with one compare-and-swap.
  void FreeChain(std::uint32_t first, std::uint32_t last);
  void HandOff(Shard& shard, std::uint32_t index);
  // When the settled slot (state word `word`) is forgotten; see ForgetAt in retention.cc.
  std::int64_t ForgetAt(const Slot& slot, std::uint32_t word) const;
  static std::size_t ShardIndex(std::size_t hash);
  // A final state (or FAILED) with no stock still moving: only its forget
  // time is left to the driver.
  static bool Settled(std::uint32_t word);
  // The driver's work, all REQUIRING sweep_mu_. Visit: one slot due in the
  // wheel. ScheduleForget: files a settled slot (state word `word`) at its
  // forget time, or queues it for this sweep's ForgetDue if that has come.
  // ForgetDue: forgets the queued ids, one lock per shard, and frees their
  // slots with one push.
  std::size_t SweepLocked();
  // A reserve that found every slot busy runs the driver's sweep (after the
  // one running, if any), so a driver starved of CPU cannot fill the book
  // with ids that are already due to be forgotten. Returns the ids it forgot.
  std::uint64_t HelpSweep();
  void Visit(std::uint32_t index, std::int64_t now_nanos, std::size_t* expired);
  // Moves the stock of the expiries this sweep decided, once their records
  // are sequenced (one wait for all: one thread pushed them in order).
  void FinishExpiries(std::int64_t now_nanos);
  void ScheduleForget(std::uint32_t index, std::uint32_t word, std::int64_t now_nanos);
  void ForgetDue(std::int64_t now_nanos);
  // Journaling helpers (null journal_: no-ops).
  OrderEvent EventOf(const Slot& slot, OrderState state, std::int64_t now_nanos) const;
  OrderResult Acknowledge(OrderResult result, const OrderTicket* tickets, std::size_t count);

  Catalog* const catalog_;
  const Clock* const clock_;
  const std::uint32_t capacity_;
  const std::int64_t retention_nanos_;

  struct SlotsDeleter {
    void operator()(Slot* slots) const;
  };
  std::unique_ptr<Slot[], SlotsDeleter> slots_;
  std::unique_ptr<Shard[]> shards_;
  // Free slots: a Treiber stack of indices linked through Slot::next, with a
  // 32-bit tag in the high half against ABA. Low half kNoSlot = empty.
  alignas(kCacheLineSize) std::atomic<std::uint64_t> free_head_;
  // Slots [0, fresh_) have been constructed; the rest are untouched memory.
  alignas(kCacheLineSize) std::atomic<std::uint32_t> fresh_{0};

  // The expiry driver's own state. Mutexes here and in Shard are std::mutex,
  // not absl::Mutex: Debian's Abseil library is not built with TSan, so TSan
  // cannot see absl::Mutex's happens-before edges, while it intercepts
  // pthread mutexes. Uncontended, both cost one atomic RMW each way.
  alignas(kCacheLineSize) std::mutex sweep_mu_;
  std::unique_ptr<internal::TimerWheel> wheel_;  // guarded by sweep_mu_
  struct DueForget {
    std::uint32_t index;
    std::uint32_t word;  // the settled state the driver saw
  };
  // Per shard; guarded by sweep_mu_; empty between sweeps.
  std::array<std::vector<DueForget>, kOrderShards> forget_due_;
  // Holds this sweep decided to expire, stock not moved yet, and the ticket
  // of the last one's record; guarded by sweep_mu_; empty between sweeps.
  std::vector<std::uint32_t> expiring_;
  OrderTicket expiring_last_{};
  // Written by the driver only (under sweep_mu_), read by anyone: relaxed.
  std::atomic<std::uint64_t> sweeps_{0}, expired_{0}, forgotten_{0}, scheduled_{0}, helped_sweeps_{0};
  internal::LatenessHistogram lateness_;

  // Journal tickets per slot, parallel to slots_ (raw memory, written before
  // read): `reserve` (or the failed reserve) written before HELD/FAILED is
  // published, `close` before the final state is; both published by the
  // state word (edges 2 and 5).
  struct Tickets {
    OrderTicket reserve;
    OrderTicket close;
  };
  struct TicketsDeleter {
    void operator()(Tickets* tickets) const { ::operator delete(tickets); }
  };
  struct Decision {
    std::uint32_t index = kNoSlot;
    OrderState won = OrderState::kHeld;
    std::int64_t now = 0;
    Tickets deps{};
    OrderResult answer;
  };
  OrderJournal* journal_ = nullptr;
  std::unique_ptr<Tickets[], TicketsDeleter> tickets_;

  std::mutex thread_mu_;
  std::condition_variable thread_cv_;
  bool stop_ = false;  // guarded by thread_mu_
  std::thread expiry_thread_;
};

}  // namespace flashstock

#endif  // FLASHSTOCK_ORDERS_ORDER_BOOK_H_
