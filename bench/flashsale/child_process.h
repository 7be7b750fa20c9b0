// A server the bench starts for a row (flashstock serve, redis-server): a
// child process with its stderr in a log file, its CPU time read from
// /proc/PID/stat, stopped by PID (SIGTERM, then wait). The child gets
// SIGTERM if the bench dies first (PR_SET_PDEATHSIG), so an interrupted or
// crashed bench leaves no server behind (Linux sends it when the thread that
// forked exits: the runner spawns from the main thread).
#ifndef FLASHSTOCK_BENCH_FLASHSALE_CHILD_PROCESS_H_
#define FLASHSTOCK_BENCH_FLASHSALE_CHILD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flashsale {

class ChildProcess {
 public:
  // Runs argv[0] (a path, or a name looked up on PATH) with argv; stdout and
  // stderr go to `log_path` (truncated), stdin is /dev/null.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(const std::vector<std::string>& argv,
                                                             const std::string& log_path);
  // SIGTERM, then waits (SIGKILL after `kStopTimeout`).
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // The log so far (the child's stderr and stdout).
  std::string Log() const;
  // False once the child has exited (reaps it).
  bool Running();
  // utime + stime of the child, in seconds; negative when /proc cannot say.
  double CpuSeconds() const;
  // Waits up to `timeout` for a line of the log starting with `prefix`;
  // returns the rest of that line. Fails early if the child exits.
  absl::StatusOr<std::string> WaitForLogLine(const std::string& prefix,
                                             std::chrono::milliseconds timeout);

  static constexpr std::chrono::milliseconds kStopTimeout{10'000};

 private:
  ChildProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  bool reaped_ = false;
  std::string log_path_;
};

// Whether `program` is runnable: an executable path, or a name found on PATH.
bool Executable(const std::string& program);

// A loopback TCP port that was free a moment ago (bind to port 0, read it,
// close): for servers that cannot pick their own and say which.
absl::StatusOr<int> FreeLoopbackPort();

}  // namespace flashsale

#endif  // FLASHSTOCK_BENCH_FLASHSALE_CHILD_PROCESS_H_
