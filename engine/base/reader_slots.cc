#include "base/reader_slots.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

namespace flashstock::internal {

bool ReaderSlots::asymmetric_ = false;

namespace {

long Membarrier(int command) { return ::syscall(__NR_membarrier, command, 0, 0); }

}  // namespace

ReaderSlots::ReaderSlots() {
  const long supported = Membarrier(MEMBARRIER_CMD_QUERY);
  asymmetric_ = supported > 0 && (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
                Membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

ReaderSlots& ReaderSlots::Instance() {
  static ReaderSlots* const instance = new ReaderSlots();  // never destroyed: threads may outlive statics
  return *instance;
}

// Holds a thread's slot for its lifetime.
struct SlotLease {
  ReaderSlots::Slot* slot = nullptr;
  bool tried = false;
  ~SlotLease() {
    if (slot != nullptr) ReaderSlots::Instance().Release(slot);
  }
};

ReaderSlots::Slot* ReaderSlots::ThisThreadSlot() {
  thread_local SlotLease lease;
  if (!lease.tried) {
    lease.tried = true;
    lease.slot = Instance().Claim();
  }
  return lease.slot;
}

ReaderSlots::Slot* ReaderSlots::Claim() {
  for (std::size_t i = 0; i < kReaderThreadsMax; ++i) {
    bool expected = false;
    // Acquire: pairs with Release's release store, so the previous owner's
    // last Leave is visible before we reuse the slot's sequence.
    if (slots_[i].claimed.compare_exchange_strong(expected, true, std::memory_order_acquire,
                                                  std::memory_order_relaxed)) {
      std::size_t used = used_.load(std::memory_order_relaxed);
      // seq_cst: this update precedes our first Enter, so a writer whose
      // scan misses the slot also precedes that Enter (in the seq_cst total
      // order, or, with membarrier, because our claim came after the
      // writer's barrier), and our first read sees the new active index.
      while (used < i + 1 &&
             !used_.compare_exchange_weak(used, i + 1, std::memory_order_seq_cst,
                                          std::memory_order_relaxed)) {
      }
      return &slots_[i];
    }
  }
  return nullptr;
}

void ReaderSlots::Release(Slot* slot) {
  // Release: pairs with Claim's acquire.
  slot->claimed.store(false, std::memory_order_release);
}

void ReaderSlots::HeavyFence() {
  (void)Instance();
  // Without membarrier the caller's seq_cst store and seq_cst loads order
  // themselves against StoreMarker's seq_cst store.
  if (asymmetric_) (void)Membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
}

void ReaderSlots::WaitForReaders() {
  // The writer's barrier between its store of the active index (done by the
  // caller, seq_cst) and the slot loads below; see the header. A registered
  // PRIVATE_EXPEDITED membarrier does not fail.
  if (asymmetric_) (void)Membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
  // seq_cst: the Dekker half of the protocol; see the header.
  const std::size_t used = used_.load(std::memory_order_seq_cst);
  for (std::size_t i = 0; i < used; ++i) {
    const std::uint64_t seen = slots_[i].sequence.load(std::memory_order_seq_cst);
    if ((seen & 1) == 0) continue;
    // A reader is inside a bounded lookup; spin briefly, then yield so that on
    // a 2-core machine we do not starve the very thread we wait for.
    int spins = 0;
    // Acquire: pairs with Leave's release store.
    while (slots_[i].sequence.load(std::memory_order_acquire) == seen) {
      if (++spins > 64) std::this_thread::yield();
    }
  }
}

}  // namespace flashstock::internal
