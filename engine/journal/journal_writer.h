// The journal writer: per-producer rings, one journal thread, group commit.
// Rings: producer_ring.h and producer_table.h; batch bytes: batch_encoder.h;
// the file being written: active_segment.h.
//
// Hand-off. A thread that changes stock owns one single-producer ring
// (boost::lockfree::spsc_queue) in this writer, found through its
// ReaderSlots index (registered on first use, reused after the thread
// exits). Before applying a change it calls Reserve(), which guarantees a
// free ring slot; since the thread is the ring's only pusher, the Push()
// after the change cannot fail. So an accepted change is never missing from
// the journal, and a refused one (BACKPRESSURE, READONLY) changed nothing.
// Defines and floor changes go through one mutex-guarded control queue
// instead, so their journal order is their order in memory.
//
// The journal thread drains every ring and the control queue into one batch
// (at most kBatchChangesMax changes), coalesces the take and restock deltas
// of each SKU within the batch (deltas commute, so one record per SKU and
// kind carries the same state; runs of one SKU are summed before they reach
// the per-SKU table), writes the batch and fdatasyncs it, then
// publishes each producer's durable watermark: "my change is durable"
// compares against my own producer's counter, never a global one.
//
// A failed write or fdatasync is final (never retried: after a failed
// fdatasync the kernel may have dropped the dirty pages): the writer turns
// read-only, wakes every waiter, and drops whatever is still queued.
//
// Memory ordering:
//  - ring push (release) / pop (acquire) inside spsc_queue carry the entry.
//  - Producer::durable is stored with release by the journal thread after
//    the fdatasync and loaded with acquire by waiters; then, once every
//    producer's durable is stored, durable_epoch_ (one word for all
//    durability waiters) is bumped with release and notified. A waiter loads
//    the epoch (acquire) before re-checking durable, so a bump it did not
//    see is one it will wake for. Producer::wake (bumped after each durable
//    store too) is what producers waiting for ring room sleep on.
//  - failed_ is stored with release before the wake bumps, so a woken waiter
//    sees it; hot-path checks load it relaxed (a change that slips past is
//    dropped and, in sync mode, reported READONLY by its wait).
//  - sleeping_ (journal thread idle) and a ring push form a Dekker pair.
//    Both sides use a read-modify-write of sleeping_ (the producer a
//    fetch_add(0) after its push, the journal an exchange(1) before it
//    re-checks the rings): RMWs of one location are totally ordered and each
//    reads the one before, so either the producer's RMW comes later and
//    reads 1 (it kicks the journal), or the journal's exchange comes later
//    and acquires the producer's release RMW, so its re-check sees the push.
//    (Not fences: ThreadSanitizer does not model atomic_thread_fence.)
//    Sync producers always do this; async ones only when their ring is
//    filling up (once per kKickStride changes), otherwise they rely on the
//    journal's bounded idle sleep (kJournalIdleSleepUs).
//  - In async mode the journal thread also bumps wake (release) right after
//    draining a producer's ring, before the write and fdatasync, so a
//    producer waiting for room (acquire load of wake, then re-check) goes on
//    at once; a durability waiter woken by it re-checks durable and waits.
#ifndef FLASHSTOCK_JOURNAL_WRITER_H_
#define FLASHSTOCK_JOURNAL_WRITER_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "flashstock/options.h"
#include "flashstock/outcome.h"
#include "base/file.h"
#include "base/reader_slots.h"
#include "journal/active_segment.h"
#include "journal/batch_encoder.h"
#include "journal/journal_format.h"
#include "journal/producer_ring.h"
#include "journal/producer_table.h"

namespace flashstock::journal {

// Changes drained into one group commit. At least one full ring, so a
// producer blocked on a full ring is released by the next commit.
inline constexpr std::size_t kBatchChangesMax = std::size_t{1} << 16;
static_assert(kBatchChangesMax >= kJournalQueueDepth, "one batch can empty a full ring");
// Define / set-floor records waiting in the control queue.
inline constexpr std::size_t kControlQueueDepth = 4096;
static_assert(kControlQueueDepth <= kBatchChangesMax, "one batch can empty the control queue");
// Ring room below which even an async producer wakes a sleeping journal.
inline constexpr std::size_t kKickRoom = kJournalQueueDepth / 4;
// Below kKickRoom an async producer tries that wake-up once per this many
// changes, not on every one: the try is a locked read-modify-write of
// sleeping_, a line the journal thread and every other producer also write,
// so on every take it was a second contended line (measured: ~10 % of the
// take's time when rings ran 3/4 full). The journal wakes by itself within
// kJournalIdleSleepUs, and a producer that finds its ring full always kicks.
inline constexpr std::uint32_t kKickStride = 64;
static_assert(kKickRoom >= kKickStride * kOrderEntriesMax, "a ring cannot fill between two wake-up tries");
// Journal thread's idle sleep: bounds how stale async durability can get
// when producers do not kick it.
inline constexpr std::int64_t kJournalIdleSleepUs = 500;
// Sync mode's gathering window. After a group commit the journal thread
// wakes every producer that had changes in it; each of their threads, in
// sync mode, waits for its change and then usually makes the next one. If
// the journal collected at once it would find only the first few back (16
// clients on 2 cores take longer to wake than to collect), sync those, and
// the rest would wait a whole extra fdatasync: measured ~10 changes per
// fdatasync with 16 clients where 16 are possible. So before collecting it
// waits until every producer it woke has pushed again, for at most half the
// last fdatasync's duration (a change arriving later costs a whole one) and
// never more than this. Async mode never waits.
inline constexpr std::int64_t kGatherMaxNanos = 500'000;
// Sync mode grows the active segment this far ahead of its records, in zero
// bytes (base/file.h: an fdatasync that need not commit a new file size
// is ~40 % faster here). One chunk costs one ~3 ms larger fdatasync.
inline constexpr std::uint64_t kSegmentPreallocateBytes = std::uint64_t{1} << 20;
// Segment size limit: rotation happens at the first batch boundary past it.
inline constexpr std::uint64_t kSegmentBytesDefault = std::uint64_t{64} << 20;
// The smallest limit accepted: a header plus one largest record, so every
// segment holds at least one record (tests use it to rotate often).
inline constexpr std::uint64_t kSegmentBytesMin = kSegmentHeaderBytes + kRecordHeaderBytes + kRecordPayloadBytesMax;
// Journal bytes after which a background checkpoint starts: bounds replay
// on open to ~8M records (under 2 s at the measured replay rate).
inline constexpr std::uint64_t kCheckpointBytesDefault = std::uint64_t{256} << 20;

struct WriterOptions {
  std::string dir;
  Durability durability = Durability::kSync;
  FullQueuePolicy full_queue = FullQueuePolicy::kWait;
  std::uint64_t segment_bytes_max = kSegmentBytesDefault;
  std::uint64_t checkpoint_bytes = kCheckpointBytesDefault;  // 0: never due
  std::uint64_t first_sequence = 1;
  internal::FileSystem* fs = nullptr;
  // Called on the journal thread when checkpoint_bytes have been written
  // since the last rotation for a checkpoint. Must not block.
  std::function<void()> checkpoint_due;
};

class JournalWriter {
 public:
  // Opens a new segment starting at options.first_sequence and starts the
  // journal thread.
  static absl::StatusOr<std::unique_ptr<JournalWriter>> Start(const WriterOptions& options);
  // Commits everything queued, then stops. REQUIRES: no concurrent calls.
  ~JournalWriter();

  // The calling thread's producer. The first call on a thread (per writer)
  // registers it; later ones read a thread-local cache.
  Producer* ThisThreadProducer() {
    // Thread-local: filled by this thread, so no ordering is involved.
    if (t_producer_cache.writer_id == id_) return t_producer_cache.producer;
    return RegisterThisThread();
  }
  std::mutex& shared_mu() { return producers_.shared_mu(); }

  // Before a change: kOk when the next Push cannot fail; kBackpressure or
  // kReadOnly when the change must not be made. REQUIRES: p is the caller's.
  // `entries`: how many the next push will take (an order group needs up to
  // kOrderEntriesMax).
  Outcome Reserve(Producer* p, std::size_t entries = 1) {
    if (failed_.load(std::memory_order_relaxed)) return Outcome::kReadOnly;
    const std::size_t room = p->ring.write_available();
    if (room > kKickRoom) return Outcome::kOk;
    if (room >= entries) {
      if (--p->kick_countdown == 0) {
        p->kick_countdown = kKickStride;
        MaybeKick();
      }
      return Outcome::kOk;
    }
    return WaitForRoom(p, entries);
  }
  // After the change. Returns the change's producer-local sequence.
  // REQUIRES: Reserve(p) returned kOk and nothing was pushed since.
  std::uint64_t Push(Producer* p, const Entry& e) {
    const bool pushed = p->ring.push(e);
    assert(pushed);
    (void)pushed;
    const std::uint64_t seq = p->pushed.load(std::memory_order_relaxed) + 1;
    // Release: pairs with Flush()'s acquire, so it waits for this entry.
    p->pushed.store(seq, std::memory_order_release);
    if (durability_ == Durability::kSync) MaybeKick();
    return seq;
  }
  // An order group (see Entry): one push, so the journal thread sees it whole.
  // REQUIRES: Reserve(p, n) returned kOk and nothing was pushed since.
  std::uint64_t PushGroup(Producer* p, const Entry* entries, std::size_t n) {
    const std::size_t pushed = p->ring.push(entries, n);
    assert(pushed == n);
    (void)pushed;
    const std::uint64_t seq = p->pushed.load(std::memory_order_relaxed) + n;
    // Release: pairs with Flush()'s acquire, as in Push.
    p->pushed.store(seq, std::memory_order_release);
    if (durability_ == Durability::kSync) MaybeKick();
    return seq;
  }
  // The producer with this index (kProducersMax: the shared one); null if
  // none was created. Used to wait on another thread's order record.
  Producer* ProducerAt(std::uint32_t index) { return producers_.At(index); }

  // Blocks until p's change `seq` is durable (true) or the journal failed
  // (false). Spins briefly, then futex-waits.
  bool WaitDurable(Producer* p, std::uint64_t seq);

  // ---- Durable order follows dependence (docs/design.md) ----
  // A change that others can use (a restock, a give-back, a floor lowering)
  // becomes visible only once its record is sequenced: then whatever uses it
  // is pushed later, so it lands in a later batch and every prefix of the
  // file holds the cause before the effect. Blocks until p's change `seq`
  // is sequenced (true) or the journal failed (false); kicks an idle
  // journal thread.
  bool WaitSequenced(Producer* p, std::uint64_t seq);
  bool WaitControlSequenced(std::uint64_t seq);
  // Announces a floor read on the caller's producer (see
  // Producer::floor_read_until); the next Push or PushGroup ends it, or
  // CancelFloorRead if the change pushes nothing.
  static void BeginFloorRead(Producer* p) {
    // Relaxed: the owner's own counter. The store is ordered before the
    // floor load that follows, against WaitForFloorReadersAndSequence's
    // HeavyFence (base/reader_slots.h).
    internal::ReaderSlots::StoreMarker(p->floor_read_until, p->pushed.load(std::memory_order_relaxed) + 1);
  }
  static void CancelFloorRead(Producer* p) {
    // Release: pairs with the raiser's acquire load; nothing to publish but
    // the end of the read.
    p->floor_read_until.store(0, std::memory_order_release);
  }
  // A floor raise, after storing the new floor: returns once every change
  // that may have read the old floor has pushed its record, then waits until
  // everything pushed so far is sequenced. The raise's record, appended
  // after, is then behind every take that used the old floor.
  // Returns false if the journal failed.
  bool WaitForFloorReadersAndSequence();

  // Control records (define, set-floor): runs `apply` and enqueues `record`
  // under the control mutex, so the journal order of control records is
  // their order in memory. kOk with *seq set, or kReadOnly/kBackpressure
  // (apply not run).
  struct Control {
    RecordType type;
    std::uint32_t sku;
    std::int64_t value;
    std::int64_t floor;  // define
    std::string name;    // define
  };
  Outcome AppendControl(Control record, const std::function<void()>& apply, std::uint64_t* seq);
  bool WaitControlDurable(std::uint64_t seq);

  // Waits until every change any thread pushed before the call is durable.
  absl::Status Flush();

  // ---- Waiting for durability without blocking (a server's io thread) ----
  // Everything the calling thread pushed so far, and every control record
  // any thread appended so far.
  struct Mark {
    Producer* producer = nullptr;
    std::uint64_t seq = 0;
    std::uint64_t control_seq = 0;
  };
  Mark MarkThisThread() {
    Producer* p = ThisThreadProducer();
    // Relaxed on pushed: the caller's own counter. Acquire on control:
    // pairs with AppendControl's release; a later value only waits longer.
    return {p, p->pushed.load(std::memory_order_relaxed), control_pushed_.load(std::memory_order_acquire)};
  }
  enum class MarkState : std::uint8_t { kPending, kDurable, kFailed };
  MarkState Check(const Mark& m) const {
    // Acquire: pairs with PublishDurable's release stores of durable.
    if (m.producer->durable.load(std::memory_order_acquire) >= m.seq &&
        control_.durable.load(std::memory_order_acquire) >= m.control_seq) {
      return MarkState::kDurable;
    }
    // Acquire: pairs with Fail's release store.
    return failed_.load(std::memory_order_acquire) ? MarkState::kFailed : MarkState::kPending;
  }
  // Called on the journal thread after every commit that made something
  // durable and once when the journal fails; it must not block. Set it to
  // null before the listener goes away: this returns only once no call to
  // the old listener is running.
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void OnJournalProgress() = 0;
  };
  void SetListener(Listener* listener) {
    std::lock_guard<std::mutex> lock(listener_mu_);
    listener_ = listener;
  }
  // Wakes an idle journal thread now instead of after its idle sleep.
  void RequestCommit() { MaybeKick(); }
  // Waits until the calling thread's changes are durable.
  absl::Status WaitThisThread();

  // Closes the active segment at the next batch boundary (after committing
  // what is queued) and opens a new one. Returns the last sequence in closed
  // segments. Used by the checkpointer.
  absl::StatusOr<std::uint64_t> RotateForCheckpoint();

  bool failed() const { return failed_.load(std::memory_order_acquire); }
  absl::Status failure() const;
  // The last journal sequence number known to be on disk.
  std::uint64_t durable_sequence() const { return durable_sequence_.load(std::memory_order_acquire); }

  struct Stats {
    std::uint64_t batches, records, changes, bytes;
    std::uint64_t grow_failures;  // preallocations refused (a full disk); nothing lost
  };
  Stats stats() const;

 private:
  explicit JournalWriter(const WriterOptions& options);
  void Run();
  // Drains rings and the control queue into the batch; returns changes taken.
  std::size_t Collect();
  // Collect's steps: the control queue's records, then one producer's ring.
  void CollectControl();
  void Drain(Producer* p);
  void Commit();
  // Sync mode: waits for the producers the last commit woke (kGatherMaxNanos).
  void GatherWoken();
  void Fail(const absl::Status& status);
  // Rotates before the batch whose first record is `first_sequence` if the
  // active segment has reached its size limit.
  void RotateIfFull(std::uint64_t first_sequence);
  // Tells the checkpointer once checkpoint_bytes have been written.
  void CheckpointIfDue();
  // Rotates for a waiting checkpoint, if one asked; true if it did.
  bool ServeRotation();
  void PublishDurable();
  // After Collect: every producer's sequenced = popped, then wakes waiters.
  void PublishSequenced();
  bool WaitSequencedOn(Producer* p, std::uint64_t seq);
  // Spins briefly, then sleeps on `epoch` until mark >= seq (true) or the
  // journal failed (false); kicks the journal thread on every round
  // (always_kick) or only if it sleeps.
  bool WaitWatermark(const std::atomic<std::uint64_t>& mark, std::atomic<std::uint32_t>& epoch, std::uint64_t seq,
                     bool always_kick);
  bool HasWork() const;
  void Idle();
  void TellListener();
  void MaybeKick() {
    // seq_cst RMW: the producer half of the Dekker pair (see above).
    if (sleeping_.fetch_add(0, std::memory_order_seq_cst) != 0) Kick();
  }
  void Kick();
  Outcome WaitForRoom(Producer* p, std::size_t entries);
  bool WaitOn(Producer* p, std::uint64_t seq);

  // Finds or creates the calling thread's producer and caches it.
  Producer* RegisterThisThread();
  // Bumps wake for every producer this batch drained (async mode): a
  // producer blocked on a full ring goes on now instead of after the
  // fdatasync.
  void ReleaseRoomWaiters();

  const WriterOptions options_;
  const Durability durability_;  // read by every Push; written once
  // Unique per writer in this process, never reused: keys the thread-local
  // producer cache, so a cached producer of a destroyed writer is never
  // returned for a new writer at the same address.
  const std::uint64_t id_;

  ProducerTable producers_;

  // Control queue.
  // std::mutex rather than absl::Mutex throughout: Debian's Abseil is not
  // built with ThreadSanitizer, which then cannot see its synchronisation.
  std::mutex control_mu_;
  std::vector<Control> control_pending_;  // guarded by control_mu_
  // Written under control_mu_; atomic so that MarkThisThread reads it
  // without the lock.
  std::atomic<std::uint64_t> control_pushed_{0};
  std::atomic<std::size_t> control_count_{0};  // pending size, for HasWork
  Producer control_;  // only durable/wake/popped are used

  std::mutex listener_mu_;  // held while the listener runs
  Listener* listener_ = nullptr;  // guarded by listener_mu_

  // Journal thread state.
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint32_t> sleeping_{0};  // 1 while the journal thread may block
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool kicked_ = false;  // guarded by wake_mu_

  ActiveSegment segment_;
  BatchEncoder encoder_;  // owns the next record's sequence number
  std::uint64_t bytes_since_checkpoint_ = 0;
  std::vector<Entry> scratch_;
  std::vector<Control> control_batch_;
  std::size_t batch_changes_ = 0;
  // Journal thread only: producers the last commit woke, and its fdatasync's
  // duration (GatherWoken).
  std::size_t woken_ = 0;
  std::size_t drain_start_ = 0;  // Collect's round-robin start
  std::int64_t last_sync_nanos_ = 0;

  // Rotation requests from the checkpointer.
  std::mutex rotate_mu_;
  std::condition_variable rotate_cv_;
  std::atomic<bool> rotate_requested_{false};
  std::uint64_t rotate_generation_ = 0;               // guarded by rotate_mu_
  absl::StatusOr<std::uint64_t> rotate_result_ = 0;  // guarded by rotate_mu_

  // Read by every change (Reserve): alone on its line, so the journal
  // thread's per-commit stores nearby do not evict it from producers' caches.
  alignas(kCacheLineSize) std::atomic<bool> failed_{false};
  alignas(kCacheLineSize) mutable std::mutex failure_mu_;
  absl::Status failure_;  // guarded by failure_mu_
  std::atomic<std::uint64_t> durable_sequence_{0};
  // Durability waiters (WaitOn) sleep on this one word, bumped once per
  // group commit and on failure: one futex wake-up call per commit for all
  // of them, where one per producer cost the journal thread ~1-2 us each
  // while 16 sync clients waited to make their next change.
  alignas(kCacheLineSize) std::atomic<std::uint32_t> durable_epoch_{0};
  // Sequencing waiters (restocks, give-backs, floor changes) sleep on this
  // word, bumped after each Collect that took something and on failure.
  alignas(kCacheLineSize) std::atomic<std::uint32_t> sequenced_epoch_{0};

  // Relaxed: statistics, read for reporting only.
  std::atomic<std::uint64_t> stat_batches_{0}, stat_records_{0}, stat_changes_{0}, stat_bytes_{0};
  std::atomic<std::uint64_t> stat_grow_failures_{0};
};

}  // namespace flashstock::journal

#endif  // FLASHSTOCK_JOURNAL_WRITER_H_
