// The slot allocator: raw storage for orders_max slots, each constructed
// when first handed out, and a lock-free free list of the slots forgotten.
#include <new>

#include "orders/order_book.h"
#include "orders/order_slot.h"

namespace flashstock {

void OrderBook::SlotsDeleter::operator()(Slot* slots) const {
  ::operator delete(slots, std::align_val_t{alignof(Slot)});
}

std::uint32_t OrderBook::Allocate() {
  // Acquire: pairs with Free's release CAS (edge 6).
  std::uint64_t head = free_head_.load(std::memory_order_acquire);
  while (static_cast<std::uint32_t>(head) != kNoSlot) {
    const std::uint32_t index = static_cast<std::uint32_t>(head);
    // May read a link that is being rewritten (the slot popped and pushed
    // again meanwhile); then the tag has moved on and the CAS fails.
    const std::uint32_t next = slots_[index].next.load(std::memory_order_relaxed);
    const std::uint64_t desired = (((head >> 32) + 1) << 32) | next;
    if (free_head_.compare_exchange_weak(head, desired, std::memory_order_acquire,
                                         std::memory_order_acquire)) {
      return index;
    }
  }
  // Relaxed: the counter only hands out distinct indices; the new slot is
  // constructed by its owner and published by the shard mutex (edge 1).
  std::uint32_t fresh = fresh_.load(std::memory_order_relaxed);
  while (fresh < capacity_) {
    if (fresh_.compare_exchange_weak(fresh, fresh + 1, std::memory_order_relaxed,
                                     std::memory_order_relaxed)) {
      new (&slots_[fresh]) Slot();
      return fresh;
    }
  }
  return kNoSlot;
}

void OrderBook::FreeChain(std::uint32_t first, std::uint32_t last) {
  std::uint64_t head = free_head_.load(std::memory_order_relaxed);
  while (true) {
    slots_[last].next.store(static_cast<std::uint32_t>(head), std::memory_order_relaxed);
    const std::uint64_t desired = (((head >> 32) + 1) << 32) | first;
    // Release: pairs with Allocate's acquire (edge 6), and publishes the
    // chain's links.
    if (free_head_.compare_exchange_weak(head, desired, std::memory_order_release,
                                         std::memory_order_relaxed)) {
      return;
    }
  }
}

}  // namespace flashstock
