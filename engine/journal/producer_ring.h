// One producer's ring to the journal thread: the entries a change hands
// over (an order record as one group of them), and the producer's counters.
#ifndef FLASHSTOCK_JOURNAL_PRODUCER_RING_H_
#define FLASHSTOCK_JOURNAL_PRODUCER_RING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "boost/lockfree/spsc_queue.hpp"
#include "flashstock/limits.h"
#include "journal/journal_format.h"

namespace flashstock::journal {

// Entries per producer ring. At 16 B each a ring is 1 MiB, allocated on a
// thread's first change. It must absorb what one thread produces while the
// journal thread writes and fdatasyncs one batch, or the producer blocks on
// the disk: a full batch of orders (~850 KB) takes ~2.6 ms to sync at this
// disk's 323 MB/s, and one thread reserving and committing 1.2 M orders/s
// pushes ~10 M entries/s. At 2^14 entries (1.6 ms of that) both order
// threads sat idle during every sync (async orders: 1.9-2.4 M/s); at 2^16
// they keep working (2.5-3.0 M/s, docs/benchmarks.md).
inline constexpr std::size_t kJournalQueueDepth = std::size_t{1} << 16;

// One change as handed from a producer to the journal thread.
struct Entry {
  RecordType type;
  std::uint32_t sku;
  std::int64_t value;
};
static_assert(sizeof(Entry) == 16, "two entries per 32 bytes");

// An order record travels as a group of consecutive entries of one producer,
// pushed with one ring push (one release of the ring's write index), so the
// journal thread sees all of a group or none of it:
//   reserve: {kOrderReserve, lines, id} {cont, 0, deadline} {cont, sku, qty} x lines
//   close:   {kOrderCommit|Cancel|Return|Expire, 0, id} {cont, 0, tag} {cont, 0, at}
//   failed:  {kOrderReserveFailed, lines, id} {cont, short_line, at} {cont, 0, available}
//            {cont, sku, qty} x lines
// `cont` is never written to disk.
inline constexpr RecordType kEntryContinuation = static_cast<RecordType>(0xFF);
// The longest group (a failed reserve of kOrderLinesMax lines): what an order
// operation reserves before it changes anything.
inline constexpr std::size_t kOrderEntriesMax = 3 + kOrderLinesMax;
// Entries in the group an order record's head entry starts.
inline std::size_t OrderGroupEntries(const Entry& head) {
  switch (head.type) {
    case RecordType::kOrderReserve: return 2 + head.sku;
    case RecordType::kOrderReserveFailed: return 3 + head.sku;
    default: return 3;
  }
}

struct alignas(kCacheLineSize) Producer {
  boost::lockfree::spsc_queue<Entry, boost::lockfree::capacity<kJournalQueueDepth>> ring;
  // Changes pushed so far: written by the owner only (release, read by
  // Flush() callers with acquire); the owner's own reads are relaxed.
  alignas(kCacheLineSize) std::atomic<std::uint64_t> pushed{0};
  // Owner only (see kKickStride): changes left before the next wake-up try
  // while the ring is past kKickRoom.
  std::uint32_t kick_countdown = 1;
  // Non-zero while the owner is between reading a SKU's floor (a take, a
  // take-up-to, a reserve's holds) and pushing that change's record: the
  // `pushed` count that push will reach (pushed + 1 when the read began), so
  // the push itself ends the read and a successful take stores nothing
  // more; a change that ends without a push stores 0. What a floor raise
  // waits out (JournalWriter::WaitForFloorReadersAndSequence). Owner-written
  // (ReaderSlots::StoreMarker, the light half of an asymmetric Dekker pair),
  // on this line that only the owner writes.
  std::atomic<std::uint64_t> floor_read_until{0};
  // Set once before the producer is published, read on every change: kept
  // off the journal thread's line below, which it writes on every pop.
  // Set for the one producer shared by slot-less threads (guard with
  // JournalWriter::shared_mu()).
  bool shared = false;
  // Its index for ProducerAt (kProducersMax for the shared one).
  std::uint32_t index = 0;
  // Changes popped by the journal thread (its own; plain).
  alignas(kCacheLineSize) std::uint64_t popped = 0;
  bool touched = false;
  // Changes sequenced: collected into a batch whose place in the file is
  // fixed, so that any record pushed after this store is seen lands in a
  // later batch. Written by the journal thread only (release, after Collect).
  std::atomic<std::uint64_t> sequenced{0};
  // Changes durable; written by the journal thread only.
  std::atomic<std::uint64_t> durable{0};
  // Bumped by the journal thread after each commit touching this producer
  // (in async mode also after each drain) and on failure; waiters
  // futex-wait on it.
  std::atomic<std::uint32_t> wake{0};
};

}  // namespace flashstock::journal

#endif  // FLASHSTOCK_JOURNAL_PRODUCER_RING_H_
