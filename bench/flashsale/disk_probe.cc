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
  constexpr std::size_t kBlockBytes = 4096;  // one page, a typical journal batch
  const std::string path = dir + "/fdatasync-probe";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError("open " + path + ": " + std::strerror(errno));
  std::vector<char> block(kBlockBytes, 'j');
  Histogram histogram;
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  FsyncRate rate;
  absl::Status status;
  do {
    const Clock::time_point t0 = Clock::now();
    if (write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size())) {
      status = absl::InternalError("write " + path + ": " + std::strerror(errno));
      break;
    }
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
