#include "journal/checkpointer.h"

#include "journal/recovery.h"
#include "base/thread_name.h"

namespace flashstock::journal {

Checkpointer::Checkpointer(std::string dir, internal::FileSystem* fs, JournalState state,
                           std::int64_t order_retention_nanos)
    : dir_(std::move(dir)), fs_(fs), order_retention_nanos_(order_retention_nanos), state_(std::move(state)) {}

Checkpointer::~Checkpointer() { Stop(); }

void Checkpointer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Checkpointer::Start(JournalWriter* writer) {
  writer_ = writer;
  thread_ = std::thread([this] {
    internal::NameThisThread("fs-checkpoint");
    Run();
  });
}

void Checkpointer::Due() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    due_ = true;
  }
  cv_.notify_all();
}

void Checkpointer::Run() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return due_ || stop_; });
      if (stop_) return;
      due_ = false;
    }
    (void)Checkpoint();
  }
}

absl::Status Checkpointer::Checkpoint() {
  std::lock_guard<std::mutex> run(run_mu_);
  absl::Status status = [&]() -> absl::Status {
    absl::StatusOr<std::uint64_t> through = writer_->RotateForCheckpoint();
    if (!through.ok()) return through.status();
    if (*through > state_.sequence) {
      if (absl::Status s = CatchUp(dir_, *through, &state_); !s.ok()) return s;
    }
    // A snapshot even when nothing changed is cheap and keeps the rule simple.
    // Orders forgotten long ago fold into the base counters.
    state_.PruneClosed(order_retention_nanos_);
    if (!internal::FileExists(dir_ + "/" + SnapshotFileName(state_.sequence))) {
      if (absl::Status s = WriteSnapshot(fs_, dir_, state_); !s.ok()) return s;
    }
    // The snapshot is durable: drop what it makes redundant.
    absl::StatusOr<std::vector<std::string>> names = internal::ListDir(dir_);
    if (!names.ok()) return names.status();
    for (const std::string& n : *names) {
      std::uint64_t seq = 0;
      if (ParseSnapshotFileName(n, &seq) && seq < state_.sequence) (void)internal::RemoveFile(dir_ + "/" + n);
    }
    absl::StatusOr<std::vector<SegmentFile>> segments = ListSegments(dir_);
    if (!segments.ok()) return segments.status();
    for (std::size_t i = 0; i + 1 < segments->size(); ++i) {
      if ((*segments)[i + 1].first_sequence <= state_.sequence + 1) {
        (void)internal::RemoveFile(dir_ + "/" + (*segments)[i].name);
      }
    }
    return fs_->SyncDir(dir_);
  }();
  std::lock_guard<std::mutex> lock(mu_);
  last_status_ = status;
  if (status.ok()) ++checkpoints_;
  return status;
}

std::uint64_t Checkpointer::checkpoints() const {
  std::lock_guard<std::mutex> lock(mu_);
  return checkpoints_;
}

absl::Status Checkpointer::last_status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_status_;
}

}  // namespace flashstock::journal
