#include "flashstock/orders.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <new>
#include <type_traits>

#include "flashstock/catalog.h"
#include "flashstock/stock_cell.h"
#include "internal/check.h"
#include "internal/timer_wheel.h"

// Structure. Each of the kOrderShards shards has one std::mutex guarding
// three things: its part of the id -> slot table (chained buckets linked
// through Slot::chain), its free-slot list, and its intake list of new slots
// for the expiry driver (both linked through Slot::next). So a reserve takes
// one mutex once (lookup, slot, insert, hand-off), a commit takes it once
// (lookup, decision), and the driver takes each shard's once per sweep to
// collect new slots and once more to forget a whole batch. A slot freed by
// forgetting goes to the free list of the shard its id lived in; ids hash
// uniformly, so every shard's list is refilled at the rate it is drained.
// A shard with an empty list takes a fresh slot, or steals from another
// shard (never holding two shard mutexes). There is no shared allocator line.
//
// Memory ordering, edge by edge.
//
// 1. Reserve -> other API threads. The reserving thread fills the slot (id,
//    deadline, lines) and links it into its bucket under the shard mutex;
//    every other API thread finds the slot under that mutex, so the
//    unlock/lock pair publishes those fields. They do not change while the
//    slot is busy.
// 2. Reserve's outcome. The stock moves and the failure fields
//    (short_line, short_available, changed_nanos) are written outside the
//    mutex, then the state is stored HELD or FAILED with release; readers
//    load the state with acquire before reading the failure fields.
// 3. Reserve -> expiry driver. The slot joins the shard's intake list under
//    the shard mutex; the driver takes the list under the same mutex, so it
//    sees every field written before. Its state may still be RESERVING: the
//    driver then looks again a tick later (acquire, pairing with edge 2).
// 4. The decision. The CAS HELD -> <winner>|moving (and COMMITTED ->
//    RETURNED|moving) is relaxed: it publishes nothing. The slot's fields are
//    already visible to both possible deciders (edges 1 and 3), the stock
//    moves are RMWs on their own counters, and a loser only reports the
//    winner's name. All deciders but the driver CAS under the shard mutex,
//    so at most two (one API thread, the driver) ever race, and only from
//    HELD.
// 5. Finish -> recycling. The winner reads the slot's lines while moving
//    stock, stamps changed_nanos, then stores the final state with release.
//    The driver forgets a slot only after an acquire load, under the shard
//    mutex, shows a final state without the moving bit, so the winner's
//    reads happen before the slot's next owner writes. A Return, which waits
//    for COMMITTED without the moving bit, is ordered after the commit's
//    stock moves the same way.
// 6. Free lists. The driver unlinks a forgotten slot and pushes it on its
//    shard's free list under the shard mutex; a reserving thread pops under
//    the same mutex (or, stealing, under the victim's mutex and then its
//    own), so the driver's last reads of the slot happen before the new
//    owner's writes.

namespace flashstock {

constexpr std::uint32_t kMovingBit = 0x100;
constexpr std::uint32_t StateWord(OrderState s) { return static_cast<std::uint32_t>(s); }
constexpr OrderState StateOf(std::uint32_t word) { return static_cast<OrderState>(word & 0xff); }

struct alignas(kCacheLineSize) OrderBook::Slot {
  std::atomic<std::uint32_t> state{StateWord(OrderState::kNone)};  // OrderState | kMovingBit
  // Free list or intake list (under the shard mutex), or the driver's
  // forget batch (driver only, while the slot is still busy).
  std::uint32_t next = kNoSlot;
  OrderId id = 0;
  std::int64_t deadline_nanos = 0;
  // Time of the last final-state change. Atomic because a Return rewrites it
  // while the driver may be reading it; relaxed: ordered by `state` (edge 5).
  std::atomic<std::int64_t> changed_nanos{0};
  std::int64_t short_available = 0;  // FAILED: the available count seen
  std::uint32_t chain = 0;           // next slot in the bucket, index + 1; shard mutex
  std::uint8_t line_count = 0;
  std::uint8_t short_line = 0;       // FAILED: which line was short
  PackedLine lines[kOrderLinesMax];
};
static_assert(kOrderLinesMax <= 255, "line_count fits a byte");

struct alignas(kCacheLineSize) OrderBook::Shard {
  // Held for a lookup plus at most one claim or one decision CAS (or, by the
  // driver, one batch): never while stock moves, never across a wait.
  std::mutex mu;
  std::uint32_t free_head = kNoSlot;    // guarded by mu (edge 6)
  std::uint32_t intake_head = kNoSlot;  // guarded by mu (edge 3)
};

namespace {

// Lateness histogram: 50 us buckets up to 100 ms; the last bucket is "more".
constexpr std::int64_t kLatenessBucketNanos = 50'000;
constexpr std::size_t kLatenessBuckets = 2001;

// Waits for another thread's bounded, non-blocking work (a reserve moving
// stock, a winner finishing its moves). Spins briefly, then yields, so on
// two cores the thread we wait for gets to run (STYLE.md, anti-pattern 2).
class Backoff {
 public:
  void Wait() {
    if (++spins_ < 64) return;
    std::this_thread::yield();
  }

 private:
  int spins_ = 0;
};

std::int64_t TickCeil(std::int64_t nanos) {
  return nanos / kExpiryTickNanos + (nanos % kExpiryTickNanos > 0 ? 1 : 0);
}
std::int64_t TickFloor(std::int64_t nanos) {
  return nanos / kExpiryTickNanos - (nanos % kExpiryTickNanos < 0 ? 1 : 0);
}

}  // namespace

std::string_view OrderStateName(OrderState state) {
  switch (state) {
    case OrderState::kNone: return "NONE";
    case OrderState::kReserving: return "RESERVING";
    case OrderState::kHeld: return "HELD";
    case OrderState::kCommitted: return "COMMITTED";
    case OrderState::kCancelled: return "CANCELLED";
    case OrderState::kExpired: return "EXPIRED";
    case OrderState::kReturned: return "RETURNED";
    case OrderState::kFailed: return "FAILED";
  }
  return "UNKNOWN_STATE";
}

void OrderBook::SlotsDeleter::operator()(Slot* slots) const {
  ::operator delete(slots, std::align_val_t{alignof(Slot)});
}
void OrderBook::BucketsDeleter::operator()(std::uint32_t* buckets) const { std::free(buckets); }

namespace {
// About one bucket per slot: chains stay ~1 long when the book is full.
int BucketBitsFor(std::uint32_t orders_max) {
  int bits = 0;
  while ((std::size_t{kOrderShards} << bits) < orders_max) ++bits;
  return bits;
}
// splitmix64's finaliser: ids are often sequential, and both the shard
// (high bits) and the bucket (low bits) need them spread.
std::uint64_t Mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}
}  // namespace

OrderBook::OrderBook(Catalog* catalog, const Clock* clock, std::uint32_t orders_max,
                     std::int64_t retention_ms)
    : catalog_(catalog),
      clock_(clock),
      capacity_(orders_max),
      retention_nanos_(retention_ms * 1'000'000),
      bucket_bits_(BucketBitsFor(orders_max)),
      // Raw storage: a slot is constructed when first handed out, so an
      // engine sized for millions of orders costs address space, not memory,
      // until they come.
      slots_(static_cast<Slot*>(::operator new(sizeof(Slot) * std::size_t{orders_max},
                                               std::align_val_t{alignof(Slot)}))),
      shards_(new Shard[kOrderShards]),
      buckets_(static_cast<std::uint32_t*>(
          std::calloc(std::size_t{kOrderShards} << bucket_bits_, sizeof(std::uint32_t)))),
      forget_heads_(new std::uint32_t[kOrderShards]),
      lateness_histogram_(new std::atomic<std::uint64_t>[kLatenessBuckets]) {
  static_assert(sizeof(Slot) == 2 * kCacheLineSize, "an order slot is two cache lines");
  static_assert(std::is_trivially_destructible_v<Slot>, "slots are freed without destruction");
  static_assert(sizeof(Shard) == kCacheLineSize, "a shard is one line: no false sharing");
  FLASHSTOCK_CHECK(catalog != nullptr);
  FLASHSTOCK_CHECK(clock != nullptr);
  FLASHSTOCK_CHECK(orders_max >= 1);
  FLASHSTOCK_CHECK(orders_max <= kOrdersMaxLimit);
  FLASHSTOCK_CHECK(retention_ms >= 0);
  FLASHSTOCK_CHECK(retention_ms <= kOrderRetentionMsMax);
  FLASHSTOCK_CHECK(buckets_ != nullptr);
  for (std::size_t i = 0; i < kLatenessBuckets; ++i) lateness_histogram_[i].store(0, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(sweep_mu_);
  for (std::size_t s = 0; s < kOrderShards; ++s) forget_heads_[s] = kNoSlot;
  wheel_ = std::make_unique<internal::TimerWheel>(orders_max, TickFloor(clock_->NowNanos()));
}

OrderBook::~OrderBook() {
  {
    std::lock_guard<std::mutex> lock(thread_mu_);
    stop_ = true;
  }
  thread_cv_.notify_all();
  if (expiry_thread_.joinable()) expiry_thread_.join();
}

OrderBook::Place OrderBook::PlaceOf(OrderId id) const {
  const std::uint64_t h = Mix(id);
  const std::size_t shard = static_cast<std::size_t>(h >> (64 - 6)) & (kOrderShards - 1);
  const std::size_t bucket = static_cast<std::size_t>(h) & ((std::size_t{1} << bucket_bits_) - 1);
  return {&shards_[shard], &buckets_[(shard << bucket_bits_) | bucket]};
}
static_assert(kOrderShards <= 64, "PlaceOf takes the hash's top 6 bits");

std::size_t OrderBook::ShardIndex(const Shard& shard) const {
  return static_cast<std::size_t>(&shard - shards_.get());
}

std::uint32_t OrderBook::Find(const Place& place, OrderId id) const {
  for (std::uint32_t link = *place.bucket; link != 0; link = slots_[link - 1].chain) {
    if (slots_[link - 1].id == id) return link - 1;
  }
  return kNoSlot;
}

std::uint32_t OrderBook::Claim(const Place& place, OrderId id, const Normalised& norm,
                               std::int64_t deadline_nanos) {
  Shard& shard = *place.shard;
  std::uint32_t index = shard.free_head;
  if (index != kNoSlot) {
    shard.free_head = slots_[index].next;
  } else {
    // Relaxed: the counter only hands out distinct indices; the new slot is
    // constructed by its owner and published by the shard mutex (edge 1).
    std::uint32_t fresh = fresh_.load(std::memory_order_relaxed);
    do {
      if (fresh >= capacity_) return kNoSlot;
    } while (!fresh_.compare_exchange_weak(fresh, fresh + 1, std::memory_order_relaxed,
                                           std::memory_order_relaxed));
    index = fresh;
    new (&slots_[index]) Slot();
  }
  Slot& slot = slots_[index];
  slot.id = id;
  slot.deadline_nanos = deadline_nanos;
  slot.line_count = static_cast<std::uint8_t>(norm.count);
  std::copy_n(norm.lines.begin(), norm.count, slot.lines);
  // Relaxed: published with the other fields by the mutex (edge 1).
  slot.state.store(StateWord(OrderState::kReserving), std::memory_order_relaxed);
  slot.chain = *place.bucket;
  *place.bucket = index + 1;
  slot.next = shard.intake_head;  // edge 3
  shard.intake_head = index;
  return index;
}

bool OrderBook::Steal(Shard& shard) {
  // Up to this many slots per steal: enough that a starved shard does not
  // come back at once, few enough to leave the victim some.
  constexpr int kStealMax = 16;
  const std::size_t mine = ShardIndex(shard);
  for (std::size_t k = 1; k < kOrderShards; ++k) {
    Shard& victim = shards_[(mine + k) & (kOrderShards - 1)];
    std::uint32_t first, last;
    {
      std::lock_guard<std::mutex> lock(victim.mu);
      first = victim.free_head;
      if (first == kNoSlot) continue;
      last = first;
      for (int n = 1; n < kStealMax && slots_[last].next != kNoSlot; ++n) last = slots_[last].next;
      victim.free_head = slots_[last].next;
    }
    std::lock_guard<std::mutex> lock(shard.mu);
    slots_[last].next = shard.free_head;
    shard.free_head = first;
    return true;
  }
  return false;
}

OrderResult OrderBook::Normalise(std::span<const OrderLine> lines, Normalised* out) const {
  out->count = 0;
  for (const OrderLine& line : lines) {
    if (line.quantity <= 0 || line.quantity > kOrderLineQuantityMax) {
      return {Outcome::kInvalidQuantity};
    }
    if (!catalog_->Contains(line.sku.index)) return {Outcome::kUnknownSku};
    // Insertion into a short sorted array, summing duplicates.
    std::uint32_t at = 0;
    while (at < out->count && out->lines[at].sku < line.sku.index) ++at;
    if (at < out->count && out->lines[at].sku == line.sku.index) {
      const std::int64_t sum = std::int64_t{out->lines[at].quantity} + line.quantity;
      if (sum > kOrderLineQuantityMax) return {Outcome::kInvalidQuantity};
      out->lines[at].quantity = static_cast<std::uint32_t>(sum);
      continue;
    }
    if (out->count == kOrderLinesMax) return {Outcome::kInvalidOrder};
    std::move_backward(out->lines.begin() + at, out->lines.begin() + out->count,
                       out->lines.begin() + out->count + 1);
    out->lines[at] = {line.sku.index, static_cast<std::uint32_t>(line.quantity)};
    ++out->count;
  }
  return {Outcome::kOk};
}

OrderResult OrderBook::Reserve(OrderId id, std::span<const OrderLine> lines, std::int64_t ttl_ms) {
  if (id == 0 || ttl_ms < kHoldTtlMsMin || ttl_ms > kHoldTtlMsMax || lines.empty()) {
    return {Outcome::kInvalidOrder};
  }
  Normalised norm;
  if (OrderResult r = Normalise(lines, &norm); !r.ok()) return r;

  // One clock read: the deadline, and the change stamp if the reserve fails.
  const std::int64_t now = clock_->NowNanos();
  const Place place = PlaceOf(id);
  std::uint32_t index = kNoSlot;
  for (Backoff backoff;; backoff.Wait()) {
    std::unique_lock<std::mutex> lock(place.shard->mu);
    const std::uint32_t found = Find(place, id);
    if (found == kNoSlot) {
      index = Claim(place, id, norm, now + ttl_ms * 1'000'000);
      if (index != kNoSlot) break;
      lock.unlock();
      if (!Steal(*place.shard)) return {Outcome::kOrdersFull};
      continue;  // look the id up again: a duplicate may have come meanwhile
    }
    // A retry (or a concurrent duplicate) of a known id.
    const Slot& slot = slots_[found];
    if (slot.line_count != norm.count || !std::equal(norm.lines.begin(), norm.lines.begin() + norm.count, slot.lines)) {
      return {Outcome::kOrderConflict};
    }
    // Acquire: pairs with the release store of HELD/FAILED (edge 2).
    const std::uint32_t word = slot.state.load(std::memory_order_acquire);
    const OrderState state = StateOf(word);
    if (state == OrderState::kReserving) continue;  // the first reserve is still moving stock
    if (state == OrderState::kFailed) {
      return {Outcome::kInsufficient, state, SkuHandle{slot.lines[slot.short_line].sku},
              slot.short_available};
    }
    return {Outcome::kOk, state};
  }

  // Outside the mutex: move stock, line by line, in SKU order.
  Slot& slot = slots_[index];
  for (std::uint32_t i = 0; i < norm.count; ++i) {
    const StockCell::Change change = catalog_->cell(norm.lines[i].sku).TryHold(norm.lines[i].quantity);
    if (change.ok) continue;
    for (std::uint32_t j = 0; j < i; ++j) catalog_->cell(norm.lines[j].sku).ReleaseHold(norm.lines[j].quantity);
    slot.short_line = static_cast<std::uint8_t>(i);
    slot.short_available = change.available;
    slot.changed_nanos.store(now, std::memory_order_relaxed);
    // Release: publishes the failure fields (edge 2).
    slot.state.store(StateWord(OrderState::kFailed), std::memory_order_release);
    return {Outcome::kInsufficient, OrderState::kFailed, SkuHandle{norm.lines[i].sku}, change.available};
  }
  // Release: pairs with acquire loads of the state (edge 2).
  slot.state.store(StateWord(OrderState::kHeld), std::memory_order_release);
  return {Outcome::kOk, OrderState::kHeld};
}

OrderResult OrderBook::Commit(OrderId id) { return Decide(id, OrderState::kCommitted, true); }
OrderResult OrderBook::Cancel(OrderId id) { return Decide(id, OrderState::kCancelled, true); }
OrderResult OrderBook::Return(OrderId id) { return Decide(id, OrderState::kReturned, true); }

OrderResult OrderBook::Decide(OrderId id, OrderState target, bool honour_deadline) {
  const OrderState from = target == OrderState::kReturned ? OrderState::kCommitted : OrderState::kHeld;
  const Place place = PlaceOf(id);
  for (Backoff backoff;; backoff.Wait()) {
    // One clock read, outside the mutex: the deadline check and the stamp of
    // the change. The decision takes effect at this instant.
    const std::int64_t now = clock_->NowNanos();
    std::uint32_t index;
    OrderState won = target;
    {
      std::lock_guard<std::mutex> lock(place.shard->mu);
      index = Find(place, id);
      if (index == kNoSlot) return {Outcome::kUnknownOrder};
      Slot& slot = slots_[index];
      // Acquire: pairs with the release stores of edges 2 and 5.
      std::uint32_t word = slot.state.load(std::memory_order_acquire);
      if (word == StateWord(OrderState::kReserving)) continue;
      // A return waits for a commit to finish moving its stock (edge 5).
      if (word == (StateWord(from) | kMovingBit)) continue;
      if (word != StateWord(from)) {
        if (target == OrderState::kReturned && StateOf(word) == OrderState::kHeld) {
          return {Outcome::kOrderOpen, OrderState::kHeld};
        }
        return {Outcome::kOrderClosed, StateOf(word)};
      }
      if (honour_deadline && from == OrderState::kHeld && now >= slot.deadline_nanos) {
        won = OrderState::kExpired;  // a late commit or cancel performs the expiry
      }
      // The decision (edge 4). Relaxed: publishes nothing; see the top.
      if (!slot.state.compare_exchange_strong(word, StateWord(won) | kMovingBit,
                                              std::memory_order_relaxed,
                                              std::memory_order_relaxed)) {
        // Only the expiry driver decides outside this mutex, and only from
        // HELD: it won.
        return {Outcome::kOrderClosed, StateOf(word)};
      }
    }
    Finish(index, won, now);
    if (won != target) return {Outcome::kOrderClosed, won};
    return {Outcome::kOk, won};
  }
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
  const Place place = PlaceOf(id);
  std::lock_guard<std::mutex> lock(place.shard->mu);
  const std::uint32_t index = Find(place, id);
  if (index == kNoSlot) return std::nullopt;
  const Slot& slot = slots_[index];
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

std::int64_t OrderBook::ForgetAt(const Slot& slot) const {
  return slot.changed_nanos.load(std::memory_order_relaxed) + retention_nanos_;
}

std::size_t OrderBook::Sweep() {
  std::lock_guard<std::mutex> lock(sweep_mu_);
  const std::int64_t now = clock_->NowNanos();
  // Take every slot reserved since the last sweep (edge 3).
  for (std::size_t s = 0; s < kOrderShards; ++s) {
    std::uint32_t index;
    {
      std::lock_guard<std::mutex> shard_lock(shards_[s].mu);
      index = shards_[s].intake_head;
      shards_[s].intake_head = kNoSlot;
    }
    // The taken slots stay busy until this driver frees them: nobody else
    // writes their `next` meanwhile.
    while (index != kNoSlot) {
      const Slot& slot = slots_[index];
      const std::uint32_t following = slot.next;
      // Acquire: pairs with edge 2. A held order is due at its deadline, a
      // failed one at its forget time, one still reserving next tick (Visit
      // files it again once it has settled).
      const OrderState state = StateOf(slot.state.load(std::memory_order_acquire));
      const std::int64_t tick = state == OrderState::kFailed      ? TickCeil(ForgetAt(slot))
                                : state == OrderState::kReserving ? TickFloor(now) + 1
                                                                  : TickCeil(slot.deadline_nanos);
      wheel_->Schedule(index, tick);
      index = following;
    }
  }
  std::size_t expired = 0;
  wheel_->Advance(TickFloor(now), [&](std::uint32_t index, std::int64_t) { Visit(index, now, &expired); });
  ForgetQueued(now);
  sweeps_.store(sweeps_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  scheduled_.store(wheel_->size(), std::memory_order_relaxed);
  return expired;
}

void OrderBook::Visit(std::uint32_t index, std::int64_t now, std::size_t* expired) {
  Slot& slot = slots_[index];
  // Acquire: pairs with the release stores of edges 2 and 5.
  std::uint32_t word = slot.state.load(std::memory_order_acquire);
  if (word == StateWord(OrderState::kHeld)) {
    if (now < slot.deadline_nanos) {  // filed early while it was still reserving
      wheel_->Schedule(index, TickCeil(slot.deadline_nanos));
      return;
    }
    // The decision (edge 4), racing at most one API thread.
    if (slot.state.compare_exchange_strong(word, StateWord(OrderState::kExpired) | kMovingBit,
                                           std::memory_order_relaxed, std::memory_order_relaxed)) {
      Finish(index, OrderState::kExpired, now);
      ++*expired;
      expired_.store(expired_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      RecordLateness(clock_->NowNanos() - slot.deadline_nanos);
      wheel_->Schedule(index, TickCeil(ForgetAt(slot)));
      return;
    }
    // Lost to a commit or cancel; fall through with the winner's word.
  }
  if ((word & kMovingBit) != 0 || StateOf(word) == OrderState::kReserving) {
    wheel_->Schedule(index, TickFloor(now) + 1);  // a winner is still moving stock
    return;
  }
  const std::int64_t forget_at = ForgetAt(slot);
  if (now < forget_at) {
    wheel_->Schedule(index, TickCeil(forget_at));
    return;
  }
  // Forget it with the rest of its shard's batch, under one lock.
  const std::size_t s = ShardIndex(*PlaceOf(slot.id).shard);
  slot.next = forget_heads_[s];
  forget_heads_[s] = index;
}

void OrderBook::ForgetQueued(std::int64_t now) {
  for (std::size_t s = 0; s < kOrderShards; ++s) {
    std::uint32_t index = forget_heads_[s];
    if (index == kNoSlot) continue;
    forget_heads_[s] = kNoSlot;
    std::uint64_t forgotten = 0;
    std::lock_guard<std::mutex> lock(shards_[s].mu);
    while (index != kNoSlot) {
      Slot& slot = slots_[index];
      const std::uint32_t following = slot.next;
      // Under the mutex no API thread can decide (edge 4). Acquire: pairs
      // with edge 5. A return may have won since Visit looked: if it is
      // still moving, or restarted the retention window, look again later.
      const std::uint32_t word = slot.state.load(std::memory_order_acquire);
      if ((word & kMovingBit) != 0 || now < ForgetAt(slot)) {
        wheel_->Schedule(index, (word & kMovingBit) != 0 ? TickFloor(now) + 1 : TickCeil(ForgetAt(slot)));
        index = following;
        continue;
      }
      const Place place = PlaceOf(slot.id);
      std::uint32_t* link = place.bucket;
      while (*link != index + 1) {
        FLASHSTOCK_CHECK(*link != 0);  // a busy slot is always in its bucket
        link = &slots_[*link - 1].chain;
      }
      *link = slot.chain;
      slot.state.store(StateWord(OrderState::kNone), std::memory_order_relaxed);  // ours alone now
      slot.next = shards_[s].free_head;  // edge 6
      shards_[s].free_head = index;
      ++forgotten;
      index = following;
    }
    forgotten_.store(forgotten_.load(std::memory_order_relaxed) + forgotten, std::memory_order_relaxed);
  }
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

OrderResult OrderBook::RestoreHold(OrderId id, std::span<const OrderLine> lines, std::int64_t deadline_nanos) {
  if (id == 0 || lines.empty()) return {Outcome::kInvalidOrder};
  Normalised norm;
  if (OrderResult r = Normalise(lines, &norm); !r.ok()) return r;
  const Place place = PlaceOf(id);
  std::uint32_t index;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(place.shard->mu);
      if (Find(place, id) != kNoSlot) return {Outcome::kOrderConflict};
      index = Claim(place, id, norm, deadline_nanos);
    }
    if (index != kNoSlot) break;
    if (!Steal(*place.shard)) return {Outcome::kOrdersFull};
  }
  for (std::uint32_t i = 0; i < norm.count; ++i) catalog_->cell(norm.lines[i].sku).ForceHold(norm.lines[i].quantity);
  // Release: as in Reserve (edge 2).
  slots_[index].state.store(StateWord(OrderState::kHeld), std::memory_order_release);
  return {Outcome::kOk, OrderState::kHeld};
}

OrderResult OrderBook::RestoreClose(OrderId id, OrderState target) {
  FLASHSTOCK_CHECK(target == OrderState::kCommitted || target == OrderState::kCancelled ||
                   target == OrderState::kExpired || target == OrderState::kReturned);
  return Decide(id, target, false);
}

}  // namespace flashstock
