#include "base/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace flashstock::internal {

absl::Status ErrnoStatus(int err, const std::string& what) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT: return absl::NotFoundError(message);
    case ENOSPC: return absl::ResourceExhaustedError(message);
    case EACCES:
    case EPERM: return absl::PermissionDeniedError(message);
    default: return absl::InternalError(message);
  }
}

namespace {

class PosixFile : public WritableFile {
 public:
  PosixFile(int fd, std::string path, std::uint64_t preallocate_bytes)
      : fd_(fd), path_(std::move(path)), preallocate_bytes_(preallocate_bytes) {}
  ~PosixFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  absl::Status Append(const char* data, std::size_t size) override {
    if (absl::Status s = WriteAt(data, size, written_); !s.ok()) return s;
    written_ += size;
    allocated_ = std::max(allocated_, written_);
    return absl::OkStatus();
  }
  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoStatus(errno, absl::StrCat("fdatasync ", path_));
    return absl::OkStatus();
  }
  // Grow after a sync, never inside an append: an append cut short by a
  // crash or a fault then leaves exactly what it would without zeros ahead,
  // or a cut record followed by zeros, which a reader takes as a torn tail
  // too. The zeros become durable with the next Sync.
  absl::Status Grow() override {
    if (preallocate_bytes_ == 0 || allocated_ - written_ >= preallocate_bytes_ / 2) return absl::OkStatus();
    const std::uint64_t target = written_ + preallocate_bytes_;
    if (absl::Status s = WriteAt(nullptr, target - allocated_, allocated_); !s.ok()) {
      // Some zeros may have been written: cut them off again (best effort;
      // zeros past the records read as a torn tail either way).
      (void)::ftruncate(fd_, static_cast<off_t>(allocated_));
      return s;
    }
    allocated_ = target;
    return absl::OkStatus();
  }
  absl::Status Close() override {
    const int fd = fd_;
    fd_ = -1;
    absl::Status status;
    if (fd >= 0 && allocated_ > written_) {
      // A closed segment ends at its last record, durably: a zero tail is
      // only ever allowed in the newest segment (a crash artifact).
      if (::ftruncate(fd, static_cast<off_t>(written_)) != 0) {
        status = ErrnoStatus(errno, absl::StrCat("ftruncate ", path_));
      } else if (::fdatasync(fd) != 0) {
        status = ErrnoStatus(errno, absl::StrCat("fdatasync ", path_));
      }
    }
    if (fd >= 0 && ::close(fd) != 0 && status.ok()) status = ErrnoStatus(errno, absl::StrCat("close ", path_));
    return status;
  }

 private:
  // pwrite of `size` bytes at `offset`; zeros when data is null.
  absl::Status WriteAt(const char* data, std::uint64_t size, std::uint64_t offset) {
    static const char kZeros[64 * 1024] = {};
    while (size > 0) {
      const std::size_t chunk = data != nullptr ? size : std::min<std::uint64_t>(size, sizeof(kZeros));
      const ssize_t n = ::pwrite(fd_, data != nullptr ? data : kZeros, chunk, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, absl::StrCat("write ", path_));
      }
      if (data != nullptr) data += n;
      size -= static_cast<std::uint64_t>(n);
      offset += static_cast<std::uint64_t>(n);
    }
    return absl::OkStatus();
  }

  int fd_;
  std::string path_;
  const std::uint64_t preallocate_bytes_;
  std::uint64_t written_ = 0;    // bytes appended
  std::uint64_t allocated_ = 0;  // file size (>= written_), zeros past written_
};

}  // namespace

absl::StatusOr<std::unique_ptr<WritableFile>> FileSystem::NewWritableFile(const std::string& path,
                                                                          std::uint64_t preallocate_bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
  return std::unique_ptr<WritableFile>(new PosixFile(fd, path, preallocate_bytes));
}

absl::Status FileSystem::SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open directory ", dir));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(err, absl::StrCat("fsync directory ", dir));
  return absl::OkStatus();
}

FileSystem* FileSystem::Default() {
  static FileSystem* const fs = new FileSystem();
  return fs;
}

class FaultInjectingFileSystem::File : public WritableFile {
 public:
  File(FaultInjectingFileSystem* owner, std::unique_ptr<WritableFile> base)
      : owner_(owner), base_(std::move(base)) {}
  absl::Status Append(const char* data, std::size_t size) override {
    const std::int64_t n = owner_->appends_.fetch_add(1, std::memory_order_relaxed) + 1;
    const Fault f = owner_->fault_;
    if ((f == Fault::kWriteNoSpace || f == Fault::kWriteIo) && n == owner_->nth_) {
      owner_->fired_.store(true, std::memory_order_relaxed);
      (void)base_->Append(data, size / 2);
      return ErrnoStatus(f == Fault::kWriteNoSpace ? ENOSPC : EIO, "write (injected)");
    }
    return base_->Append(data, size);
  }
  absl::Status Sync() override {
    const std::int64_t n = owner_->syncs_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (owner_->fault_ == Fault::kSyncIo && n == owner_->nth_) {
      owner_->fired_.store(true, std::memory_order_relaxed);
      return ErrnoStatus(EIO, "fdatasync (injected)");
    }
    return base_->Sync();
  }
  absl::Status Grow() override {
    const std::int64_t n = owner_->grows_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (owner_->fault_ == Fault::kGrowNoSpace && n == owner_->nth_) {
      owner_->fired_.store(true, std::memory_order_relaxed);
      return ErrnoStatus(ENOSPC, "preallocate (injected)");
    }
    return base_->Grow();
  }
  absl::Status Close() override { return base_->Close(); }

 private:
  FaultInjectingFileSystem* owner_;
  std::unique_ptr<WritableFile> base_;
};

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectingFileSystem::NewWritableFile(
    const std::string& path, std::uint64_t preallocate_bytes) {
  absl::StatusOr<std::unique_ptr<WritableFile>> base = FileSystem::NewWritableFile(path, preallocate_bytes);
  if (!base.ok()) return base.status();
  return std::unique_ptr<WritableFile>(new File(this, std::move(*base)));
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus(err, absl::StrCat("stat ", path));
  }
  std::string bytes;
  bytes.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoStatus(err, absl::StrCat("read ", path));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  ::close(fd);
  return bytes;
}

absl::Status WriteWholeFile(FileSystem* fs, const std::string& path, const std::string& bytes) {
  absl::StatusOr<std::unique_ptr<WritableFile>> file = fs->NewWritableFile(path);
  if (!file.ok()) return file.status();
  if (absl::Status s = (*file)->Append(bytes.data(), bytes.size()); !s.ok()) return s;
  if (absl::Status s = (*file)->Sync(); !s.ok()) return s;
  return (*file)->Close();
}

absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(errno, absl::StrCat("opendir ", dir));
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
  }
  ::closedir(d);
  return names;
}

absl::Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return ErrnoStatus(errno, absl::StrCat("unlink ", path));
  return absl::OkStatus();
}

absl::Status RenameFile(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return ErrnoStatus(errno, absl::StrCat("rename ", from, " to ", to));
  }
  return absl::OkStatus();
}

absl::Status TruncateFile(const std::string& path, std::uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
  int rc = ::ftruncate(fd, static_cast<off_t>(size));
  if (rc == 0) rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(err, absl::StrCat("truncate ", path));
  return absl::OkStatus();
}

absl::Status CreateDirIfMissing(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, absl::StrCat("mkdir ", dir));
  }
  return absl::OkStatus();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

absl::StatusOr<std::unique_ptr<DirLock>> DirLock::Acquire(const std::string& dir) {
  const std::string path = dir + "/LOCK";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is locked: another process has this journal open"));
    }
    return ErrnoStatus(err, absl::StrCat("flock ", path));
  }
  return std::unique_ptr<DirLock>(new DirLock(fd));
}

DirLock::~DirLock() { ::close(fd_); }

}  // namespace flashstock::internal
