// The small file interface the journal writes through, so tests can inject
// ENOSPC / EIO on write and a failing fdatasync (FaultInjectingFileSystem).
// Reading (recovery, tools) goes straight to POSIX: faults there are
// exercised by corrupting the bytes instead.
#ifndef FLASHSTOCK_INTERNAL_FILE_H_
#define FLASHSTOCK_INTERNAL_FILE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flashstock::internal {

// An append-only file. Not thread-safe: one owner at a time.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Writes all `size` bytes or returns an error (the file may then hold any
  // prefix of them).
  virtual absl::Status Append(const char* data, std::size_t size) = 0;
  // fdatasync. An error is final: the caller must not retry and trust it.
  virtual absl::Status Sync() = 0;
  // After a successful Sync: grows the file ahead of the appends with zeros
  // when less than half the preallocation is left (see NewWritableFile).
  // Not part of durability: what Sync made durable stays durable, and on an
  // error (ENOSPC) the file is cut back to what it held, so the caller may
  // go on appending (each later append reports its own error).
  virtual absl::Status Grow() { return absl::OkStatus(); }
  virtual absl::Status Close() = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Creates (or truncates) `path` for appending. With preallocate_bytes > 0
  // each Grow (after a Sync) grows the file ahead of the appends with zero bytes (up to
  // that many past the last append; made durable by the next Sync), so that later
  // appends overwrite blocks the file already has and their fdatasync need
  // not also commit a new file size (measured here: 9.7 k fdatasync/s
  // instead of 6.8 k). Close() cuts the unused zeros off again and syncs.
  // A crash leaves zeros after the last append: a reader must take a
  // zero-filled tail as the end of the data (journal-format.md, "torn tail").
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                        std::uint64_t preallocate_bytes = 0);
  // fsync of a directory, making creates, renames and removes in it durable.
  virtual absl::Status SyncDir(const std::string& dir);

  // The real file system. Never destroyed.
  static FileSystem* Default();
};

// The real file system with a fault armed at the Nth call of one kind.
// Thread-safe (counters are atomic).
class FaultInjectingFileSystem : public FileSystem {
 public:
  enum class Fault { kNone, kWriteNoSpace, kWriteIo, kSyncIo, kGrowNoSpace };
  // The `nth` (1-based) Append (for write faults), Sync (for kSyncIo) or Grow
  // (for kGrowNoSpace) of
  // any file made by this object fails; a failing write first writes half of
  // its bytes, as a full disk does. Later calls succeed again (the journal
  // must not be relying on that).
  void Arm(Fault fault, std::int64_t nth) {
    fault_ = fault;
    nth_ = nth;
  }
  std::int64_t appends() const { return appends_.load(std::memory_order_relaxed); }
  std::int64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }
  bool fired() const { return fired_.load(std::memory_order_relaxed); }

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                std::uint64_t preallocate_bytes = 0) override;

 private:
  class File;
  Fault fault_ = Fault::kNone;
  std::int64_t nth_ = 0;
  // Relaxed: plain counters; the test reads them after joining the engine.
  std::atomic<std::int64_t> appends_{0};
  std::atomic<std::int64_t> syncs_{0};
  std::atomic<std::int64_t> grows_{0};
  std::atomic<bool> fired_{false};
};

// POSIX helpers with errors naming the path.
absl::Status ErrnoStatus(int err, const std::string& what);
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);
absl::Status WriteWholeFile(FileSystem* fs, const std::string& path, const std::string& bytes);
absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir);
absl::Status RemoveFile(const std::string& path);
absl::Status RenameFile(const std::string& from, const std::string& to);
absl::Status TruncateFile(const std::string& path, std::uint64_t size);
absl::Status CreateDirIfMissing(const std::string& dir);
bool FileExists(const std::string& path);

// An flock(2)ed LOCK file: one process per journal directory.
class DirLock {
 public:
  static absl::StatusOr<std::unique_ptr<DirLock>> Acquire(const std::string& dir);
  ~DirLock();

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace flashstock::internal

#endif  // FLASHSTOCK_INTERNAL_FILE_H_
