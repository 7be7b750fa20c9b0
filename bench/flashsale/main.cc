// flashsale-bench: one flash-sale workload against many back ends, side by
// side, with correctness checked on every row. See --help.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "disk_probe.h"
#include "pg_cluster.h"
#include "registry.h"
#include "report.h"
#include "runner.h"
#include "workload.h"

namespace flashsale {
namespace {

constexpr const char* kUsage = R"(usage: flashsale-bench [flags]
  --workloads LIST   hot,skewed,uniform (default: all three)
  --modes LIST       sellout,steady (default: both)
  --clients LIST     client counts (default: 1,2,4,16); a client is a thread,
                     and for a database a connection in its own thread
  --backends LIST    all (default), or names from --list, a system (sqlite),
                     or a family (postgres, atomic, network); the network back
                     ends (flashstock-serve/*, redis-lua/*) run only when named
  --pipeline LIST    takes in flight per client for the network back ends
                     (default 1); each depth is its own row, e.g. 1,16
  --duration S       seconds per row (default 1)
  --ops N            takes per row in all clients (default 0: no limit); with
                     --duration, whichever comes first
  --stock K          sell-out units on the hot SKU (default 1000)
  --stock-per-sku N  sell-out units per SKU for skewed/uniform (default 1)
  --zipf THETA       skew of the skewed workload (default 0.99)
  --json FILE        one JSON object per row
  --plot FILE.svg    ops/s by system and clients, log axis
  --dir DIR          scratch space (SQLite files, the PostgreSQL cluster,
                     the fdatasync probe) (default: $TMPDIR or /var/tmp)
  --pg-bin DIR       PostgreSQL binaries (default /usr/lib/postgresql/1x/bin)
  --flashstock-bin F the flashstock binary for flashstock-serve (default: the
                     one this build made)
  --redis-bin F      redis-server for redis-lua (default: redis-server on PATH)
  --fsync-seconds S  fdatasync reference probe length (default 1; 0 skips it)
  --list             print the back ends and exit
Exit status: 0 all rows correct, 1 a row FAILED, 2 usage, 130 interrupted.
)";

// Set by SIGINT/SIGTERM; the runner stops the current row, we clean up.
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void OnSignal(int) {
  if (g_interrupted.exchange(true)) {
    // Second signal: no more patience. Only async-signal-safe calls here.
    PgCluster::KillFromSignalHandler();
    _exit(130);
  }
  const char msg[] = "\nflashsale-bench: interrupted, stopping after this row (again to quit now)\n";
  (void)!write(2, msg, sizeof msg - 1);
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t comma = s.find(',', start);
    const std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Most clients in a row, and most takes in flight per client.
constexpr int kCountMax = 1024;

struct Flags {
  std::vector<Distribution> distributions = {Distribution::kHot, Distribution::kSkewed,
                                             Distribution::kUniform};
  std::vector<SaleMode> modes = {SaleMode::kSellOut, SaleMode::kSteady};
  std::vector<int> clients = {1, 2, 4, 16};
  std::vector<std::string> backends = {"all"};
  std::vector<int> pipelines = {1};
  RowLimits limits;
  WorkloadFlags workload;
  std::string json, plot, dir, pg_bin;
  std::string flashstock_bin = FLASHSALE_FLASHSTOCK_BIN;
  std::string redis_bin = "redis-server";
  double fsync_seconds = 1;
  bool list = false;
};

// Returns false (after printing why) on a bad command line.
bool ParseFlags(int argc, char** argv, Flags* f) {
  auto bad = [](const std::string& why) {
    std::fprintf(stderr, "flashsale-bench: %s\n%s", why.c_str(), kUsage);
    return false;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (flag == "--list") {
      f->list = true;
      continue;
    }
    if (i + 1 >= argc) return bad(flag + " needs a value");
    const std::string v = argv[++i];
    char* end = nullptr;
    auto number = [&](double* out) {
      errno = 0;
      *out = std::strtod(v.c_str(), &end);
      return errno == 0 && end != v.c_str() && *end == '\0' && *out >= 0;
    };
    double d = 0;
    if (flag == "--workloads") {
      f->distributions.clear();
      for (const std::string& w : Split(v)) {
        const std::optional<Distribution> dist = ParseDistribution(w);
        if (!dist) return bad("unknown workload '" + w + "'");
        f->distributions.push_back(*dist);
      }
    } else if (flag == "--modes") {
      f->modes.clear();
      for (const std::string& m : Split(v)) {
        const std::optional<SaleMode> mode = ParseSaleMode(m);
        if (!mode) return bad("unknown mode '" + m + "'");
        f->modes.push_back(*mode);
      }
    } else if (flag == "--clients" || flag == "--pipeline") {
      std::vector<int>& counts = flag == "--clients" ? f->clients : f->pipelines;
      counts.clear();
      for (const std::string& c : Split(v)) {
        const int n = std::atoi(c.c_str());
        if (n < 1 || n > kCountMax) {
          return bad(flag + " takes counts 1.." + std::to_string(kCountMax) + ", got '" + c + "'");
        }
        counts.push_back(n);
      }
    } else if (flag == "--flashstock-bin") {
      f->flashstock_bin = v;
    } else if (flag == "--redis-bin") {
      f->redis_bin = v;
    } else if (flag == "--backends") {
      f->backends = Split(v);
    } else if (flag == "--duration") {
      if (!number(&d)) return bad("--duration takes seconds, got '" + v + "'");
      f->limits.duration_s = d;
    } else if (flag == "--ops") {
      if (!number(&d)) return bad("--ops takes a count, got '" + v + "'");
      f->limits.ops = static_cast<std::uint64_t>(d);
    } else if (flag == "--stock") {
      if (!number(&d) || d < 1) return bad("--stock takes a count >= 1, got '" + v + "'");
      f->workload.hot_stock = static_cast<std::int64_t>(d);
    } else if (flag == "--stock-per-sku") {
      if (!number(&d) || d < 1) return bad("--stock-per-sku takes a count >= 1, got '" + v + "'");
      f->workload.many_stock_per_sku = static_cast<std::int64_t>(d);
    } else if (flag == "--zipf") {
      if (!number(&d)) return bad("--zipf takes a number >= 0, got '" + v + "'");
      f->workload.zipf_theta = d;
    } else if (flag == "--json") {
      f->json = v;
    } else if (flag == "--plot") {
      f->plot = v;
    } else if (flag == "--dir") {
      f->dir = v;
    } else if (flag == "--pg-bin") {
      f->pg_bin = v;
    } else if (flag == "--fsync-seconds") {
      if (!number(&d)) return bad("--fsync-seconds takes seconds, got '" + v + "'");
      f->fsync_seconds = d;
    } else {
      return bad("unknown flag " + flag);
    }
  }
  if (f->limits.duration_s <= 0 && f->limits.ops == 0) return bad("give --duration or --ops");
  if (f->distributions.empty() || f->modes.empty() || f->clients.empty() || f->backends.empty() ||
      f->pipelines.empty()) {
    return bad("empty list");
  }
  return true;
}

// The scratch directory, removed at exit (also after an interrupt).
class WorkDir {
 public:
  explicit WorkDir(std::string path) : path_(std::move(path)) {}
  ~WorkDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

int Main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;

  std::vector<const BackendEntry*> picked;
  for (const BackendEntry& e : Registry()) {
    bool any = false;
    for (const std::string& token : flags.backends) any = any || Picks(token, e);
    if (any) picked.push_back(&e);
  }
  if (flags.list) {
    for (const BackendEntry& e : Registry()) {
      std::printf("%-34s %s\n", e.name.c_str(), e.default_on ? "" : "(only when named)");
    }
    return 0;
  }
  for (const std::string& token : flags.backends) {
    bool known = false;
    for (const BackendEntry& e : Registry()) known = known || Picks(token, e);
    if (!known) {
      std::fprintf(stderr, "flashsale-bench: no back end '%s' (see --list)\n", token.c_str());
      return 2;
    }
  }

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A server that dies mid-row must fail the row (hiredis sees EPIPE), not
  // kill the bench: hiredis writes with write(2), which raises SIGPIPE.
  signal(SIGPIPE, SIG_IGN);

  if (flags.dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    flags.dir = tmp != nullptr && *tmp != '\0' ? tmp : "/var/tmp";
  }
  std::string templ = flags.dir + "/flashsale-bench-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    std::fprintf(stderr, "flashsale-bench: mkdtemp %s: %s\n", templ.c_str(), std::strerror(errno));
    return 1;
  }
  WorkDir work(templ);
  // The PostgreSQL server runs as another user when we are root: it must be
  // able to pass through to its own directory inside ours.
  chmod(work.path().c_str(), 0711);

  // PostgreSQL first: if it cannot start, say so once and go on without it.
  std::unique_ptr<PgCluster> pg;
  bool wants_pg = false;
  for (const BackendEntry* e : picked) wants_pg = wants_pg || e->needs_postgres;
  if (wants_pg) {
    std::fprintf(stderr, "starting a throwaway PostgreSQL cluster...\n");
    absl::StatusOr<std::unique_ptr<PgCluster>> started =
        PgCluster::Start({.bin_dir = flags.pg_bin, .parent_dir = work.path()});
    if (started.ok()) {
      pg = *std::move(started);
    } else {
      std::fprintf(stderr, "PostgreSQL cannot start (%s): going on with the embedded back ends\n",
                   std::string(started.status().message()).c_str());
    }
  }
  if (g_interrupted.load()) return 130;

  BackendContext context{.work_dir = work.path(),
                         .pg = pg.get(),
                         .flashstock_bin = flags.flashstock_bin,
                         .redis_bin = flags.redis_bin};
  std::vector<std::unique_ptr<Backend>> backends;
  for (const BackendEntry* e : picked) {
    if (e->needs_postgres && pg == nullptr) continue;
    absl::StatusOr<std::unique_ptr<Backend>> b = e->make(context);
    if (!b.ok()) {
      std::fprintf(stderr, "skipping %s: %s\n", e->name.c_str(), std::string(b.status().message()).c_str());
      continue;
    }
    backends.push_back(*std::move(b));
  }

  std::optional<FsyncRate> fsync;
  if (flags.fsync_seconds > 0) {
    absl::StatusOr<FsyncRate> rate = MeasureFdatasync(work.path(), flags.fsync_seconds);
    if (rate.ok()) {
      fsync = *rate;
    } else {
      std::fprintf(stderr, "fdatasync probe failed: %s\n", std::string(rate.status().message()).c_str());
    }
  }

  const bool tty = isatty(2) != 0;
  std::size_t rows_per_setting = 0;  // per workload and client count
  for (const std::unique_ptr<Backend>& b : backends) {
    rows_per_setting += b->pipelines() ? flags.pipelines.size() : 1;
  }
  const std::size_t total =
      flags.distributions.size() * flags.modes.size() * flags.clients.size() * rows_per_setting;
  std::size_t n = 0;
  std::vector<RowResult> rows;
  for (Distribution d : flags.distributions) {
    for (SaleMode m : flags.modes) {
      const Workload workload = MakeWorkload(d, m, flags.workload);
      std::unique_ptr<ZipfTable> zipf;
      if (d == Distribution::kSkewed) zipf = std::make_unique<ZipfTable>(workload.sku_count, workload.zipf_theta);
      for (int clients : flags.clients) {
        for (const std::unique_ptr<Backend>& b : backends) {
          // Back ends that do not pipeline run once, at depth 1.
          const std::vector<int> depths = b->pipelines() ? flags.pipelines : std::vector<int>{1};
          for (int depth : depths) {
            if (g_interrupted.load()) break;
            ++n;
            std::fprintf(stderr, "%s[%zu/%zu] %s, %d client%s, %s/%s%s ...", tty ? "\r\033[K" : "", n,
                         total, workload.Name().c_str(), clients, clients == 1 ? "" : "s",
                         b->system().c_str(), b->variant().c_str(),
                         depth > 1 ? (" P" + std::to_string(depth)).c_str() : "");
            RowLimits limits = flags.limits;
            limits.pipeline = depth;
            RowResult row = RunRow(*b, workload, zipf.get(), clients, limits, &g_interrupted);
            std::fprintf(stderr, " %.0f ops/s %s%s", row.ops_per_sec,
                         std::string(VerdictName(row.check.verdict)).c_str(), tty ? "" : "\n");
            rows.push_back(std::move(row));
          }
        }
      }
    }
  }
  if (tty) std::fprintf(stderr, "\r\033[K");

  std::printf("\nflash sale: sell-out = hot 1 SKU x %lld units, skewed (zipf %.2f) / uniform %u SKUs x "
              "%lld units; steady = stock never runs out; 1 unit per take; %s per row\n\n",
              static_cast<long long>(flags.workload.hot_stock), flags.workload.zipf_theta, kManySkus,
              static_cast<long long>(flags.workload.many_stock_per_sku),
              flags.limits.ops > 0 ? (std::to_string(flags.limits.ops) + " takes max").c_str()
                                   : (std::to_string(flags.limits.duration_s).substr(0, 4) + " s").c_str());
  PrintTable(stdout, rows, fsync);
  PrintHeadlines(stdout, rows);
  std::fflush(stdout);

  if (!flags.json.empty()) {
    if (absl::Status s = WriteJson(flags.json, rows, fsync); !s.ok()) {
      std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    }
  }
  if (!flags.plot.empty()) {
    if (absl::Status s = WriteSvg(flags.plot, rows); !s.ok()) {
      std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    }
  }
  backends.clear();
  if (pg) pg->Stop();
  if (g_interrupted.load()) return 130;
  for (const RowResult& r : rows) {
    if (r.check.verdict == Verdict::kFailed) return 1;
  }
  return 0;
}

}  // namespace
}  // namespace flashsale

int main(int argc, char** argv) { return flashsale::Main(argc, argv); }
