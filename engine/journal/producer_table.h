// The journal writer's producers: one per reader slot, made on the slot's
// first change, and one shared producer for threads without a slot.
#ifndef FLASHSTOCK_JOURNAL_PRODUCER_TABLE_H_
#define FLASHSTOCK_JOURNAL_PRODUCER_TABLE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "flashstock/limits.h"
#include "journal/producer_ring.h"

namespace flashstock::journal {

// Producers: one per reader slot, plus one shared, mutex-guarded producer for
// threads beyond kReaderThreadsMax.
inline constexpr std::size_t kProducersMax = kReaderThreadsMax;

// The calling thread's producer in the writer it last used (see
// JournalWriter::ThisThreadProducer). Trivial and constant-initialised, so
// reading it is one thread-pointer-relative load: no guard, no TLS wrapper.
struct ProducerCache {
  std::uint64_t writer_id;
  Producer* producer;
};
inline constinit thread_local ProducerCache t_producer_cache{0, nullptr};


// A producer lives as long as the table: a thread that exits leaves it to
// the next thread given the same reader slot.
//
// Memory ordering: a new producer is constructed, then published with a
// release store of its entry (and of used()); every reader loads both with
// acquire, so it sees the producer whole.
class ProducerTable {
 public:
  ProducerTable();
  ~ProducerTable();
  ProducerTable(const ProducerTable&) = delete;
  ProducerTable& operator=(const ProducerTable&) = delete;

  // The calling thread's producer: its reader slot's (made on first use),
  // or the shared one if the thread has no slot.
  Producer* FindOrCreate();
  // The producer with this index (kProducersMax: the shared one); null if
  // none was created.
  Producer* At(std::uint32_t index) {
    if (index >= kProducersMax) return &shared_;
    // Acquire: pairs with FindOrCreate's release store.
    return producers_[index].load(std::memory_order_acquire);
  }
  // The producer of threads without a reader slot, and the mutex they
  // hold around each change.
  Producer* shared() { return &shared_; }
  std::mutex& shared_mu() { return shared_mu_; }
  // Indices [0, used()) may hold a producer.
  std::size_t used() const {
    // Acquire: pairs with the release store that publishes a new producer.
    return used_.load(std::memory_order_acquire);
  }
  // Calls f(Producer*) for every producer made so far and the shared one.
  template <typename F>
  void ForEach(F&& f) {
    const std::size_t used = this->used();
    for (std::size_t i = 0; i < used; ++i) {
      if (Producer* p = producers_[i].load(std::memory_order_acquire)) f(p);
    }
    f(&shared_);
  }
  // Whether any producer's ring holds entries.
  bool AnyQueued() const;

 private:
  std::unique_ptr<std::atomic<Producer*>[]> producers_;
  std::atomic<std::size_t> used_{0};
  std::mutex create_mu_;  // serialises producer creation
  Producer shared_;
  std::mutex shared_mu_;
};

}  // namespace flashstock::journal

#endif  // FLASHSTOCK_JOURNAL_PRODUCER_TABLE_H_
