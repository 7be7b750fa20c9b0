// A throwaway PostgreSQL server for one bench run: initdb into a fresh
// directory, start `postgres` listening on a unix socket only (no TCP), hand
// out a libpq conninfo, and stop the server by its PID.
//
// When the bench runs as root the server runs as an unprivileged user (the
// Debian package's `postgres`, else `nobody`), which owns the cluster
// directory. The server is also told (PR_SET_PDEATHSIG) to shut down if the
// bench process dies without stopping it.
//
// Lifetime: Stop() (or the destructor) shuts the server down fast (SIGINT),
// escalating to SIGKILL after kStopWaitMs, then deletes the directory.
// KillFromSignalHandler() is the async-signal-safe part of that, for a
// handler that is about to _exit.
#ifndef FLASHSTOCK_BENCH_FLASHSALE_PG_CLUSTER_H_
#define FLASHSTOCK_BENCH_FLASHSALE_PG_CLUSTER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace flashsale {

struct PgClusterOptions {
  // Directory holding initdb and postgres; empty: the newest of
  // /usr/lib/postgresql/{17,16,15}/bin that has initdb.
  std::string bin_dir;
  // Parent of the cluster's directory. Its path + socket name must fit a
  // unix socket path (~100 bytes).
  std::string parent_dir = "/tmp";
};

class PgCluster {
 public:
  // Waits at most this long for the server to accept connections.
  static constexpr int kStartWaitMs = 30'000;
  // Waits this long for a fast shutdown before SIGKILL.
  static constexpr int kStopWaitMs = 15'000;

  // The bin dir that would be used, or NotFound naming where it looked.
  static absl::StatusOr<std::string> FindBinDir(const std::string& bin_dir);

  static absl::StatusOr<std::unique_ptr<PgCluster>> Start(const PgClusterOptions& options);
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  void Stop();
  // libpq connection string for the cluster's superuser and `postgres` db.
  const std::string& conninfo() const { return conninfo_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }

  // Async-signal-safe: asks every running cluster's server to shut down fast.
  static void KillFromSignalHandler();

 private:
  PgCluster() = default;

  std::string dir_;
  std::string conninfo_;
  pid_t pid_ = -1;
};

}  // namespace flashsale

#endif  // FLASHSTOCK_BENCH_FLASHSALE_PG_CLUSTER_H_
