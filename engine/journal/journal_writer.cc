#include "journal/journal_writer.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/reader_slots.h"
#include "base/test_point.h"
#include "base/thread_name.h"

namespace flashstock::journal {
namespace {

// Spins before a waiter blocks: about 1-2 us, shorter than any fdatasync, so
// a waiter only spins when the commit is already nearly done.
constexpr int kWaitSpins = 64;
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
  if (absl::Status s = w->OpenSegment(); !s.ok()) return s;
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
      producers_(new std::atomic<Producer*>[kProducersMax]),
      next_sequence_(options.first_sequence) {
  for (std::size_t i = 0; i < kProducersMax; ++i) producers_[i].store(nullptr, std::memory_order_relaxed);
  shared_producer_.shared = true;
  shared_producer_.index = static_cast<std::uint32_t>(kProducersMax);
  durable_sequence_.store(options.first_sequence - 1, std::memory_order_relaxed);
  scratch_.resize(kPopChunk);
  buffer_.reserve(kBatchChangesMax * kStockRecordBytes);
}

JournalWriter::~JournalWriter() {
  // Release: pairs with the journal thread's acquire load; everything pushed
  // before is drained before it exits.
  stop_.store(true, std::memory_order_release);
  Kick();
  if (thread_.joinable()) thread_.join();  // not started when Start failed
  if (file_ != nullptr) (void)file_->Close();
  for (std::size_t i = 0; i < kProducersMax; ++i) delete producers_[i].load(std::memory_order_relaxed);
}

Producer* JournalWriter::RegisterThisThread() {
  Producer* p = FindOrCreateProducer();
  t_producer_cache = {id_, p};
  return p;
}

Producer* JournalWriter::FindOrCreateProducer() {
  const int index = internal::ReaderSlots::ThisThreadIndex();
  if (index < 0) return &shared_producer_;
  // Acquire: pairs with the release store below (made by this same thread
  // earlier, or by a previous owner of the slot).
  Producer* p = producers_[index].load(std::memory_order_acquire);
  if (p != nullptr) return p;
  std::lock_guard<std::mutex> lock(create_mu_);
  p = new Producer();
  p->index = static_cast<std::uint32_t>(index);
  // Release: publishes the constructed producer to the journal thread.
  producers_[index].store(p, std::memory_order_release);
  std::size_t used = producers_used_.load(std::memory_order_relaxed);  // writers hold create_mu_
  if (used < static_cast<std::size_t>(index) + 1) {
    // Release: pairs with the journal thread's acquire in Collect.
    producers_used_.store(static_cast<std::size_t>(index) + 1, std::memory_order_release);
  }
  return p;
}

void JournalWriter::Kick() {
  std::lock_guard<std::mutex> lock(wake_mu_);
  kicked_ = true;
  wake_cv_.notify_one();
}

Outcome JournalWriter::WaitForRoom(Producer* p, std::size_t entries) {
  Kick();
  if (options_.full_queue == FullQueuePolicy::kRefuse) return Outcome::kBackpressure;
  for (int i = 0; i < kWaitSpins; ++i) {
    if (p->ring.write_available() >= entries) return Outcome::kOk;
    if (failed_.load(std::memory_order_acquire)) return Outcome::kReadOnly;
    CpuRelax();
  }
  while (true) {
    // Acquire: pairs with the journal thread's release bump after a commit.
    const std::uint32_t w = p->wake.load(std::memory_order_acquire);
    if (p->ring.write_available() >= entries) return Outcome::kOk;
    if (failed_.load(std::memory_order_acquire)) return Outcome::kReadOnly;
    Kick();
    p->wake.wait(w, std::memory_order_acquire);
  }
}

bool JournalWriter::WaitWatermark(const std::atomic<std::uint64_t>& mark, std::atomic<std::uint32_t>& epoch,
                                  std::uint64_t seq, bool always_kick) {
  for (int i = 0; i < kWaitSpins; ++i) {
    // Acquire: pairs with the journal thread's release store of the mark.
    if (mark.load(std::memory_order_acquire) >= seq) return true;
    if (failed_.load(std::memory_order_acquire)) return false;
    CpuRelax();
  }
  while (true) {
    // Acquire: pairs with the release bump of the epoch that follows every
    // store of the mark (and the failure flag): an epoch loaded before a
    // store it did not see is one the wait wakes for.
    const std::uint32_t e = epoch.load(std::memory_order_acquire);
    if (mark.load(std::memory_order_acquire) >= seq) return true;
    if (failed_.load(std::memory_order_acquire)) return false;
    if (always_kick) {
      Kick();
    } else {
      MaybeKick();
    }
    epoch.wait(e, std::memory_order_acquire);
  }
}

bool JournalWriter::WaitOn(Producer* p, std::uint64_t seq) {
  return WaitWatermark(p->durable, durable_epoch_, seq, /*always_kick=*/false);
}

bool JournalWriter::WaitDurable(Producer* p, std::uint64_t seq) { return WaitOn(p, seq); }

bool JournalWriter::WaitSequencedOn(Producer* p, std::uint64_t seq) {
  // Acquire: pairs with PublishSequenced's release store.
  if (p->sequenced.load(std::memory_order_acquire) >= seq) return true;
  // An async journal thread may be in its idle sleep: causes are rare, so
  // always wake it rather than wait out kJournalIdleSleepUs.
  Kick();
  return WaitWatermark(p->sequenced, sequenced_epoch_, seq, /*always_kick=*/true);
}

bool JournalWriter::WaitSequenced(Producer* p, std::uint64_t seq) { return WaitSequencedOn(p, seq); }

bool JournalWriter::WaitControlSequenced(std::uint64_t seq) { return WaitSequencedOn(&control_, seq); }

bool JournalWriter::WaitForFloorReadersAndSequence() {
  // The caller stored the new floor (seq_cst); this barrier orders that
  // store before the marker loads below, against BeginFloorRead's
  // StoreMarker: a change whose marker we read even either had not started
  // its floor read (it will see the new floor) or had ended it (pushed).
  internal::ReaderSlots::HeavyFence();
  ForEachProducer([](Producer* p) {
    // seq_cst: the rare half of the Dekker pair (base/reader_slots.h).
    const std::uint64_t until = p->floor_read_until.load(std::memory_order_seq_cst);
    if (until == 0) return;
    // A change between its floor read and its push: bounded, non-blocking
    // work (its ring room is reserved before). Spin briefly, then yield so
    // that on 2 cores it gets to run. Acquire on `pushed`: pairs with Push's
    // release, so the entry is in the ring when SequenceAllPushed below
    // counts it; on the marker: pairs with CancelFloorRead's release.
    for (int spins = 0; p->pushed.load(std::memory_order_acquire) < until &&
                        p->floor_read_until.load(std::memory_order_acquire) == until;
         ++spins) {
      if (spins > 64) std::this_thread::yield();
    }
  });
  std::vector<std::pair<Producer*, std::uint64_t>> targets;
  ForEachProducer([&targets](Producer* p) {
    // Acquire: pairs with Push's release, covering the entry itself.
    targets.emplace_back(p, p->pushed.load(std::memory_order_acquire));
  });
  for (auto& [p, seq] : targets) {
    if (!WaitSequencedOn(p, seq)) return false;
  }
  return true;
}

bool JournalWriter::WaitControlDurable(std::uint64_t seq) {
  MaybeKick();
  return WaitOn(&control_, seq);
}

Outcome JournalWriter::AppendControl(Control record, const std::function<void()>& apply, std::uint64_t* seq) {
  std::unique_lock<std::mutex> lock(control_mu_);
  while (true) {
    if (failed_.load(std::memory_order_acquire)) return Outcome::kReadOnly;
    if (control_pending_.size() < kControlQueueDepth) break;
    if (options_.full_queue == FullQueuePolicy::kRefuse) return Outcome::kBackpressure;
    const std::uint32_t w = control_.wake.load(std::memory_order_acquire);
    lock.unlock();
    Kick();
    control_.wake.wait(w, std::memory_order_acquire);
    lock.lock();
  }
  apply();
  control_pending_.push_back(std::move(record));
  control_count_.store(control_pending_.size(), std::memory_order_release);
  *seq = control_pushed_.load(std::memory_order_relaxed) + 1;
  // Release: pairs with MarkThisThread's acquire (a count: the record is
  // published to the journal thread by control_count_).
  control_pushed_.store(*seq, std::memory_order_release);
  if (durability_ == Durability::kSync) MaybeKick();
  return Outcome::kOk;
}

absl::Status JournalWriter::Flush() {
  std::vector<std::pair<Producer*, std::uint64_t>> targets;
  ForEachProducer([&targets](Producer* p) {
    // Acquire: pairs with Push's release, covering the entry itself.
    targets.emplace_back(p, p->pushed.load(std::memory_order_acquire));
  });
  std::uint64_t control_target;
  {
    std::lock_guard<std::mutex> lock(control_mu_);
    control_target = control_pushed_.load(std::memory_order_relaxed);
  }
  Kick();
  for (auto& [p, seq] : targets) {
    if (!WaitOn(p, seq)) return failure();
  }
  if (!WaitOn(&control_, control_target)) return failure();
  return absl::OkStatus();
}

absl::Status JournalWriter::WaitThisThread() {
  Producer* p = ThisThreadProducer();
  Kick();
  if (!WaitOn(p, p->pushed.load(std::memory_order_acquire))) return failure();
  return absl::OkStatus();
}

absl::StatusOr<std::uint64_t> JournalWriter::RotateForCheckpoint() {
  std::unique_lock<std::mutex> lock(rotate_mu_);
  const std::uint64_t generation = rotate_generation_;
  // Release: pairs with the journal thread's acquire exchange.
  rotate_requested_.store(true, std::memory_order_release);
  Kick();
  rotate_cv_.wait(lock, [&] { return rotate_generation_ != generation; });
  return rotate_result_;
}

absl::Status JournalWriter::failure() const {
  std::lock_guard<std::mutex> lock(failure_mu_);
  return failure_;
}

JournalWriter::Stats JournalWriter::stats() const {
  return {stat_batches_.load(std::memory_order_relaxed), stat_records_.load(std::memory_order_relaxed),
          stat_changes_.load(std::memory_order_relaxed), stat_bytes_.load(std::memory_order_relaxed),
          stat_grow_failures_.load(std::memory_order_relaxed)};
}

// ---- journal thread -------------------------------------------------------

absl::Status JournalWriter::OpenSegment() {
  const std::string path = options_.dir + "/" + SegmentFileName(next_sequence_);
  // Sync mode syncs after every small batch, so a cheaper fdatasync is its
  // throughput; async mode syncs big batches rarely, and writing its
  // hundreds of MB/s twice (zeros, then records) would cost more.
  const std::uint64_t preallocate = durability_ == Durability::kSync ? kSegmentPreallocateBytes : 0;
  absl::StatusOr<std::unique_ptr<internal::WritableFile>> file = options_.fs->NewWritableFile(path, preallocate);
  if (!file.ok()) return file.status();
  char header[kSegmentHeaderBytes];
  EncodeSegmentHeader(header, next_sequence_);
  if (absl::Status s = (*file)->Append(header, sizeof(header)); !s.ok()) return s;
  if (absl::Status s = (*file)->Sync(); !s.ok()) return s;
  if (absl::Status s = options_.fs->SyncDir(options_.dir); !s.ok()) return s;
  (void)(*file)->Grow();  // an optimisation only; see Commit
  file_ = std::move(*file);
  segment_first_ = next_sequence_;
  segment_bytes_ = kSegmentHeaderBytes;
  return absl::OkStatus();
}

absl::Status JournalWriter::CloseSegment() {
  absl::Status s = file_->Close();
  file_.reset();
  return s;
}

void JournalWriter::Fail(const absl::Status& status) {
  {
    std::lock_guard<std::mutex> lock(failure_mu_);
    if (failure_.ok()) failure_ = status;
  }
  // Release: pairs with waiters' acquire loads, after their wake.
  failed_.store(true, std::memory_order_release);
  if (file_ != nullptr) {
    (void)file_->Close();
    file_.reset();
  }
  auto bump = [](Producer* p) {
    p->wake.fetch_add(1, std::memory_order_release);
    p->wake.notify_all();
  };
  ForEachProducer(bump);
  bump(&control_);
  // Release: after failed_; durability waiters re-check it.
  durable_epoch_.fetch_add(1, std::memory_order_release);
  durable_epoch_.notify_all();
  sequenced_epoch_.fetch_add(1, std::memory_order_release);
  sequenced_epoch_.notify_all();
  TellListener();
}

void JournalWriter::PublishSequenced() {
  bool any = false;
  auto publish = [&any](Producer* p) {
    // Relaxed: the journal thread is the only writer of `sequenced`.
    if (p->sequenced.load(std::memory_order_relaxed) == p->popped) return;
    // Release: pairs with WaitSequencedOn's acquire load.
    p->sequenced.store(p->popped, std::memory_order_release);
    any = true;
  };
  ForEachProducer(publish);
  publish(&control_);
  if (!any) return;
  // Release: after the stores above; wakes every sequencing waiter (no
  // system call when nobody waits).
  sequenced_epoch_.fetch_add(1, std::memory_order_release);
  sequenced_epoch_.notify_all();
}

bool JournalWriter::HasWork() const {
  if (control_count_.load(std::memory_order_acquire) > 0) return true;
  if (shared_producer_.ring.read_available() > 0) return true;
  const std::size_t used = producers_used_.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < used; ++i) {
    Producer* p = producers_[i].load(std::memory_order_acquire);
    if (p != nullptr && p->ring.read_available() > 0) return true;
  }
  return false;
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

void JournalWriter::Accumulate(const Entry& e) {
  if (e.sku >= acc_of_sku_.size()) acc_of_sku_.resize(std::max<std::size_t>(e.sku + 1, acc_of_sku_.size() * 2), -1);
  std::int32_t& slot = acc_of_sku_[e.sku];
  if (slot < 0) {
    slot = static_cast<std::int32_t>(accs_.size());
    accs_.push_back({e.sku, 0, 0});
  }
  Acc& a = accs_[slot];
  std::uint64_t& sum = e.type == RecordType::kTake ? a.take : a.restock;
  const std::uint64_t q = static_cast<std::uint64_t>(e.value);
  constexpr std::uint64_t kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (sum > kMax - q) {  // the merged quantity would not fit a record: emit what we have
    EncodeStockRecord(Extend(kStockRecordBytes), e.type, next_sequence_++, e.sku, static_cast<std::int64_t>(sum));
    sum = 0;
  }
  sum += q;
}

void JournalWriter::Consume(const Entry& e) {
  if (group_need_ > 0) {
    assert(e.type == kEntryContinuation);
    group_[group_have_++] = e;
    if (group_have_ == group_need_) {
      EncodeOrderGroup(group_);
      group_have_ = group_need_ = 0;
    }
    return;
  }
  if (e.type == RecordType::kTake || e.type == RecordType::kRestock) {
    Accumulate(e);
    return;
  }
  group_need_ = OrderGroupEntries(e);
  assert(group_need_ <= kOrderEntriesMax);
  group_[0] = e;
  group_have_ = 1;
}

void JournalWriter::ConsumeChunk(const Entry* entries, std::size_t n) {
  constexpr std::uint64_t kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::size_t i = 0;
  while (i < n) {
    const Entry& e = entries[i];
    if (group_need_ > 0) {  // finishing a group cut by the previous chunk
      Consume(e);
      ++i;
      continue;
    }
    if (e.type != RecordType::kTake && e.type != RecordType::kRestock) {
      const std::size_t size = OrderGroupEntries(e);
      if (i + size > n) {  // cut by the chunk's end: assemble it in group_
        Consume(e);
        ++i;
        continue;
      }
      EncodeOrderGroup(entries + i);
      i += size;
      continue;
    }
    // A run of one SKU's takes (or restocks), as a hot SKU's ring holds:
    // summed here in a register, handed to Accumulate once. The sum stays
    // an int64 (the run stops before it would not).
    std::uint64_t sum = static_cast<std::uint64_t>(e.value);
    std::size_t j = i + 1;
    while (j < n && entries[j].type == e.type && entries[j].sku == e.sku &&
           static_cast<std::uint64_t>(entries[j].value) <= kMax - sum) {
      sum += static_cast<std::uint64_t>(entries[j].value);
      ++j;
    }
    Accumulate({e.type, e.sku, static_cast<std::int64_t>(sum)});
    i = j;
  }
}

char* JournalWriter::Extend(std::size_t n) {
  const std::size_t at = buffer_.size();
  buffer_.resize(at + n, boost::container::default_init);
  return buffer_.data() + at;
}

void JournalWriter::EncodeOrderGroup(const Entry* group) {
  const Entry& head = group[0];
  const std::uint64_t id = static_cast<std::uint64_t>(head.value);
  if (head.type == RecordType::kOrderReserve || head.type == RecordType::kOrderReserveFailed) {
    OrderLineRecord lines[kOrderLinesMax];
    const std::size_t first_line = head.type == RecordType::kOrderReserve ? 2 : 3;
    for (std::uint32_t i = 0; i < head.sku; ++i) {
      const Entry& l = group[first_line + i];
      lines[i] = {l.sku, static_cast<std::uint32_t>(l.value)};
    }
    if (head.type == RecordType::kOrderReserve) {
      EncodeOrderReserveRecord(Extend(OrderReserveRecordBytes(head.sku)), next_sequence_++, id, group[1].value,
                               lines, head.sku);
    } else {
      EncodeOrderFailedRecord(Extend(OrderFailedRecordBytes(head.sku)), next_sequence_++, id, group[1].value,
                              group[1].sku, group[2].value, lines, head.sku);
    }
  } else {
    EncodeOrderCloseRecord(Extend(kOrderCloseRecordBytes), head.type, next_sequence_++, id, group[1].value,
                           group[2].value);
  }
}

std::size_t JournalWriter::Collect() {
  batch_changes_ = 0;
  // Control records first, in their order.
  if (control_count_.load(std::memory_order_acquire) > 0) {
    std::lock_guard<std::mutex> lock(control_mu_);
    control_batch_.swap(control_pending_);
    control_count_.store(0, std::memory_order_relaxed);
  }
  for (const Control& c : control_batch_) {
    if (c.type == RecordType::kDefine) {
      EncodeDefineRecord(Extend(DefineRecordBytes(c.name.size())), next_sequence_++, c.sku, c.name, c.value,
                         c.floor);
    } else {
      EncodeStockRecord(Extend(kStockRecordBytes), c.type, next_sequence_++, c.sku, c.value);
    }
  }
  control_.popped += control_batch_.size();
  control_.touched = !control_batch_.empty();
  batch_changes_ += control_batch_.size();
  control_batch_.clear();

  const std::size_t used = producers_used_.load(std::memory_order_acquire);
  auto drain = [&](Producer* p) {
    while (batch_changes_ < kBatchChangesMax) {
      const std::size_t want = std::min(scratch_.size(), kBatchChangesMax - batch_changes_);
      const std::size_t n = p->ring.pop(scratch_.data(), want);
      if (n == 0) break;
      ConsumeChunk(scratch_.data(), n);
      p->popped += n;
      p->touched = true;
      batch_changes_ += n;
    }
    // The batch limit may have cut an order group: the rest is in the ring
    // (a group is pushed at once), so finish it here; a batch may pass
    // kBatchChangesMax by at most kOrderEntriesMax - 1.
    while (group_need_ > 0) {
      Entry e;
      const bool popped = p->ring.pop(e);
      assert(popped);
      (void)popped;
      Consume(e);
      ++p->popped;
      ++batch_changes_;
    }
  };
  // Round robin: each batch starts one producer further on, so when the
  // batch limit stops a drain it is not always the same high-index
  // producers that wait for the next batch (file order does not matter:
  // records in one batch never depend on each other; docs/design.md).
  const std::size_t first = used == 0 ? 0 : drain_start_++ % used;
  for (std::size_t k = 0; k < used; ++k) {
    if (Producer* p = producers_[(first + k) % used].load(std::memory_order_acquire)) drain(p);
  }
  drain(&shared_producer_);
  return batch_changes_;
}

void JournalWriter::EncodeBatch() {
  for (const Acc& a : accs_) {
    for (RecordType t : {RecordType::kTake, RecordType::kRestock}) {
      const std::uint64_t q = t == RecordType::kTake ? a.take : a.restock;
      if (q == 0) continue;
      EncodeStockRecord(Extend(kStockRecordBytes), t, next_sequence_++, a.sku, static_cast<std::int64_t>(q));
    }
    acc_of_sku_[a.sku] = -1;
  }
  accs_.clear();
}

void JournalWriter::ReleaseRoomWaiters() {
  auto release = [](Producer* p) {
    if (!p->touched) return;
    // Release: pairs with WaitForRoom's acquire load of wake, which it makes
    // before re-checking room, so it sees the pops above (a bump it missed
    // ends its wait). notify_all makes no system call when nobody waits.
    p->wake.fetch_add(1, std::memory_order_release);
    p->wake.notify_all();
  };
  ForEachProducer(release);
}

void JournalWriter::PublishDurable() {
  durable_sequence_.store(next_sequence_ - 1, std::memory_order_release);
  woken_ = 0;
  auto publish = [this](Producer* p) {
    if (!p->touched) return;
    p->touched = false;
    ++woken_;
    // Release: pairs with the waiters' acquire loads of durable.
    p->durable.store(p->popped, std::memory_order_release);
    // Release: the bump follows the durable store; see the header. Wakes
    // producers waiting for ring room (the notify is a no-op syscall-wise
    // when nobody waits on this word).
    p->wake.fetch_add(1, std::memory_order_release);
    p->wake.notify_all();
  };
  ForEachProducer(publish);
  // The control queue has no ring GatherWoken could see refilled: a define
  // in this batch must not make the next gathering wait for it.
  const std::size_t ring_producers_woken = woken_;
  publish(&control_);
  woken_ = ring_producers_woken;
  // Release: after every durable store above; wakes every durability waiter.
  durable_epoch_.fetch_add(1, std::memory_order_release);
  durable_epoch_.notify_all();
  TellListener();
}

void JournalWriter::TellListener() {
  std::lock_guard<std::mutex> lock(listener_mu_);
  if (listener_ != nullptr) listener_->OnJournalProgress();
}

void JournalWriter::Commit() {
  EncodeBatch();
  if (failed_.load(std::memory_order_relaxed)) {
    // Read-only: queued changes are dropped, never written after a failure.
    buffer_.clear();
    return;
  }
  if (absl::Status s = file_->Append(buffer_.data(), buffer_.size()); !s.ok()) {
    Fail(s);
  } else if (absl::Status s2 = Timed(&last_sync_nanos_, [this] { return file_->Sync(); }); !s2.ok()) {
    Fail(s2);
  } else {
    segment_bytes_ += buffer_.size();
    bytes_since_checkpoint_ += buffer_.size();
    stat_batches_.fetch_add(1, std::memory_order_relaxed);
    stat_bytes_.fetch_add(buffer_.size(), std::memory_order_relaxed);
    stat_changes_.fetch_add(batch_changes_, std::memory_order_relaxed);
    stat_records_.store(next_sequence_ - options_.first_sequence, std::memory_order_relaxed);
    PublishDurable();
    // After the waiters are told: growing the file ahead is an optimisation,
    // and its failure (a full disk) loses nothing that was synced. The next
    // append meets the full disk itself if it is still full.
    if (absl::Status g = file_->Grow(); !g.ok()) stat_grow_failures_.fetch_add(1, std::memory_order_relaxed);
  }
  buffer_.clear();
}

void JournalWriter::GatherWoken() {
  if (durability_ != Durability::kSync || woken_ == 0) return;
  using Steady = std::chrono::steady_clock;
  const auto deadline =
      Steady::now() + std::chrono::nanoseconds(std::min<std::int64_t>(last_sync_nanos_ / 2, kGatherMaxNanos));
  while (Steady::now() < deadline) {
    std::size_t back = 0;
    ForEachProducer([&back](Producer* p) { back += p->ring.read_available() > 0 ? 1 : 0; });
    if (back >= woken_) return;
    // On 2 cores the producers we just woke need this core to get back.
    std::this_thread::yield();
  }
}

void JournalWriter::Run() {
  while (true) {
    GatherWoken();
    // Acquire: pairs with the destructor's release store.
    const bool stopping = stop_.load(std::memory_order_acquire);
    const std::size_t first_sequence = next_sequence_;
    const std::size_t changes = Collect();
    FLASHSTOCK_TEST_POINT(kJournalCollected, 0);
    if (changes > 0) PublishSequenced();
    // Async: nobody waits for durability on the hot path, only for room, and
    // the rings have room now. (Sync waiters would only wake to wait again.)
    if (changes > 0 && durability_ == Durability::kAsync) ReleaseRoomWaiters();
    if (changes > 0 || next_sequence_ != first_sequence || !buffer_.empty()) {
      if (!failed_.load(std::memory_order_relaxed) && segment_bytes_ >= options_.segment_bytes_max &&
          segment_first_ < first_sequence) {
        // Rotate before this batch; the records already numbered keep their
        // numbers, the new segment starts at the first of them.
        const std::uint64_t numbered = next_sequence_;
        next_sequence_ = first_sequence;
        absl::Status s = CloseSegment();
        if (s.ok()) s = OpenSegment();
        next_sequence_ = numbered;
        if (!s.ok()) Fail(s);
      }
      Commit();
      if (options_.checkpoint_bytes > 0 && bytes_since_checkpoint_ >= options_.checkpoint_bytes &&
          options_.checkpoint_due) {
        bytes_since_checkpoint_ = 0;
        options_.checkpoint_due();
      }
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

bool JournalWriter::ServeRotation() {
  if (!rotate_requested_.exchange(false, std::memory_order_acquire)) return false;
  absl::StatusOr<std::uint64_t> result = next_sequence_ - 1;
  if (failed_.load(std::memory_order_relaxed)) {
    result = failure();
  } else if (segment_first_ < next_sequence_) {  // the active segment holds records
    absl::Status s = CloseSegment();
    if (s.ok()) s = OpenSegment();
    if (!s.ok()) {
      Fail(s);
      result = s;
    }
  }
  bytes_since_checkpoint_ = 0;
  std::lock_guard<std::mutex> lock(rotate_mu_);
  rotate_result_ = result;
  ++rotate_generation_;
  rotate_cv_.notify_all();
  return true;
}

}  // namespace flashstock::journal
