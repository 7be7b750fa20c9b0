// The writer's failure state: the first failed write or fdatasync is kept,
// the writer turns read-only, and every waiter is woken to see it.
#include <mutex>

#include "journal/journal_writer.h"

namespace flashstock::journal {

void JournalWriter::Fail(const absl::Status& status) {
  {
    std::lock_guard<std::mutex> lock(failure_mu_);
    if (failure_.ok()) failure_ = status;
  }
  // Release: pairs with waiters' acquire loads, after their wake.
  failed_.store(true, std::memory_order_release);
  segment_.Drop();
  auto bump = [](Producer* p) {
    p->wake.fetch_add(1, std::memory_order_release);
    p->wake.notify_all();
  };
  producers_.ForEach(bump);
  bump(&control_);
  // Release: after failed_; durability waiters re-check it.
  durable_epoch_.fetch_add(1, std::memory_order_release);
  durable_epoch_.notify_all();
  sequenced_epoch_.fetch_add(1, std::memory_order_release);
  sequenced_epoch_.notify_all();
  TellListener();
}

absl::Status JournalWriter::failure() const {
  std::lock_guard<std::mutex> lock(failure_mu_);
  return failure_;
}

}  // namespace flashstock::journal
