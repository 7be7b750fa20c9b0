#include "server/serve_main.h"

#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>

#include "absl/strings/numbers.h"
#include "command/command.h"
#include "server/server.h"

namespace flashstock::server {
namespace {

constexpr char kServeUsage[] =
    "usage: flashstock serve [options]\n"
    "\n"
    "Serves the shell's verbs over RESP (the Redis protocol): any Redis client\n"
    "(redis-cli, redis-py, ioredis, go-redis) can call DEFINE, TAKE, TAKEUPTO,\n"
    "RESTOCK, LEVEL, FLOOR, RESERVE, COMMIT, CANCEL, RETURN, ORDER, CHECKPOINT.\n"
    "Prints 'flashstock serve: ready on ADDR:PORT' on stderr once it accepts\n"
    "connections. SIGTERM, SIGINT or SHUTDOWN stop it cleanly. See docs/server.md.\n"
    "\n"
    "options:\n"
    "  --bind ADDR            listen on ADDR (repeatable; default 127.0.0.1 and ::1)\n"
    "  --port N               TCP port (default 7379; 0 picks a free one)\n"
    "  --threads N            io threads (default: the number of cores)\n"
    "  --journal DIR          journal directory: recovered on start, every change journaled\n"
    "  --durability MODE      none, async (reply once in memory) or sync (reply once on\n"
    "                         disk); default sync when --journal is given, else none\n"
    "  --escrow off|auto      every SKU's escrow mode unless ESCROW sets it: auto splits a\n"
    "                         SKU whose buyers contend for its line (default off)\n"
    "  --skus-max N           catalog capacity (default 1048576)\n"
    "  --orders-max N         orders remembered at once (default 65536)\n"
    "  --order-retention-ms N how long a closed order's id is remembered\n"
    "  --requirepass-file F   password: the file's first line (trailing newline not part of it)\n"
    "  --protected-mode yes|no  refuse a non-loopback --bind without a password (default yes)\n"
    "  --max-clients N        connections at once (default 10000); past it a client gets\n"
    "                         '-ERR max number of clients reached' and is closed\n"
    "  --client-output-stall-ms N  a client that leaves 256 KiB of answers unread this\n"
    "                         long is closed (default 30000; 100 .. 3600000)\n"
    "  --metrics ADDR:PORT    serve GET /metrics (Prometheus text format) there\n"
    "  --salvage              open a damaged journal up to the damage\n";

static_assert(kOutputStallMsMin == 100 && kOutputStallMsMax == 3'600'000,
              "the usage text and the flag's error name these bounds");

// Raises the open-file limit toward what --max-clients needs, as Redis does
// (adjustOpenFilesLimit); says so when the hard limit is lower.
void RaiseFileLimit(std::size_t max_clients) {
  constexpr rlim_t kReservedFds = 64;  // journal, listeners, metrics, stdio
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t want = static_cast<rlim_t>(max_clients) + kReservedFds;
  if (limit.rlim_cur >= want) return;
  limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? want : std::min(want, limit.rlim_max);
  setrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < want) {
    std::fprintf(stderr, "flashstock serve: open-file limit %llu is below --max-clients + %llu\n",
                 static_cast<unsigned long long>(limit.rlim_cur), static_cast<unsigned long long>(kReservedFds));
  }
}

bool ReadPassword(const std::string& path, std::string* password) {
  std::ifstream in(path);
  if (!in) return false;
  std::getline(in, *password);
  if (!password->empty() && password->back() == '\r') password->pop_back();
  return true;
}

}  // namespace

int ServeMain(int argc, char** argv) {
  EngineOptions engine_options;
  ServerOptions options;
  bool durability_given = false;
  Durability durability = Durability::kNone;
  bool bind_given = false;
  auto fail = [](const char* what) {
    std::fprintf(stderr, "flashstock serve: %s\n", what);
    return 2;
  };
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--help" || arg == "-h") {
      std::fputs(kServeUsage, stdout);
      return 0;
    }
    if (arg == "--bind" && has_value) {
      if (!bind_given) options.bind.clear();
      bind_given = true;
      options.bind.push_back(argv[++i]);
    } else if (arg == "--port" && has_value) {
      std::uint32_t n = 0;
      if (!absl::SimpleAtoi(argv[++i], &n) || n > 65535) return fail("--port must be 0..65535");
      options.port = static_cast<std::uint16_t>(n);
    } else if (arg == "--threads" && has_value) {
      std::uint32_t n = 0;
      if (!absl::SimpleAtoi(argv[++i], &n) || n < 1 || n > 256) return fail("--threads must be 1..256");
      options.threads = static_cast<int>(n);
    } else if (arg == "--journal" && has_value) {
      engine_options.journal_dir = argv[++i];
    } else if (arg == "--durability" && has_value) {
      const std::string_view mode = argv[++i];
      if (mode == "none") {
        durability = Durability::kNone;
      } else if (mode == "async") {
        durability = Durability::kAsync;
      } else if (mode == "sync") {
        durability = Durability::kSync;
      } else {
        return fail("--durability must be none, async or sync");
      }
      durability_given = true;
    } else if (arg == "--escrow" && has_value) {
      const std::string_view mode = argv[++i];
      if (mode == "off") {
        engine_options.escrow = EscrowMode::kOff;
      } else if (mode == "auto") {
        engine_options.escrow = EscrowMode::kAuto;
      } else {
        return fail("--escrow must be off or auto (ESCROW sku ON splits one SKU)");
      }
    } else if (arg == "--skus-max" && has_value) {
      std::uint32_t n = 0;
      if (!absl::SimpleAtoi(argv[++i], &n) || n < 1 || n > kSkusMaxLimit) return fail("--skus-max out of range");
      engine_options.skus_max = n;
    } else if (arg == "--orders-max" && has_value) {
      std::uint32_t n = 0;
      if (!absl::SimpleAtoi(argv[++i], &n) || n < 1 || n > kOrdersMaxLimit) {
        return fail("--orders-max out of range");
      }
      engine_options.orders_max = n;
    } else if (arg == "--order-retention-ms" && has_value) {
      std::int64_t n = 0;
      if (!absl::SimpleAtoi(argv[++i], &n) || n < 0 || n > kOrderRetentionMsMax) {
        return fail("--order-retention-ms out of range");
      }
      engine_options.order_retention_ms = n;
    } else if (arg == "--requirepass-file" && has_value) {
      if (!ReadPassword(argv[++i], &options.password)) return fail("cannot read --requirepass-file");
      if (options.password.empty()) return fail("--requirepass-file holds an empty password");
    } else if (arg == "--protected-mode" && has_value) {
      const std::string_view v = argv[++i];
      if (v != "yes" && v != "no") return fail("--protected-mode must be yes or no");
      options.protected_mode = v == "yes";
    } else if (arg == "--max-clients" && has_value) {
      std::uint32_t n = 0;
      if (!absl::SimpleAtoi(argv[++i], &n) || n < 1) return fail("--max-clients must be >= 1");
      options.max_clients = n;
    } else if (arg == "--client-output-stall-ms" && has_value) {
      std::int64_t n = 0;
      if (!absl::SimpleAtoi(argv[++i], &n) || n < kOutputStallMsMin || n > kOutputStallMsMax) {
        return fail("--client-output-stall-ms must be 100 .. 3600000");
      }
      options.output_stall = std::chrono::milliseconds(n);
    } else if (arg == "--metrics" && has_value) {
      options.metrics = argv[++i];
    } else if (arg == "--salvage") {
      engine_options.salvage = true;
    } else {
      std::fprintf(stderr, "flashstock serve: unknown option '%s'\n%s", argv[i], kServeUsage);
      return 2;
    }
  }
  if (!durability_given && !engine_options.journal_dir.empty()) durability = Durability::kSync;
  if (durability != Durability::kNone && engine_options.journal_dir.empty()) {
    return fail("--durability async|sync needs --journal DIR");
  }
  if (durability == Durability::kNone && !engine_options.journal_dir.empty()) {
    return fail("--journal needs --durability async or sync");
  }
  // Sync replies: the engine journals asynchronously and the server holds
  // each reply until a Flush covers it, so an io thread never blocks on the
  // disk (docs/server.md, "Durability").
  engine_options.durability = durability == Durability::kSync ? Durability::kAsync : durability;
  options.sync_replies = durability == Durability::kSync;
  options.durability_name = durability == Durability::kSync    ? "sync"
                            : durability == Durability::kAsync ? "async"
                                                               : "none";
  options.handle_signals = true;

  // SIGTERM and SIGINT go to the server's signal_set (Asio installs its
  // handler before the io threads start); a write to a closed client must
  // not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  RaiseFileLimit(options.max_clients);
  std::unique_ptr<Engine> engine = command::OpenForTool(engine_options, "serve");
  if (engine == nullptr) return 1;
  int status = 0;
  {
    Server server(engine.get(), options);
    if (absl::Status s = server.Start(); !s.ok()) {
      std::fprintf(stderr, "flashstock serve: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    const std::vector<std::string> on = server.listening();
    for (std::size_t i = 1; i < on.size(); ++i) {
      std::fprintf(stderr, "flashstock serve: also listening on %s\n", on[i].c_str());
    }
    if (server.metrics_port() != 0) {
      std::fprintf(stderr, "flashstock serve: metrics on %s (port %d)\n", options.metrics.c_str(),
                   server.metrics_port());
    }
    std::fprintf(stderr, "flashstock serve: ready on %s\n", on.empty() ? "?" : on[0].c_str());
    std::fflush(stderr);
    server.Wait();
  }
  // Every io thread has stopped: what was answered is durable. Close the
  // journal cleanly (its destructor drains and syncs).
  if (absl::Status s = engine->Flush(); !s.ok()) {
    std::fprintf(stderr, "flashstock serve: final flush failed: %s\n", std::string(s.message()).c_str());
    status = 1;
  }
  engine.reset();
  std::fprintf(stderr, "flashstock serve: stopped\n");
  return status;
}

}  // namespace flashstock::server
