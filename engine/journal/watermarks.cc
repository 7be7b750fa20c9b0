// Watermarks: the journal thread publishes how far each producer's changes
// are sequenced and durable (and frees ring room); producers wait on them.
#include <immintrin.h>

#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "base/reader_slots.h"
#include "journal/journal_writer.h"

namespace flashstock::journal {
namespace {

// Spins before a waiter blocks: about 1-2 us, shorter than any fdatasync, so
// a waiter only spins when the commit is already nearly done.
constexpr int kWaitSpins = 64;

inline void CpuRelax() { _mm_pause(); }

}  // namespace

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
  producers_.ForEach([](Producer* p) {
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
  producers_.ForEach([&targets](Producer* p) {
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

absl::Status JournalWriter::Flush() {
  std::vector<std::pair<Producer*, std::uint64_t>> targets;
  producers_.ForEach([&targets](Producer* p) {
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

void JournalWriter::PublishSequenced() {
  bool any = false;
  auto publish = [&any](Producer* p) {
    // Relaxed: the journal thread is the only writer of `sequenced`.
    if (p->sequenced.load(std::memory_order_relaxed) == p->popped) return;
    // Release: pairs with WaitSequencedOn's acquire load.
    p->sequenced.store(p->popped, std::memory_order_release);
    any = true;
  };
  producers_.ForEach(publish);
  publish(&control_);
  if (!any) return;
  // Release: after the stores above; wakes every sequencing waiter (no
  // system call when nobody waits).
  sequenced_epoch_.fetch_add(1, std::memory_order_release);
  sequenced_epoch_.notify_all();
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
  producers_.ForEach(release);
}

void JournalWriter::PublishDurable() {
  durable_sequence_.store(encoder_.next_sequence() - 1, std::memory_order_release);
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
  producers_.ForEach(publish);
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

}  // namespace flashstock::journal
