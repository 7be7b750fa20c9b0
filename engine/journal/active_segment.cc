// The active segment file: creating it with its header, writing and
// syncing batches, closing it.
#include "journal/active_segment.h"

#include <chrono>
#include <utility>

#include "absl/status/statusor.h"
#include "journal/journal_format.h"

namespace flashstock::journal {

ActiveSegment::ActiveSegment(internal::FileSystem* fs, std::string dir, std::uint64_t preallocate_bytes)
    : fs_(fs), dir_(std::move(dir)), preallocate_bytes_(preallocate_bytes) {}

absl::Status ActiveSegment::Open(std::uint64_t first_sequence) {
  const std::string path = dir_ + "/" + SegmentFileName(first_sequence);
  absl::StatusOr<std::unique_ptr<internal::WritableFile>> file = fs_->NewWritableFile(path, preallocate_bytes_);
  if (!file.ok()) return file.status();
  char header[kSegmentHeaderBytes];
  EncodeSegmentHeader(header, first_sequence);
  if (absl::Status s = (*file)->Append(header, sizeof(header)); !s.ok()) return s;
  if (absl::Status s = (*file)->Sync(); !s.ok()) return s;
  if (absl::Status s = fs_->SyncDir(dir_); !s.ok()) return s;
  (void)(*file)->Grow();  // an optimisation only; see Grow
  file_ = std::move(*file);
  first_sequence_ = first_sequence;
  bytes_ = kSegmentHeaderBytes;
  return absl::OkStatus();
}

absl::Status ActiveSegment::Close() {
  absl::Status s = file_->Close();
  file_.reset();
  return s;
}

void ActiveSegment::Drop() {
  if (file_ != nullptr) {
    (void)file_->Close();
    file_.reset();
  }
}

absl::Status ActiveSegment::Write(const char* data, std::size_t size, std::int64_t* sync_nanos) {
  if (absl::Status s = file_->Append(data, size); !s.ok()) return s;
  const auto t0 = std::chrono::steady_clock::now();
  absl::Status s = file_->Sync();
  *sync_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  if (!s.ok()) return s;
  bytes_ += size;
  return absl::OkStatus();
}

}  // namespace flashstock::journal
