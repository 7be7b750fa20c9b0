// Per-thread read indicators, so readers of the catalog's name index write
// only their own cache line (a left-right scheme; no shared reader count).
//
// The registry doubles as the process's thread numbering: a thread's slot
// index (ThisThreadIndex) is unique among live threads and is reused after
// the thread exits, so the journal keys its per-producer rings by it rather
// than keeping a second thread_local registry.
//
// A reader brackets its read with Enter()/Leave() on its own slot; a writer
// that has just switched readers to the other copy calls WaitForReaders() and
// may then mutate the copy nobody can still be reading.
//
// Memory ordering: both sides are a store followed by a load of another
// location (Dekker): the reader stores its slot odd, then loads the active
// index; the writer stores the active index, then loads the slots. Only a
// full barrier on each side forbids the outcome where the reader reads the
// old copy while the writer sees its slot even. We put the whole cost on the
// rare writer: where Linux offers membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)
// (checked once per process), the writer calls it between its store and its
// loads, which runs a full barrier on every CPU running one of our threads,
// and the reader's store is a plain relaxed store kept in program order by a
// compiler-only fence (the asymmetric fence of userspace RCU and folly's
// asymmetricHeavyBarrier). Without membarrier, both sides use seq_cst, whose
// single total order gives the same guarantee at the price of a locked
// instruction (xchg) per lookup. Leave is a release store, paired with the
// writer's acquire load in WaitForReaders, so the reader's map reads happen
// before the writer's later mutation of that copy.
#ifndef FLASHSTOCK_INTERNAL_READER_SLOTS_H_
#define FLASHSTOCK_INTERNAL_READER_SLOTS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "flashstock/limits.h"

namespace flashstock::internal {

class ReaderSlots {
 public:
  struct alignas(kCacheLineSize) Slot {
    // Odd while its thread is inside a read section.
    std::atomic<std::uint64_t> sequence{0};
    std::atomic<bool> claimed{false};
  };
  static_assert(sizeof(Slot) == kCacheLineSize, "one slot per line");

  // The process-wide registry (all catalogs share it; writers are rare).
  static ReaderSlots& Instance();

  // The calling thread's slot, claimed on first use and released when the
  // thread exits. nullptr when all kReaderThreadsMax slots are taken; the
  // caller then reads under the writers' mutex instead.
  static Slot* ThisThreadSlot();
  // The calling thread's slot index in [0, kReaderThreadsMax), or -1 when no
  // slot was free. Stable for the thread's life.
  static int ThisThreadIndex() {
    Slot* slot = ThisThreadSlot();
    return slot == nullptr ? -1 : static_cast<int>(slot - Instance().slots_);
  }

  static void Enter(Slot* slot) {
    const std::uint64_t s = slot->sequence.load(std::memory_order_relaxed);  // own slot
    if (asymmetric_) {
      // Relaxed + compiler fence: the writer's membarrier supplies the CPU
      // barrier (file comment).
      slot->sequence.store(s + 1, std::memory_order_relaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      // seq_cst: the reader's half of the Dekker pair (file comment).
      slot->sequence.store(s + 1, std::memory_order_seq_cst);
    }
  }
  static void Leave(Slot* slot) {
    const std::uint64_t s = slot->sequence.load(std::memory_order_relaxed);  // own slot
    // Release: pairs with the acquire load in WaitForReaders.
    slot->sequence.store(s + 1, std::memory_order_release);
  }

  // An asymmetric Dekker pair for other protocols (the journal's floor-read
  // markers): the frequent side stores with StoreMarker, then loads; the
  // rare side stores (seq_cst), calls HeavyFence, then loads (seq_cst).
  // With membarrier the marker store is relaxed plus a compiler-only fence
  // and HeavyFence runs a full barrier on every CPU running one of our
  // threads; without it (kernels before 4.14) the marker store is seq_cst,
  // an xchg on x86-64 (the only target: the engine uses _mm_pause), which is
  // a full barrier for the relaxed floor load after it, and HeavyFence adds
  // nothing to the rare side's seq_cst store and loads. Not
  // atomic_thread_fence: ThreadSanitizer does not support it.
  // REQUIRES: Instance() was called before (it registers membarrier; the
  // journal's producers are numbered through it, so they all have).
  template <typename T>
  static void StoreMarker(std::atomic<T>& marker, T value) {
    if (asymmetric_) {
      marker.store(value, std::memory_order_relaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      marker.store(value, std::memory_order_seq_cst);
    }
  }
  static void HeavyFence();

  // Returns once every thread that was inside a read section when it was
  // called has left it. REQUIRES: the caller has already published (seq_cst)
  // the switch that new readers will see.
  void WaitForReaders();

 private:
  friend struct SlotLease;
  Slot* Claim();
  void Release(Slot* slot);

  ReaderSlots();

  // True when membarrier(PRIVATE_EXPEDITED) is registered for this process.
  // Written once, in the constructor of the one instance; every reader calls
  // Instance() (through ThisThreadSlot) before its first Enter, so the
  // function-local static's initialisation happens before that read.
  static bool asymmetric_;

  Slot slots_[kReaderThreadsMax];
  // Slots [0, used_) have ever been claimed; writers scan only those.
  std::atomic<std::size_t> used_{0};
};

}  // namespace flashstock::internal

#endif  // FLASHSTOCK_INTERNAL_READER_SLOTS_H_
