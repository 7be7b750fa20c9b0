#include "pg_cluster.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace flashsale {
namespace {

// The server's PID for the signal handler; -1 when none is running.
// Lock-free so a signal handler may read it.
std::atomic<pid_t> g_server_pid{-1};
static_assert(std::atomic<pid_t>::is_always_lock_free);

constexpr int kPort = 5432;  // the socket lives in our own directory, so no clash
constexpr const char* kUser = "flashsale";

struct RunAs {
  bool drop = false;  // true when started as root
  uid_t uid = 0;
  gid_t gid = 0;
};

RunAs PickUser() {
  RunAs r;
  if (geteuid() != 0) return r;
  for (const char* name : {"postgres", "nobody"}) {
    if (const passwd* pw = getpwnam(name); pw != nullptr) {
      r.drop = true;
      r.uid = pw->pw_uid;
      r.gid = pw->pw_gid;
      return r;
    }
  }
  r.drop = true;
  r.uid = 65534;
  r.gid = 65534;
  return r;
}

// fork + exec `argv` as `as`, output appended to `log`. Everything the child
// needs is prepared before fork: between fork and exec it only makes
// async-signal-safe calls.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& args, const RunAs& as,
                            const std::string& cwd, const std::string& log, bool die_with_parent) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    if (as.drop) {
      if (setgroups(0, nullptr) != 0 || setgid(as.gid) != 0 || setuid(as.uid) != 0) _exit(126);
    }
    // After the credential change, which would clear it.
    if (die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGINT);
      if (getppid() != parent) _exit(1);
    }
    if (chdir(cwd.c_str()) != 0) _exit(126);
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    const int in = open("/dev/null", O_RDONLY);
    if (out < 0 || in < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

}  // namespace

absl::StatusOr<std::string> PgCluster::FindBinDir(const std::string& bin_dir) {
  std::vector<std::string> candidates;
  if (!bin_dir.empty()) {
    candidates.push_back(bin_dir);
  } else {
    for (int v : {17, 16, 15}) candidates.push_back("/usr/lib/postgresql/" + std::to_string(v) + "/bin");
  }
  for (const std::string& dir : candidates) {
    if (access((dir + "/initdb").c_str(), X_OK) == 0 && access((dir + "/postgres").c_str(), X_OK) == 0) {
      return dir;
    }
  }
  return absl::NotFoundError("no initdb/postgres in " + candidates.front() +
                             (candidates.size() > 1 ? " (or 16, 17)" : "") +
                             " (Debian package postgresql)");
}

absl::StatusOr<std::unique_ptr<PgCluster>> PgCluster::Start(const PgClusterOptions& options) {
  absl::StatusOr<std::string> bin = FindBinDir(options.bin_dir);
  if (!bin.ok()) return bin.status();
  std::unique_ptr<PgCluster> cluster(new PgCluster());
  std::string templ = options.parent_dir + "/flashsale-pg-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError("mkdtemp " + templ + ": " + std::strerror(errno));
  }
  cluster->dir_ = templ;  // from here on the destructor removes it
  const RunAs as = PickUser();
  if (as.drop && chown(templ.c_str(), as.uid, as.gid) != 0) {
    return absl::InternalError("chown " + templ + ": " + std::strerror(errno));
  }
  // The server's user must reach its directory: the parent needs x for it.
  const std::string data = templ + "/data";
  const std::string log = templ + "/server.log";

  absl::StatusOr<pid_t> initdb =
      Spawn({*bin + "/initdb", "-D", data, "-U", kUser, "--auth=trust", "--no-sync", "-E", "UTF8",
             "--locale=C"},
            as, templ, log, /*die_with_parent=*/true);
  if (!initdb.ok()) return initdb.status();
  int status = 0;
  while (waitpid(*initdb, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::UnavailableError("initdb failed (exit " +
                                  std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                                  "): " + Tail(log));
  }

  // Shipped settings except where the server listens: no TCP, our socket dir.
  absl::StatusOr<pid_t> server =
      Spawn({*bin + "/postgres", "-D", data, "-c", "listen_addresses=", "-c",
             "unix_socket_directories=" + templ, "-c", "port=" + std::to_string(kPort)},
            as, templ, log, /*die_with_parent=*/true);
  if (!server.ok()) return server.status();
  cluster->pid_ = *server;
  g_server_pid.store(*server);
  cluster->conninfo_ = "host=" + templ + " port=" + std::to_string(kPort) + " user=" + kUser +
                       " dbname=postgres";

  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStartWaitMs);
  while (PQping(cluster->conninfo_.c_str()) != PQPING_OK) {
    if (waitpid(cluster->pid_, &status, WNOHANG) == cluster->pid_) {
      cluster->pid_ = -1;
      g_server_pid.store(-1);
      return absl::UnavailableError("postgres exited at start: " + Tail(log));
    }
    if (std::chrono::steady_clock::now() > give_up) {
      return absl::DeadlineExceededError("postgres not ready after " +
                                         std::to_string(kStartWaitMs / 1000) + " s: " + Tail(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cluster;
}

void PgCluster::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGINT);  // fast shutdown: roll back clients, checkpoint, exit
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStopWaitMs);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > give_up) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    g_server_pid.store(-1);
  }
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    dir_.clear();
  }
}

PgCluster::~PgCluster() { Stop(); }

void PgCluster::KillFromSignalHandler() {
  const pid_t pid = g_server_pid.load();
  if (pid > 0) kill(pid, SIGINT);
}

}  // namespace flashsale
