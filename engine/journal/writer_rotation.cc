// Segment rotation at a batch boundary: when the active segment is full,
// and the hand-off to the checkpointer (tell it when one is due; rotate
// when it asks).
#include <mutex>

#include "journal/journal_writer.h"

namespace flashstock::journal {

void JournalWriter::RotateIfFull(std::uint64_t first_sequence) {
  if (!failed_.load(std::memory_order_relaxed) && segment_.bytes() >= options_.segment_bytes_max &&
      segment_.first_sequence() < first_sequence) {
    // Rotate before this batch; the records already numbered keep their
    // numbers, the new segment starts at the first of them.
    absl::Status s = segment_.Close();
    if (s.ok()) s = segment_.Open(first_sequence);
    if (!s.ok()) Fail(s);
  }
}

void JournalWriter::CheckpointIfDue() {
  if (options_.checkpoint_bytes > 0 && bytes_since_checkpoint_ >= options_.checkpoint_bytes &&
      options_.checkpoint_due) {
    bytes_since_checkpoint_ = 0;
    options_.checkpoint_due();
  }
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

bool JournalWriter::ServeRotation() {
  if (!rotate_requested_.exchange(false, std::memory_order_acquire)) return false;
  absl::StatusOr<std::uint64_t> result = encoder_.next_sequence() - 1;
  if (failed_.load(std::memory_order_relaxed)) {
    result = failure();
  } else if (segment_.first_sequence() < encoder_.next_sequence()) {  // the active segment holds records
    absl::Status s = segment_.Close();
    if (s.ok()) s = segment_.Open(encoder_.next_sequence());
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
