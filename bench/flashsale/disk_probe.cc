#include "disk_probe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "histogram.h"

namespace flashsale {

absl::StatusOr<FsyncRate> MeasureFdatasync(const std::string& dir, double seconds) {
  // As the sync journal writes: small appends (one group commit of a hot
  // SKU is one ~32-byte record; 64 bytes here) into a file already grown
  // with zeros, so an fdatasync commits data, not a new file size.
  constexpr std::size_t kBlockBytes = 64;
  constexpr std::size_t kGrowBytes = std::size_t{8} << 20;
  const std::string path = dir + "/fdatasync-probe";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError("open " + path + ": " + std::strerror(errno));
  std::vector<char> block(kBlockBytes, 'j');
  const std::vector<char> zeros(kGrowBytes, 0);
  std::size_t allocated = 0, offset = 0;
  // Grows the file by kGrowBytes of zeros, durably (not timed: the journal
  // does this once per MiB of records).
  auto grow = [&]() -> bool {
    if (pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(allocated)) != static_cast<ssize_t>(zeros.size()) ||
        fdatasync(fd) != 0) {
      return false;
    }
    allocated += zeros.size();
    return true;
  };
  if (!grow()) {
    close(fd);
    unlink(path.c_str());
    return absl::InternalError("grow " + path + ": " + std::strerror(errno));
  }
  Histogram histogram;
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  FsyncRate rate;
  absl::Status status;
  do {
    if (offset + block.size() > allocated && !grow()) {
      status = absl::InternalError("grow " + path + ": " + std::strerror(errno));
      break;
    }
    const Clock::time_point t0 = Clock::now();
    if (pwrite(fd, block.data(), block.size(), static_cast<off_t>(offset)) != static_cast<ssize_t>(block.size())) {
      status = absl::InternalError("write " + path + ": " + std::strerror(errno));
      break;
    }
    offset += block.size();
    if (fdatasync(fd) != 0) {
      status = absl::InternalError("fdatasync " + path + ": " + std::strerror(errno));
      break;
    }
    histogram.Record(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count()));
    ++rate.syncs;
  } while (Clock::now() < end);
  rate.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  close(fd);
  unlink(path.c_str());
  if (!status.ok()) return status;
  rate.per_sec = rate.syncs / rate.seconds;
  rate.p50_us = histogram.ValueAtQuantile(0.5) / 1e3;
  rate.p99_us = histogram.ValueAtQuantile(0.99) / 1e3;
  rate.p999_us = histogram.ValueAtQuantile(0.999) / 1e3;
  return rate;
}

}  // namespace flashsale
