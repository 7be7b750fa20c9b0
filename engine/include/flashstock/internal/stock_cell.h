// Not part of the API. Engine::Take by handle is inline in engine.h (the
// hot path: the checks and one compare-and-swap, no call), so the cell's and
// the catalog's layout must be visible there and are installed with it. The
// code is in engine/stock/; only the engine and its tests use these.
//
// One SKU's counters, alone on their own cache line: `available` (on_hand_),
// and, for orders, `held` (in open holds) and `sold` (committed orders, net of
// returns). Plain takes (Take/TakeUpTo) move units out of `available` only and
// are not counted in `sold`: the take path stays one compare-and-swap, and
// `sold` counts units of committed orders only. So
//   available + held + sold == initial + restocked - taken (plain)
// whenever no order operation is half-way through its counter updates.
//
// A take touches exactly one shared line: this one. The counter never goes
// below the floor: every decrement is a compare-and-swap that re-checks the
// floor against the value it replaces.
//
// Memory ordering: every access is relaxed, except the level reads of a
// take or hold that may be refused while its SKU is being put in escrow
// (acquire: the refusal then sees the escrow; internal/escrow.h,
// TakeOnPool), and the escrow's own (internal/escrow.h). `on_hand_` publishes no other
// memory (the journal hand-off gets its ordering from its queue, and handles
// reach other threads through the catalog's own release/acquire), and a
// successful CAS acts on the latest value in on_hand_'s modification order,
// so two takers can never both take the last unit. `floor_` is read once per
// take, before its CAS loop; see SetFloor for what that means.
#ifndef FLASHSTOCK_INTERNAL_STOCK_CELL_H_
#define FLASHSTOCK_INTERNAL_STOCK_CELL_H_

#include <atomic>
#include <cassert>
#include <cstdint>

#include "flashstock/limits.h"

namespace flashstock {

class Escrow;  // internal/escrow.h: a hot SKU split across lines

class alignas(kCacheLineSize) StockCell {
 public:
  struct Change {
    bool ok;
    std::int64_t available;  // after the change if ok, else the level seen
    // Failed CASes before the answer: other cores wrote the line between
    // this take's read and its CAS (auto escrow counts them; limits.h).
    std::uint32_t retries = 0;
  };
  struct Partial {
    std::int64_t taken;      // in [0, quantity]
    std::int64_t available;  // after the take
  };

  StockCell() = default;
  StockCell(const StockCell&) = delete;
  StockCell& operator=(const StockCell&) = delete;

  // Sets the initial level and floor before the cell is published to other
  // threads (the catalog publishes it with a release store).
  // REQUIRES: kFloorMin <= floor <= 0, floor <= level.
  void Init(std::int64_t level, std::int64_t floor) {
    assert(floor <= 0);
    assert(level >= floor);
    on_hand_.store(level, std::memory_order_relaxed);
    floor_.store(floor, std::memory_order_relaxed);
  }

  // All or nothing: takes `quantity` units unless that would leave the level
  // below the floor. `kRead` orders the loads of the level (and so a
  // success): relaxed (see the class comment) except for an escrow's joined
  // refusal, which acquires (internal/escrow.h).
  // REQUIRES: 0 < quantity <= kQuantityMax.
  template <std::memory_order kRead = std::memory_order_relaxed>
  Change TryTake(std::int64_t quantity) {
    assert(quantity > 0);
    // The floor is read once: it was in force at that instant, which is all
    // the contract promises (see SetFloor), and a retry after a failed CAS
    // goes straight back to the CAS while the line is still ours.
    const std::int64_t floor = floor_.load(std::memory_order_relaxed);
    // floor <= 0 < quantity: floor + quantity cannot overflow, and once
    // seen >= floor + quantity, seen - quantity >= floor cannot either.
    const std::int64_t lowest_before = floor + quantity;
    std::int64_t seen = on_hand_.load(kRead);
    std::uint32_t retries = 0;
    while (true) {
      if (seen < lowest_before) return {false, seen, retries};
      // Relaxed: see the class comment. A failed CAS reloads `seen` and
      // means another thread made progress, so the loop is lock-free.
      if (on_hand_.compare_exchange_weak(seen, seen - quantity, kRead, kRead)) {
        return {true, seen - quantity, retries};
      }
      ++retries;
    }
  }

  // TryTake for a journaled take, which must announce its floor read
  // (journal_writer.h, floor-read markers): calls `before_floor_read()` only
  // once the take looks possible, then takes as TryTake, reading the floor
  // again after it. A take refused by the first look changes nothing and
  // pushes no record, so it needs no announcement: in a sell-out, where
  // almost every take is refused, it costs what TryTake does. Returns
  // whether `before_floor_read` ran in *announced*.
  template <typename BeforeFloorRead>
  Change TryTakeAnnounced(std::int64_t quantity, BeforeFloorRead&& before_floor_read, bool* announced) {
    assert(quantity > 0);
    // Acquire, as TryTake<acquire> (a refusal may have to see a split).
    const std::int64_t seen = on_hand_.load(std::memory_order_acquire);
    *announced = false;
    if (seen < floor_.load(std::memory_order_relaxed) + quantity) return {false, seen};
    before_floor_read();
    *announced = true;
    return TryTake<std::memory_order_acquire>(quantity);
  }
  template <typename BeforeFloorRead>
  Partial TakeUpToAnnounced(std::int64_t quantity, BeforeFloorRead&& before_floor_read, bool* announced) {
    assert(quantity > 0);
    const std::int64_t seen = on_hand_.load(std::memory_order_acquire);  // as in TryTakeAnnounced
    *announced = false;
    if (seen <= floor_.load(std::memory_order_relaxed)) return {0, seen};
    before_floor_read();
    *announced = true;
    return TakeUpTo<std::memory_order_relaxed, std::memory_order_acquire>(quantity);
  }

  // Partial fill: takes min(quantity, level - floor), possibly 0. `kWrite`
  // orders a successful CAS and `kRead` the loads of the level: relaxed (see
  // the class comment) except for an escrow's refill, whose draw releases,
  // and its joined take-up-to, whose reads acquire (internal/escrow.h).
  // REQUIRES: 0 < quantity <= kQuantityMax.
  template <std::memory_order kWrite = std::memory_order_relaxed, std::memory_order kRead = std::memory_order_relaxed>
  Partial TakeUpTo(std::int64_t quantity) {
    // A CAS's success order must be at least as strong as its failure's.
    constexpr std::memory_order kSuccess =
        kRead == std::memory_order_acquire
            ? (kWrite == std::memory_order_release ? std::memory_order_acq_rel : std::memory_order_acquire)
            : kWrite;
    assert(quantity > 0);
    const std::int64_t floor = floor_.load(std::memory_order_relaxed);  // once: as in TryTake
    std::int64_t seen = on_hand_.load(kRead);
    while (true) {
      if (seen <= floor) return {0, seen};
      // seen - floor can exceed INT64_MAX (seen near max, floor near min);
      // in uint64 it is exact because the true value is below 2^64.
      const std::uint64_t headroom =
          static_cast<std::uint64_t>(seen) - static_cast<std::uint64_t>(floor);
      const std::int64_t take = headroom < static_cast<std::uint64_t>(quantity)
                                    ? static_cast<std::int64_t>(headroom)
                                    : quantity;
      if (on_hand_.compare_exchange_weak(seen, seen - take, kSuccess, kRead)) {
        return {take, seen - take};
      }
    }
  }

  // Adds `quantity` unless the level would pass kLevelMax.
  // REQUIRES: 0 < quantity <= kQuantityMax.
  Change Restock(std::int64_t quantity) {
    assert(quantity > 0);
    std::int64_t seen = on_hand_.load(std::memory_order_relaxed);
    while (true) {
      // quantity > 0, so kLevelMax - quantity does not overflow.
      if (seen > kLevelMax - quantity) return {false, seen};
      // Relaxed: as in TryTake. A CAS, not fetch_add, so overflow is refused
      // rather than wrapped.
      if (on_hand_.compare_exchange_weak(seen, seen + quantity, std::memory_order_relaxed,
                                         std::memory_order_relaxed)) {
        return {true, seen + quantity};
      }
    }
  }

  // Unconditional add used by replay and by giving back a rolled-back take;
  // the caller guarantees the result is in range (it undoes a take, or replays
  // a journal whose every record was range-checked when it was accepted).
  std::int64_t Add(std::int64_t delta) {
    // Relaxed: as in TryTake; fetch_add is one RMW on the latest value.
    return on_hand_.fetch_add(delta, std::memory_order_relaxed) + delta;
  }

  // ---- Holds and sales (engine/orders/) ------------------------------------------
  // Each moves units between two counters of this line with two RMWs; a
  // reader between them sees the units in neither (or, for TryHold, not yet
  // in held). Each counter is exact; the three together are a consistent
  // snapshot only when no order operation is in flight on this SKU.
  // Relaxed throughout, as in TryTake: these counters publish no memory (an
  // order's own state word orders its lifecycle; see orders/order_book.h).

  // available -> held, all or nothing, refusing below the floor exactly as
  // TryTake does. REQUIRES: 0 < quantity <= kOrderLineQuantityMax.
  Change TryHold(std::int64_t quantity) {
    const Change change = TryTake<std::memory_order_acquire>(quantity);  // as TakeOnPool's
    if (change.ok) held_.fetch_add(quantity, std::memory_order_relaxed);
    return change;
  }
  // held -> available: a cancelled, expired or rolled-back hold.
  void ReleaseHold(std::int64_t quantity) {
    held_.fetch_sub(quantity, std::memory_order_relaxed);
    on_hand_.fetch_add(quantity, std::memory_order_relaxed);
  }
  // held -> sold: a committed hold.
  void SellHold(std::int64_t quantity) {
    held_.fetch_sub(quantity, std::memory_order_relaxed);
    sold_.fetch_add(quantity, std::memory_order_relaxed);
  }
  // sold -> available: a returned order.
  void Unsell(std::int64_t quantity) {
    sold_.fetch_sub(quantity, std::memory_order_relaxed);
    on_hand_.fetch_add(quantity, std::memory_order_relaxed);
  }
  // available -> held with no floor check: recovery re-applying a hold that
  // was checked when it was first accepted.
  void ForceHold(std::int64_t quantity) {
    on_hand_.fetch_sub(quantity, std::memory_order_relaxed);
    held_.fetch_add(quantity, std::memory_order_relaxed);
  }
  std::int64_t Held() const { return held_.load(std::memory_order_relaxed); }
  std::int64_t Sold() const { return sold_.load(std::memory_order_relaxed); }

  // The level now. Relaxed: a snapshot of one counter, ordering nothing else.
  std::int64_t Level() const { return on_hand_.load(std::memory_order_relaxed); }
  std::int64_t Floor() const { return floor_.load(std::memory_order_relaxed); }

  // The SKU's escrow while it is in escrow, else null. Acquire: pairs with
  // set_escrow's release, so a take that sees the pointer sees the escrow's
  // initialised state. (A plain load on x86: the uncontended take pays one
  // load from the line it is about to write anyway.)
  Escrow* escrow() const { return escrow_.load(std::memory_order_acquire); }
  void set_escrow(Escrow* escrow) { escrow_.store(escrow, std::memory_order_release); }

  // Changes the floor. A take reads the floor once, when it starts; takes
  // that start after this store use the new one, and a take already past its
  // floor load completes against the floor in force at that instant (it is
  // ordered before this call). So no take ever leaves the level below the
  // floor it read, and no data race is possible. Lowering the floor below
  // the level, or raising it above (which only stops further takes until
  // restocked), are both allowed.
  // REQUIRES: kFloorMin <= floor <= 0.
  void SetFloor(std::int64_t floor) {
    assert(floor <= 0);
    // seq_cst, not for what it publishes (nothing: readers act on the value
    // alone) but because a journaled floor raise is the rare half of a
    // Dekker pair with the takes' floor-read markers (journal_writer.h,
    // WaitForFloorReadersAndSequence). Floor changes are rare.
    floor_.store(floor, std::memory_order_seq_cst);
  }

 private:
  std::atomic<std::int64_t> on_hand_{0};
  std::atomic<std::int64_t> floor_{0};
  // Same line as on_hand_: a hold touches no other shared line.
  std::atomic<std::int64_t> held_{0};
  std::atomic<std::int64_t> sold_{0};
  // Written only when a SKU enters or leaves escrow; read by every take.
  std::atomic<Escrow*> escrow_{nullptr};
};

static_assert(sizeof(StockCell) == kCacheLineSize, "one cell per line: no false sharing");
static_assert(alignof(StockCell) == kCacheLineSize, "cells start on a line boundary");
static_assert(std::atomic<std::int64_t>::is_always_lock_free, "the counter must be a plain atomic");

}  // namespace flashstock

#endif  // FLASHSTOCK_INTERNAL_STOCK_CELL_H_
