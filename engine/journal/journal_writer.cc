// The journal writer's loop: the journal thread collects a batch from the
// rings, commits it, and sleeps when there is nothing to do.
#include "journal/journal_writer.h"

#include <immintrin.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/test_point.h"
#include "base/thread_name.h"

namespace flashstock::journal {
namespace {

// Spins before the idle journal thread sleeps, as a waiter does before it
// blocks (watermarks.cc).
constexpr int kIdleSpins = 64;

// Entries popped from a ring at a time: 8 KiB, so the copy the journal
// thread reads back is still in L1 (a whole ring, 256 KiB, was not).
constexpr std::size_t kPopChunk = 512;

inline void CpuRelax() { _mm_pause(); }

// Writer ids start at 1, so a thread's empty cache (0) matches no writer.
std::atomic<std::uint64_t> g_next_writer_id{1};

}  // namespace

absl::StatusOr<std::unique_ptr<JournalWriter>> JournalWriter::Start(const WriterOptions& options) {
  FLASHSTOCK_CHECK(options.fs != nullptr);
  FLASHSTOCK_CHECK(options.durability != Durability::kNone);
  FLASHSTOCK_CHECK(options.first_sequence >= 1);
  if (options.segment_bytes_max < kSegmentBytesMin) {
    return absl::InvalidArgumentError(absl::StrCat("segment size limit ", options.segment_bytes_max,
                                                   " is below the minimum ", kSegmentBytesMin));
  }
  std::unique_ptr<JournalWriter> w(new JournalWriter(options));
  if (absl::Status s = w->segment_.Open(options.first_sequence); !s.ok()) return s;
  w->thread_ = std::thread([p = w.get()] {
    internal::NameThisThread("fs-journal");
    p->Run();
  });
  return w;
}

JournalWriter::JournalWriter(const WriterOptions& options)
    : options_(options),
      durability_(options.durability),
      // Relaxed: only uniqueness matters, which the RMW gives.
      id_(g_next_writer_id.fetch_add(1, std::memory_order_relaxed)),
      // Sync mode syncs after every small batch, so a cheaper fdatasync is its
      // throughput; async mode syncs big batches rarely, and writing its
      // hundreds of MB/s twice (zeros, then records) would cost more.
      segment_(options.fs, options.dir, options.durability == Durability::kSync ? kSegmentPreallocateBytes : 0),
      encoder_(options.first_sequence, kBatchChangesMax * kStockRecordBytes) {
  durable_sequence_.store(options.first_sequence - 1, std::memory_order_relaxed);
  scratch_.resize(kPopChunk);
}

JournalWriter::~JournalWriter() {
  // Release: pairs with the journal thread's acquire load; everything pushed
  // before is drained before it exits.
  stop_.store(true, std::memory_order_release);
  Kick();
  if (thread_.joinable()) thread_.join();  // not started when Start failed
  segment_.Drop();
}

Producer* JournalWriter::RegisterThisThread() {
  Producer* p = producers_.FindOrCreate();
  t_producer_cache = {id_, p};
  return p;
}

JournalWriter::Stats JournalWriter::stats() const {
  return {stat_batches_.load(std::memory_order_relaxed), stat_records_.load(std::memory_order_relaxed),
          stat_changes_.load(std::memory_order_relaxed), stat_bytes_.load(std::memory_order_relaxed),
          stat_grow_failures_.load(std::memory_order_relaxed)};
}

void JournalWriter::Run() {
  while (true) {
    GatherWoken();
    // Acquire: pairs with the destructor's release store.
    const bool stopping = stop_.load(std::memory_order_acquire);
    const std::uint64_t first_sequence = encoder_.next_sequence();
    const std::size_t changes = Collect();
    FLASHSTOCK_TEST_POINT(kJournalCollected, 0);
    if (changes > 0) PublishSequenced();
    // Async: nobody waits for durability on the hot path, only for room, and
    // the rings have room now. (Sync waiters would only wake to wait again.)
    if (changes > 0 && durability_ == Durability::kAsync) ReleaseRoomWaiters();
    if (changes > 0 || encoder_.next_sequence() != first_sequence || !encoder_.empty()) {
      RotateIfFull(first_sequence);
      Commit();
      CheckpointIfDue();
      // At every batch boundary, not only when idle: under continuous load
      // the journal is never idle, and a checkpoint waiting for its
      // rotation would starve (journal_test, CheckpointUnderContinuousLoad).
      ServeRotation();
      continue;
    }
    if (ServeRotation()) continue;
    if (stopping) break;
    Idle();
  }
}

std::size_t JournalWriter::Collect() {
  batch_changes_ = 0;
  CollectControl();
  const std::size_t used = producers_.used();
  // Round robin: each batch starts one producer further on, so when the
  // batch limit stops a drain it is not always the same high-index
  // producers that wait for the next batch (file order does not matter:
  // records in one batch never depend on each other; docs/design.md).
  const std::size_t first = used == 0 ? 0 : drain_start_++ % used;
  for (std::size_t k = 0; k < used; ++k) {
    if (Producer* p = producers_.At(static_cast<std::uint32_t>((first + k) % used))) Drain(p);
  }
  Drain(producers_.shared());
  return batch_changes_;
}

void JournalWriter::Drain(Producer* p) {
  while (batch_changes_ < kBatchChangesMax) {
    const std::size_t want = std::min(scratch_.size(), kBatchChangesMax - batch_changes_);
    const std::size_t n = p->ring.pop(scratch_.data(), want);
    if (n == 0) break;
    encoder_.ConsumeChunk(scratch_.data(), n);
    p->popped += n;
    p->touched = true;
    batch_changes_ += n;
  }
  // The batch limit may have cut an order group: the rest is in the ring
  // (a group is pushed at once), so finish it here; a batch may pass
  // kBatchChangesMax by at most kOrderEntriesMax - 1.
  while (encoder_.group_open()) {
    Entry e;
    const bool popped = p->ring.pop(e);
    assert(popped);
    (void)popped;
    encoder_.Consume(e);
    ++p->popped;
    ++batch_changes_;
  }
}

void JournalWriter::Commit() {
  encoder_.EncodeSums();
  if (failed_.load(std::memory_order_relaxed)) {
    // Read-only: queued changes are dropped, never written after a failure.
    encoder_.Clear();
    return;
  }
  if (absl::Status s = segment_.Write(encoder_.data(), encoder_.size(), &last_sync_nanos_); !s.ok()) {
    Fail(s);
  } else {
    bytes_since_checkpoint_ += encoder_.size();
    stat_batches_.fetch_add(1, std::memory_order_relaxed);
    stat_bytes_.fetch_add(encoder_.size(), std::memory_order_relaxed);
    stat_changes_.fetch_add(batch_changes_, std::memory_order_relaxed);
    stat_records_.store(encoder_.next_sequence() - options_.first_sequence, std::memory_order_relaxed);
    PublishDurable();
    // After the waiters are told: growing the file ahead is an optimisation,
    // and its failure (a full disk) loses nothing that was synced. The next
    // append meets the full disk itself if it is still full.
    if (absl::Status g = segment_.Grow(); !g.ok()) stat_grow_failures_.fetch_add(1, std::memory_order_relaxed);
  }
  encoder_.Clear();
}

void JournalWriter::GatherWoken() {
  if (durability_ != Durability::kSync || woken_ == 0) return;
  using Steady = std::chrono::steady_clock;
  const auto deadline =
      Steady::now() + std::chrono::nanoseconds(std::min<std::int64_t>(last_sync_nanos_ / 2, kGatherMaxNanos));
  while (Steady::now() < deadline) {
    std::size_t back = 0;
    producers_.ForEach([&back](Producer* p) { back += p->ring.read_available() > 0 ? 1 : 0; });
    if (back >= woken_) return;
    // On 2 cores the producers we just woke need this core to get back.
    std::this_thread::yield();
  }
}

void JournalWriter::Kick() {
  std::lock_guard<std::mutex> lock(wake_mu_);
  kicked_ = true;
  wake_cv_.notify_one();
}

bool JournalWriter::HasWork() const {
  if (control_count_.load(std::memory_order_acquire) > 0) return true;
  return producers_.AnyQueued();
}

void JournalWriter::Idle() {
  for (int i = 0; i < kIdleSpins; ++i) {
    if (HasWork()) return;
    CpuRelax();
  }
  // seq_cst RMW: the journal half of the Dekker pair (see the header).
  sleeping_.exchange(1, std::memory_order_seq_cst);
  if (!HasWork() && !stop_.load(std::memory_order_acquire) &&
      !rotate_requested_.load(std::memory_order_acquire)) {
    std::unique_lock<std::mutex> lock(wake_mu_);
    if (!kicked_) wake_cv_.wait_for(lock, std::chrono::microseconds(kJournalIdleSleepUs));
    kicked_ = false;
  }
  // Relaxed: a stale 1 only costs a producer an unneeded Kick().
  sleeping_.store(0, std::memory_order_relaxed);
}

}  // namespace flashstock::journal
