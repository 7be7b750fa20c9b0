// The producer table: finding or making the calling thread's producer.
#include "journal/producer_table.h"

#include "base/reader_slots.h"

namespace flashstock::journal {

ProducerTable::ProducerTable() : producers_(new std::atomic<Producer*>[kProducersMax]) {
  for (std::size_t i = 0; i < kProducersMax; ++i) producers_[i].store(nullptr, std::memory_order_relaxed);
  shared_.shared = true;
  shared_.index = static_cast<std::uint32_t>(kProducersMax);
}

ProducerTable::~ProducerTable() {
  for (std::size_t i = 0; i < kProducersMax; ++i) delete producers_[i].load(std::memory_order_relaxed);
}

Producer* ProducerTable::FindOrCreate() {
  const int index = internal::ReaderSlots::ThisThreadIndex();
  if (index < 0) return &shared_;
  // Acquire: pairs with the release store below (made by this same thread
  // earlier, or by a previous owner of the slot).
  Producer* p = producers_[index].load(std::memory_order_acquire);
  if (p != nullptr) return p;
  std::lock_guard<std::mutex> lock(create_mu_);
  p = new Producer();
  p->index = static_cast<std::uint32_t>(index);
  // Release: publishes the constructed producer to the journal thread.
  producers_[index].store(p, std::memory_order_release);
  std::size_t used = used_.load(std::memory_order_relaxed);  // writers hold create_mu_
  if (used < static_cast<std::size_t>(index) + 1) {
    // Release: pairs with the journal thread's acquire in Collect.
    used_.store(static_cast<std::size_t>(index) + 1, std::memory_order_release);
  }
  return p;
}

bool ProducerTable::AnyQueued() const {
  if (shared_.ring.read_available() > 0) return true;
  const std::size_t used = used_.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < used; ++i) {
    Producer* p = producers_[i].load(std::memory_order_acquire);
    if (p != nullptr && p->ring.read_available() > 0) return true;
  }
  return false;
}

}  // namespace flashstock::journal
