#include "flashstock/internal/escrow.h"

#include <thread>

#include "base/check.h"
#include "base/reader_slots.h"
#include "base/test_point.h"

namespace flashstock {

Escrow::Escrow(StockCell* pool, const Clock* clock) : pool_(pool), clock_(clock) {}

int internal::LookUpThisThreadLease() {
  this_thread_lease = ReaderSlots::ThisThreadIndex();
  return this_thread_lease;
}

// Lease path first; the joined path when the SKU is joined; the exact path
// (under the exclusion) when a fast path cannot decide. `attempt` bounds the
// retries when a transition keeps changing the state under a take.
Escrow::Taken Escrow::Take(std::int64_t quantity, bool up_to, int lease_number) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    // Acquire: a transition's lease and pool writes are visible (seqlock).
    const std::uint64_t state = state_.load(std::memory_order_acquire);
    if ((state & kMovingBit) != 0) break;
    if ((state & kSplitBit) == 0) {
      bool retry = false;
      const Taken taken = TakeJoined(quantity, up_to, state, &retry);
      if (!retry) return taken;
      continue;
    }
    if (lease_number < 0 || quantity > kEscrowChunkMax) break;
    Lease& lease = leases_[static_cast<std::size_t>(lease_number) % kEscrowLeases];
    std::int64_t units = lease.units.load(std::memory_order_relaxed);
    bool revoked = false;
    while (!revoked) {
      if (units == kRevoked) {
        revoked = true;  // joined since the state load: look again
      } else if (units == kRefilling) {
        // A thread sharing this lease is refilling it: the pool directly.
        break;
      } else if (units >= quantity) {
        // Relaxed: the lease word orders nothing else (file comment).
        if (lease.units.compare_exchange_weak(units, units - quantity, std::memory_order_relaxed,
                                              std::memory_order_relaxed)) {
          return {quantity, LowerBound(units - quantity)};
        }
      } else if (lease.units.compare_exchange_weak(units, kRefilling, std::memory_order_acquire,
                                                   std::memory_order_relaxed)) {
        // Acquire: pairs with the release store that put `units` here (a
        // split's opening, a refill's deposit), so the split that allowed
        // this refill happens before its release draw on the pool.
        return Refill(lease, units, quantity, up_to);
      }
    }
    if (revoked) continue;
    // The pool directly; only a full success is decided here.
    if (up_to) {
      const StockCell::Partial partial = pool_->TakeUpTo(quantity);
      if (partial.taken == quantity) return {quantity, partial.available};
      const Taken rest = TakeExact(quantity - partial.taken, true);
      return {partial.taken + rest.taken, rest.available};
    }
    const StockCell::Change change = pool_->TryTake(quantity);
    if (change.ok) return {quantity, change.available, change.retries};
    break;
  }
  return TakeExact(quantity, up_to);
}

// Joined: the pool is the whole SKU, so a success is final, and so is a
// refusal once the state is seen unchanged after the pool read: then no
// split overlapped it, every lease was revoked and no refill was in flight.
Escrow::Taken Escrow::TakeJoined(std::int64_t quantity, bool up_to, std::uint64_t state, bool* retry) {
  if (up_to) {
    // Acquire reads: a refill's release draw whose value the pool read saw
    // happens before the state load below (file comment). (An acquire
    // fence would say it too, but ThreadSanitizer does not model fences.)
    const StockCell::Partial partial = pool_->TakeUpTo<std::memory_order_relaxed, std::memory_order_acquire>(quantity);
    if (partial.taken == quantity) return {quantity, partial.available};
    if (state_.load(std::memory_order_relaxed) == state) return {partial.taken, partial.available};
    // Split meanwhile: what the pool gave stands; the rest exactly.
    const Taken rest = TakeExact(quantity - partial.taken, true);
    return {partial.taken + rest.taken, rest.available};
  }
  const StockCell::Change change = pool_->TryTake<std::memory_order_acquire>(quantity);  // as above
  if (change.ok) return {quantity, change.available, change.retries};
  if (state_.load(std::memory_order_relaxed) == state) return {0, change.available, change.retries};
  *retry = true;
  return {0, 0};
}

// The owner holds the lease (marked kRefilling) and `have` units from it.
// It draws a chunk from the pool, keeps what it needs, and puts the rest
// back in the lease; only it writes a kRefilling lease, and a join waits
// for it, so the units in its hands are never missed by a refusal.
Escrow::Taken Escrow::Refill(Lease& lease, std::int64_t have, std::int64_t quantity, bool up_to) {
  const std::int64_t floor = pool_->Floor();
  const std::int64_t level = pool_->Level();
  // level - floor can exceed INT64_MAX; in uint64 it is exact (stock_cell.h).
  const std::uint64_t headroom =
      level > floor ? static_cast<std::uint64_t>(level) - static_cast<std::uint64_t>(floor) : 0;
  std::uint64_t chunk = headroom / (2 * kEscrowLeases);
  if (chunk < 1) chunk = 1;
  if (chunk > static_cast<std::uint64_t>(kEscrowChunkMax)) chunk = kEscrowChunkMax;
  // quantity <= kEscrowChunkMax and have < quantity: no overflow.
  const std::int64_t want = quantity - have + static_cast<std::int64_t>(chunk);
  // Release: see TakeJoined (a fast refusal that reads this value must also
  // see the split that let this lease refill).
  const StockCell::Partial drawn = pool_->TakeUpTo<std::memory_order_release>(want);
  have += drawn.taken;
  // Auto mode: a refill long after the SKU's previous one means few buy
  // now; one line serves them as fast, and answers exactly.
  bool cooled = false;
  if (mode_.load(std::memory_order_relaxed) == EscrowMode::kAuto) {
    const std::int64_t now = clock_->NowNanos();
    // Relaxed: a time stamp, ordering nothing.
    const std::int64_t previous = last_refill_ns_.exchange(now, std::memory_order_relaxed);
    cooled = now - previous > kEscrowAutoCoolMs * 1'000'000;
  }
  FLASHSTOCK_TEST_POINT(kEscrowRefilling, &lease - leases_.data());
  if (have < quantity) {
    // Not enough in the lease and the pool: only the exact path may refuse
    // (or, for up_to, decide how much). The units go back to the lease
    // first, where the join that path runs will find them.
    lease.units.store(have, std::memory_order_release);  // release: see Take's acquire
    return TakeExact(quantity, up_to);
  }
  lease.units.store(have - quantity, std::memory_order_release);  // as above
  // The tail: a pool this low would refill leases one unit at a time, each
  // a CAS on its line; the pool's line alone is faster, and exact.
  if (cooled || static_cast<std::uint64_t>(drawn.taken) + static_cast<std::uint64_t>(kEscrowJoinBelow) > headroom) {
    Join();
  }
  return {quantity, LowerBound(have - quantity)};
}

Escrow::Taken Escrow::TakeExact(std::int64_t quantity, bool up_to) {
  std::lock_guard<std::mutex> lock(mu_);
  JoinLocked();
  // Joined, under the exclusion: the pool is the whole SKU and no split can
  // start, so the answer is exact.
  if (up_to) {
    const StockCell::Partial partial = pool_->TakeUpTo(quantity);
    return {partial.taken, partial.available};
  }
  const StockCell::Change change = pool_->TryTake(quantity);
  return {change.ok ? quantity : 0, change.available};
}

StockCell::Change Escrow::HoldExact(std::int64_t quantity) {
  std::lock_guard<std::mutex> lock(mu_);
  JoinLocked();
  return pool_->TryHold(quantity);
}


std::int64_t Escrow::Available() const {
  std::int64_t sum = pool_->Level();
  for (const Lease& lease : leases_) {
    const std::int64_t units = lease.units.load(std::memory_order_relaxed);
    if (units > 0) sum += units;
  }
  return sum;
}

void Escrow::SetMode(EscrowMode mode) {
  std::lock_guard<std::mutex> lock(mu_);
  mode_.store(mode, std::memory_order_relaxed);
  if (mode == EscrowMode::kOff) JoinLocked();
  if (mode == EscrowMode::kOn) SplitLockedIfRoomy();
}

bool Escrow::Join() {
  std::lock_guard<std::mutex> lock(mu_);
  const bool was_split = (state_.load(std::memory_order_relaxed) & kSplitBit) != 0;
  JoinLocked();
  return was_split;
}

void Escrow::SplitIfRoomy(bool hot) {
  std::lock_guard<std::mutex> lock(mu_);
  const EscrowMode mode = mode_.load(std::memory_order_relaxed);
  if (mode == EscrowMode::kOn || (mode == EscrowMode::kAuto && hot)) SplitLockedIfRoomy();
}

void Escrow::SetFloor(std::int64_t floor) {
  std::lock_guard<std::mutex> lock(mu_);
  const bool was_split = (state_.load(std::memory_order_relaxed) & kSplitBit) != 0;
  JoinLocked();
  pool_->SetFloor(floor);
  const EscrowMode mode = mode_.load(std::memory_order_relaxed);
  if (mode == EscrowMode::kOn || (mode == EscrowMode::kAuto && was_split)) SplitLockedIfRoomy();
}

// Revokes every lease, moving its units to the pool. A lease being refilled
// is waited for: its owner holds units no word shows, and is two atomic
// steps from putting them back (it never blocks in between).
void Escrow::JoinLocked() {
  const std::uint64_t state = state_.load(std::memory_order_relaxed);  // written under mu_ only
  if ((state & kSplitBit) == 0) return;
  // Relaxed: takers that see the moving bit take the exclusion, which orders
  // them after this join; the bit only keeps them from deciding early.
  state_.store(state | kMovingBit, std::memory_order_relaxed);
  for (Lease& lease : leases_) {
    std::int64_t units = lease.units.load(std::memory_order_relaxed);
    int spins = 0;
    while (true) {
      if (units == kRefilling) {
        if (spins == 0) FLASHSTOCK_TEST_POINT(kEscrowJoinWaits, &lease - leases_.data());
        if (++spins > 64) std::this_thread::yield();  // its owner may be descheduled
        units = lease.units.load(std::memory_order_relaxed);
        continue;
      }
      FLASHSTOCK_CHECK(units != kRevoked);  // split: every lease was opened
      if (lease.units.compare_exchange_weak(units, kRevoked, std::memory_order_relaxed,
                                            std::memory_order_relaxed)) {
        break;
      }
    }
    if (units > 0) pool_->Add(units);
  }
  // Release: the revocations and pool adds happen before any take that
  // sees the joined state (seqlock writer's closing store).
  state_.store(((state >> 2) + 1) << 2, std::memory_order_release);
}

void Escrow::SplitLockedIfRoomy() {
  const std::uint64_t state = state_.load(std::memory_order_relaxed);  // written under mu_ only
  if (mode_.load(std::memory_order_relaxed) == EscrowMode::kOff || (state & kSplitBit) != 0) return;
  const std::int64_t level = pool_->Level();
  const std::int64_t floor = pool_->Floor();
  if (level <= floor || static_cast<std::uint64_t>(level) - static_cast<std::uint64_t>(floor) <
                            static_cast<std::uint64_t>(kEscrowSplitMin)) {
    return;
  }
  state_.store(state | kMovingBit, std::memory_order_relaxed);
  // The cooling clock starts at the split (relaxed: a time stamp).
  last_refill_ns_.store(clock_->NowNanos(), std::memory_order_relaxed);
  // Release: a refill that opens one of these (acquire) then happens after
  // this split, so a fast refusal that sees its draw sees the split too.
  for (Lease& lease : leases_) lease.units.store(0, std::memory_order_release);
  // Release: the opened leases happen before any take that sees the split.
  state_.store((((state >> 2) + 1) << 2) | kSplitBit, std::memory_order_release);
}

}  // namespace flashstock
