// An order's slot and the id shard that finds it: the fields, the state
// word's encoding, and the memory-ordering edges the orders/*.cc files name.
#ifndef FLASHSTOCK_ORDERS_ORDER_SLOT_H_
#define FLASHSTOCK_ORDERS_ORDER_SLOT_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "orders/order_book.h"

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

inline constexpr std::uint32_t kMovingBit = 0x100;
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

namespace internal {

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

}  // namespace internal
}  // namespace flashstock

#endif  // FLASHSTOCK_ORDERS_ORDER_SLOT_H_
