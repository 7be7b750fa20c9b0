// Control records (define, set-floor): one mutex-guarded queue, so their
// journal order is their order in memory.
#include <mutex>
#include <utility>

#include "journal/journal_writer.h"

namespace flashstock::journal {

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

void JournalWriter::CollectControl() {
  // Control records first, in their order.
  if (control_count_.load(std::memory_order_acquire) > 0) {
    std::lock_guard<std::mutex> lock(control_mu_);
    control_batch_.swap(control_pending_);
    control_count_.store(0, std::memory_order_relaxed);
  }
  for (const Control& c : control_batch_) {
    if (c.type == RecordType::kDefine) {
      encoder_.AddDefine(c.sku, c.name, c.value, c.floor);
    } else {
      encoder_.AddStockRecord(c.type, c.sku, c.value);
    }
  }
  control_.popped += control_batch_.size();
  control_.touched = !control_batch_.empty();
  batch_changes_ += control_batch_.size();
  control_batch_.clear();
}

}  // namespace flashstock::journal
