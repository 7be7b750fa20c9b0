// Escrow: a hot SKU's units split across cache lines, so that buyers on
// different cores stop writing one shared line (docs/design.md, "Escrow").
//
// The SKU's own StockCell stays the pool (and keeps its floor, its held and
// sold counters, and every non-take operation). Beside it sit kEscrowLeases
// lease words, each on its own line. A take spends from the lease its thread
// maps to; an empty lease refills from the pool with a chunk sized from what
// the pool has left, so the last units are handed out one by one.
//
// A lease word is a count >= 0 or one of two marks:
//   kRefilling - its owner took it (with the count it held) and is drawing
//                a chunk from the pool; only the owner writes it next;
//   kRevoked   - a join moved its units back to the pool; the SKU is joined
//                (every take on the pool's line) until the next split.
//
// Exact refusal, never stranding: a take is refused only when the pool plus
// every lease cannot cover it at one instant. A refusal decided on the pool
// alone is exact only when the SKU is joined (every lease revoked, no refill
// in flight): in split mode the refusing path takes the exclusion and joins
// first, and a join waits for refills in flight. A fast refusal in joined
// mode re-reads the state word after its pool read (a seqlock read): an
// unchanged, even-sequence, joined state means no lease held a unit then.
//
// Memory ordering: lease words and the pool are single-location RMWs, relaxed
// except where named. The state word is a seqlock: transitions store it with
// release (their lease and pool writes happen before), takers load it with
// acquire. A fast refusal must not miss a split that overlapped its pool
// read: the chain split -> refill -> pool value is kept in happens-before by
// release stores of lease counts (a split's opening, a refill's deposit),
// the acquire CAS that opens a refill, the refill's release draw on the
// pool, and the refusal's acquire reads of the pool before its state
// re-check.
#ifndef FLASHSTOCK_INTERNAL_ESCROW_H_
#define FLASHSTOCK_INTERNAL_ESCROW_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>

#include "flashstock/clock.h"
#include "flashstock/internal/stock_cell.h"
#include "flashstock/limits.h"
#include "flashstock/options.h"

namespace flashstock {

class Escrow {
 public:
  // The pool is the SKU's cell; it and the clock (auto mode's cooling)
  // must outlive this. Starts joined, mode kOff.
  Escrow(StockCell* pool, const Clock* clock);
  Escrow(const Escrow&) = delete;
  Escrow& operator=(const Escrow&) = delete;

  struct Taken {
    std::int64_t taken;      // quantity, or 0 when refused; for up_to, in [0, quantity]
    std::int64_t available;  // a lower bound on the SKU's level after (see Available)
    std::uint32_t retries = 0;  // failed CASes on the pool's line (auto mode)
  };
  // The lease fast path, inline in Engine::Take: spends `quantity` from
  // lease `lease` (as Take numbers them) when that lease alone covers it,
  // and answers the level's lower bound after; false (nothing changed) when
  // it does not (empty, refilling, revoked, or no lease): Take decides.
  // No state read: a CAS on a lease word that holds a count is linearised
  // before any join's revocation of it, split or joined alike.
  bool TrySpendLease(std::int64_t quantity, int lease, std::int64_t* available) {
    if (lease < 0) return false;
    Lease& l = leases_[static_cast<std::size_t>(lease) % kEscrowLeases];
    std::int64_t units = l.units.load(std::memory_order_relaxed);
    // The marks are below any count, so `units >= quantity` excludes them.
    while (units >= quantity) {
      // Relaxed: the lease word orders nothing else (file comment).
      if (l.units.compare_exchange_weak(units, units - quantity, std::memory_order_relaxed,
                                        std::memory_order_relaxed)) {
        *available = LowerBound(units - quantity);
        return true;
      }
    }
    return false;
  }

  // All or nothing (up_to false) or min(quantity, level - floor) (up_to
  // true), from the lease numbered `lease` (any number: taken modulo
  // kEscrowLeases; -1 for none, which takes from the pool). Lock-free except
  // where it refuses or runs the tail (then under the exclusion).
  // REQUIRES: quantity > 0.
  Taken Take(std::int64_t quantity, bool up_to, int lease);

  // Available units: the pool plus every lease. Each word is read exactly,
  // one after another, so the sum can be off by units moving while it reads
  // (at most one refill chunk, kEscrowChunkMax, per lease).
  std::int64_t Available() const;

  // available -> held under the exclusion, joined first: an order's hold on
  // a split SKU is refused only when the whole SKU cannot cover it.
  StockCell::Change HoldExact(std::int64_t quantity);

  // The mode, under the exclusion. kOff joins for good (every take then
  // runs on the pool's line, exactly, until the mode changes); kOn splits
  // now if roomy, and again after each restock that makes it roomy; kAuto
  // splits only when told the SKU is hot (SplitIfRoomy(true)), and joins at
  // a refill that finds the SKU cooled (kEscrowAutoCoolMs) or when it runs
  // low.
  void SetMode(EscrowMode mode);
  EscrowMode mode() const { return mode_.load(std::memory_order_relaxed); }
  // Joins (moves every lease back to the pool, then every take runs on the
  // pool's line); returns whether it was split. Splits when the mode says
  // so (kOn; kAuto only when `hot`: contended, or split before a floor
  // change), the SKU is joined, and the pool has at least kEscrowSplitMin
  // units above its floor. Each takes the exclusion.
  bool Join();
  void SplitIfRoomy(bool hot = false);
  // A floor change on a split SKU: joined, the floor stored, split again if
  // roomy, all under the exclusion, so no lease spends across the change.
  void SetFloor(std::int64_t floor);

  bool split() const { return (state_.load(std::memory_order_relaxed) & kSplitBit) != 0; }
  // Joins and splits so far (each is one transition).
  std::uint64_t transitions() const { return state_.load(std::memory_order_relaxed) >> 2; }

  // Lease word marks: below any count.
  static constexpr std::int64_t kRevoked = std::numeric_limits<std::int64_t>::min();
  static constexpr std::int64_t kRefilling = kRevoked + 1;

 private:
  // state_ = transitions << 2 | in_transition << 1 | split.
  static constexpr std::uint64_t kSplitBit = 1;
  static constexpr std::uint64_t kMovingBit = 2;

  struct alignas(kCacheLineSize) Lease {
    std::atomic<std::int64_t> units{kRevoked};
  };
  static_assert(sizeof(Lease) == kCacheLineSize, "one lease per line");

  Taken TakeJoined(std::int64_t quantity, bool up_to, std::uint64_t state, bool* retry);
  Taken Refill(Lease& lease, std::int64_t have, std::int64_t quantity, bool up_to);
  Taken TakeExact(std::int64_t quantity, bool up_to);
  void JoinLocked();
  void SplitLockedIfRoomy();
  std::int64_t LowerBound(std::int64_t lease_units) const { return pool_->Level() + lease_units; }

  StockCell* const pool_;
  // Read by every take, written by transitions only: its own line.
  alignas(kCacheLineSize) std::atomic<std::uint64_t> state_{0};
  // The exclusion: transitions, and every refusal or tail take in split
  // mode. std::mutex, not absl::Mutex: visible to ThreadSanitizer.
  alignas(kCacheLineSize) std::mutex mu_;
  // Written under mu_; read by refills without it (relaxed: a refill that
  // reads a stale mode only joins early or late, which is always safe).
  std::atomic<EscrowMode> mode_{EscrowMode::kOff};
  // Auto mode: the clock reading of the latest refill (or split), beside
  // the exclusion (a write per refill, as the refill's pool draw is).
  std::atomic<std::int64_t> last_refill_ns_{0};
  const Clock* const clock_;
  std::array<Lease, kEscrowLeases> leases_;
};

namespace internal {

// The calling thread's lease number: its reader slot's index (stable for the
// thread's life; a thread that exits frees it for the next, and the units
// in its lease stay counted there), or -1 when no slot was free. Cached per
// thread, so a take reads one thread-local int.
inline constexpr int kLeaseUnknown = -2;
inline constinit thread_local int this_thread_lease = kLeaseUnknown;
int LookUpThisThreadLease();  // escrow.cc: claims the slot, fills the cache
inline int ThisThreadLease() {
  const int lease = this_thread_lease;
  return lease != kLeaseUnknown ? lease : LookUpThisThreadLease();
}

}  // namespace internal

// A hold on a SKU that may be in escrow: on the pool's line first, and
// exact (joined, under the exclusion) only if that is refused.
inline StockCell::Change HoldUnits(StockCell& cell, std::int64_t quantity) {
  const StockCell::Change change = cell.TryHold(quantity);
  if (change.ok) return change;
  Escrow* escrow = cell.escrow();
  return escrow == nullptr ? change : escrow->HoldExact(quantity);
}

}  // namespace flashstock

#endif  // FLASHSTOCK_INTERNAL_ESCROW_H_
