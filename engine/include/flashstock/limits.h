// Every bound flashstock enforces, named in one place (TigerBeetle's
// constants.zig). Each has a why; relationships between them are asserted.
#ifndef FLASHSTOCK_LIMITS_H_
#define FLASHSTOCK_LIMITS_H_

#include <cstddef>
#include <cstdint>
#include <limits>

namespace flashstock {

// The unit of false sharing. 64 bytes is the x86-64 line; 128 would also cover
// the adjacent-line prefetcher (folly/lang/Align.h). We chose 64 by measurement:
// bench/false_sharing_benchmark.cc shows neighbouring 64-byte cells run as fast
// as 128-byte ones on this machine, and half the memory per SKU is kept.
// Not std::hardware_destructive_interference_size: g++ 12 warns on it in a
// header (fatal under -Werror) and clang 14 lacks it.
inline constexpr std::size_t kCacheLineSize = 64;

// SKU names are byte strings of 1..64 bytes: long enough for any real SKU code
// (GS1 GTIN-14 plus a variant suffix), short enough to store inline.
inline constexpr std::size_t kNameBytesMin = 1;
inline constexpr std::size_t kNameBytesMax = 64;

// A catalog's capacity is fixed at construction. Handles are 32-bit indices,
// so the hard ceiling is 2^31 (one bit spare); 16M SKUs is the largest catalog
// we test and document (64 B cell + name + index ~ 150 B each: ~2.4 GiB).
inline constexpr std::uint32_t kSkusMaxDefault = 1u << 20;
inline constexpr std::uint32_t kSkusMaxLimit = 1u << 24;

// Quantities moved by one operation are in [1, kQuantityMax]. Levels live in
// [floor, INT64_MAX] and floors in [kFloorMin, 0]. With quantity > 0 and
// floor <= 0, `floor + quantity` can never overflow, which is the comparison
// the take path uses; `level - quantity` is only computed once it is known to
// stay >= floor. Define and Restock refuse levels above kLevelMax, which sits
// kGiveBackHeadroom below INT64_MAX (see "Orders" below for why).
inline constexpr std::int64_t kQuantityMax = std::numeric_limits<std::int64_t>::max();
inline constexpr std::int64_t kFloorMin = std::numeric_limits<std::int64_t>::min();

// Number of catalog shards: a power of two, chosen from the high bits of the
// name's hash. 256 keeps each shard's map small (a define copies nothing, but
// its writer lock is per shard) and costs ~2 KiB of headers per shard pair.
inline constexpr std::size_t kCatalogShards = 256;
static_assert((kCatalogShards & (kCatalogShards - 1)) == 0, "shard count is a power of two");

// Threads that may read the catalog by name at the same time, each with its
// own reader slot (one cache line). A thread claims a slot on its first
// by-name call and frees it when it exits.
inline constexpr std::size_t kReaderThreadsMax = 1024;


// ---- Escrow (hot SKUs split across cache lines; docs/design.md) -----------

// Leases per SKU in escrow, each on its own line: one per core with room for
// hyperthreads on the machines we target; threads beyond it share leases by
// their thread number (a shared lease is still correct, only contended).
// 16 lines + state + exclusion: about 1.2 KiB per SKU in escrow.
inline constexpr std::size_t kEscrowLeases = 16;
// SKUs that may be put in escrow per engine: escrow is for the few hot SKUs
// of a sale, not the catalog (the memory above, times this: ~1.2 MiB).
inline constexpr std::size_t kEscrowSkusMax = 1024;
// The largest refill: a lease draws min(kEscrowChunkMax, headroom / (2 *
// kEscrowLeases)) units (at least 1), so at most about half of what the pool
// has left sits in leases, and the last units go out one by one. Takes of
// more than this go to the pool directly.
inline constexpr std::int64_t kEscrowChunkMax = 1024;
// A SKU in escrow splits only with at least this many units above its floor
// (fewer would be handed out one by one anyway), and joins (runs its tail on
// the pool's line) once a refill leaves fewer than kEscrowLeases there.
inline constexpr std::int64_t kEscrowSplitMin = 4 * static_cast<std::int64_t>(kEscrowLeases);
inline constexpr std::int64_t kEscrowJoinBelow = static_cast<std::int64_t>(kEscrowLeases);
static_assert(kEscrowJoinBelow < kEscrowSplitMin, "a split SKU does not join at once");
// Auto escrow (EscrowMode::kAuto): a SKU splits once one thread has seen
// kEscrowAutoRetries failed compare-and-swaps on its line within
// kEscrowAutoWindowMs (about 10,000 a second from one thread: buyers on
// other cores are writing the line between this one's read and its CAS),
// counted only on a take that already failed one, so an uncontended take
// pays nothing. It joins again at its first refill more than
// kEscrowAutoCoolMs after the SKU's previous one (a lease lasts that long
// only when few buy), or when it runs low, as any split SKU.
inline constexpr std::uint32_t kEscrowAutoRetries = 1024;
inline constexpr std::int64_t kEscrowAutoWindowMs = 100;
inline constexpr std::int64_t kEscrowAutoCoolMs = 1000;

// ---- Orders ---------------------------------------------------------------

// Lines per order, after lines naming the same SKU are summed. A cart of ten
// distinct items covers flash-sale checkouts; ten 8-byte lines plus the slot
// header fill exactly two cache lines (engine/orders/order_book.cc asserts it).
inline constexpr std::size_t kOrderLinesMax = 10;

// Units per order line (after summing). A cart line of a billion units is a
// bug, not a sale; the bound lets a line's quantity live in 32 bits, and ten
// lines summed stay far inside int64 next to any level.
inline constexpr std::int64_t kOrderLineQuantityMax = 1'000'000'000;
static_assert(kOrderLineQuantityMax <= INT32_MAX, "a line's quantity is stored in 32 bits");

// Orders the engine remembers at once: open holds plus closed and failed
// orders still inside their retention window. Slots are reserved (address
// space only) at construction and touched on first use; 128 B each.
// The hard ceiling keeps slot indices below 2^31 with room for a sentinel.
inline constexpr std::uint32_t kOrdersMaxDefault = 1u << 16;
inline constexpr std::uint32_t kOrdersMaxLimit = 1u << 24;

// Give-back headroom. A cancel, an expiry and a return add units back to
// `available` without a check (they must restock exactly once, so they
// cannot be refused). They never overflow because of this invariant:
//   available + (units owed back by remembered orders) <= INT64_MAX.
// Holds and give-backs move units between the two terms, plain takes lower
// the sum, and Define/Restock only ever produce available <= kLevelMax while
// at most kGiveBackHeadroom units are owed back: each of at most
// kOrdersMaxLimit remembered orders owes at most kOrderLineQuantityMax units
// per SKU (its lines are summed per SKU), whether held or committed and still
// returnable. Once an order is forgotten it owes nothing. So a give-back of
// q <= owed units lands at most at INT64_MAX. The price: levels above
// INT64_MAX - 1.7e16 are refused, with or without orders (lock-free and
// exact; a check against the live held + sold counters would race with
// concurrent holds). `sold` itself only grows by units that were available,
// so it cannot pass INT64_MAX within any real lifetime of a SKU.
inline constexpr std::int64_t kGiveBackHeadroom = std::int64_t{kOrdersMaxLimit} * kOrderLineQuantityMax;
inline constexpr std::int64_t kLevelMax = std::numeric_limits<std::int64_t>::max() - kGiveBackHeadroom;
static_assert(kGiveBackHeadroom / kOrderLineQuantityMax == std::int64_t{kOrdersMaxLimit}, "no overflow");
static_assert(kLevelMax > std::numeric_limits<std::int64_t>::max() / 2, "the headroom is a sliver");

// How long a closed (or failed) order id is remembered after its last state
// change, so a gateway's retry gets the first answer again. After the window
// the id is forgotten: its slot is reused, and the id is UNKNOWN_ORDER (a
// reserve under it starts a new order). 15 minutes outlasts any sane retry
// budget; tests shorten it through EngineOptions.
inline constexpr std::int64_t kOrderRetentionMsDefault = 15 * 60 * 1000;
inline constexpr std::int64_t kOrderRetentionMsMax = 7LL * 24 * 60 * 60 * 1000;
// The shortest retention an operator may choose (`flashstock shell
// --order-retention-ms`): below 100 ms a gateway's first retry may already
// find its order forgotten. EngineOptions allows down to 0 for tests.
inline constexpr std::int64_t kOrderRetentionMsOperatorMin = 100;
static_assert(kOrderRetentionMsOperatorMin <= kOrderRetentionMsDefault, "the default is an operator's choice too");
static_assert(kOrderRetentionMsMax <= std::numeric_limits<std::int64_t>::max() / 1'000'000,
              "retention in nanoseconds fits an int64");

// A hold lives 1 ms to 24 h. Longer is a reservation system, not a cart.
inline constexpr std::int64_t kHoldTtlMsMin = 1;
inline constexpr std::int64_t kHoldTtlMsMax = 24LL * 60 * 60 * 1000;

// Shards of the order-id map, each with its own mutex and its own hand-off
// list to the expiry driver. 64 keeps two threads off each other's lock
// almost always and costs one cache line of header each.
inline constexpr std::size_t kOrderShards = 64;
static_assert((kOrderShards & (kOrderShards - 1)) == 0, "shard count is a power of two");

// The expiry driver's tick and sleep between sweeps. A hold fires in the
// first sweep at or after its deadline rounded up to a whole tick, so the
// designed lateness is at most one tick + one interval + the sweep's own
// work (measured in docs/benchmarks.md).
inline constexpr std::int64_t kExpiryTickNanos = 1'000'000;
inline constexpr std::int64_t kExpirySweepIntervalNanos = 1'000'000;

}  // namespace flashstock

#endif  // FLASHSTOCK_LIMITS_H_
