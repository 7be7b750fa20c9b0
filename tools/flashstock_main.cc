// The `flashstock` command: a thin main() over the engine (leveldbutil-style).
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <variant>

#include "absl/strings/numbers.h"
#include "command/command.h"
#include "flashstock/validate.h"
#include "flashstock_journal/inspect.h"
#include "load.h"
#include "server/serve_main.h"
#include "shell.h"

namespace {

constexpr char kUsage[] =
    "usage: flashstock <command> [options]\n"
    "\n"
    "commands:\n"
    "  shell     read commands on stdin, answer one line each (see docs/commands.md)\n"
    "  serve     answer the shell's verbs over RESP, the Redis protocol (see docs/server.md)\n"
    "  journal   verify DIR | dump DIR: check or print a journal directory\n"
    "  load      drive a journaled engine with a mixed workload from N threads\n"
    "\n"
    "Run 'flashstock <command> --help' for a command's options.\n";

constexpr char kShellUsage[] =
    "usage: flashstock shell [--skus-max N] [--orders-max N] [--order-retention-ms N]\n"
    "                        [--journal DIR --durability none|async|sync [--salvage]]\n"
    "\n"
    "Reads one command per line on stdin and writes one answer line per command,\n"
    "flushed after each. Blank lines and lines starting with '#' are skipped.\n"
    "\n"
    "  DEFINE sku qty [floor]   -> OK <available>\n"
    "  RESTOCK sku n            -> OK <available>\n"
    "  TAKE sku n               -> OK <available> | ERR INSUFFICIENT <available>\n"
    "  TAKEUPTO sku n           -> OK <taken> <available>\n"
    "  LEVEL sku                -> OK <available> <held> <sold>\n"
    "  FLOOR sku floor          -> OK <available>   (floor <= 0 allows backorders)\n"
    "  RESERVE order ttl_ms sku n [sku n ...]\n"
    "                           -> OK | ERR INSUFFICIENT <sku> <available>\n"
    "  COMMIT order | CANCEL order | RETURN order\n"
    "                           -> OK | ERR ORDER_CLOSED <state> | ERR UNKNOWN_ORDER\n"
    "  ORDER order              -> OK <state> <sku n>...\n"
    "  CHECKPOINT               -> OK <durable sequence>   (journal: snapshot now)\n"
    "  errors                   -> ERR <CODE> <message>\n"
    "\n"
    "options:\n"
    "  --skus-max N         catalog capacity (default 1048576, at most 16777216)\n"
    "  --orders-max N       orders remembered at once (default 65536, at most 16777216)\n"
    "  --order-retention-ms N\n"
    "                       how long a closed order's id is remembered after its last\n"
    "                       change (and at least until its hold's deadline); default\n"
    "                       900000 (15 min), 100 .. 604800000 (7 days)\n"
    "  --journal DIR        journal directory: recovered on start, every change journaled\n"
    "  --durability MODE    none (no journal), async (answer once in memory) or sync\n"
    "                       (answer once on disk); default sync when --journal is given\n"
    "  --salvage            open a damaged journal up to the damage, dropping the rest\n"
    "  --checkpoint-bytes N background checkpoint every N journal bytes (0: never)\n"
    "  --segment-bytes N    rotate journal segments past N bytes\n"
    "\n"
    "With a journal, a change the journal cannot take is answered\n"
    "ERR READONLY <reason> (the engine stays read-only; LEVEL still answers).\n";

constexpr char kJournalUsage[] =
    "usage: flashstock journal verify DIR | dump DIR\n"
    "\n"
    "  verify DIR   checks every record and snapshot; prints counts and the first\n"
    "               problem; exit status 1 on a problem (a torn tail is reported\n"
    "               but is not a problem: recovery cuts it)\n"
    "  dump DIR     one line per record: file, offset, sequence, type, fields\n";

int Journal(int argc, char** argv) {
  if (argc >= 1 && (std::strcmp(argv[0], "--help") == 0 || std::strcmp(argv[0], "-h") == 0)) {
    std::fputs(kJournalUsage, stdout);
    return 0;
  }
  if (argc != 2 || (std::strcmp(argv[0], "verify") != 0 && std::strcmp(argv[0], "dump") != 0)) {
    std::fputs(kJournalUsage, stderr);
    return 2;
  }
  const bool dump = std::strcmp(argv[0], "dump") == 0;
  const std::string dir = argv[1];
  std::function<void(std::string_view)> print_line;
  if (dump) print_line = [](std::string_view line) { std::printf("%.*s\n", static_cast<int>(line.size()), line.data()); };
  absl::StatusOr<flashstock::journal::JournalSummary> s = flashstock::journal::InspectJournal(dir, print_line);
  if (!s.ok()) {
    std::fprintf(dump ? stderr : stdout, "PROBLEM %s\n", std::string(s.status().message()).c_str());
    return 1;
  }
  std::FILE* out = dump ? stderr : stdout;
  std::fprintf(out, "OK %s\n", s->recovery.c_str());
  std::fprintf(out, "records: define=%llu take=%llu restock=%llu floor=%llu; SKUs %zu; last sequence %llu\n",
               (unsigned long long)s->defines, (unsigned long long)s->takes, (unsigned long long)s->restocks,
               (unsigned long long)s->floors, s->skus, (unsigned long long)s->last_sequence);
  std::fprintf(out,
               "order records: reserve=%llu commit=%llu cancel=%llu return=%llu expire=%llu reserve_failed=%llu; "
               "orders remembered %zu, open holds %zu\n",
               (unsigned long long)s->reserves, (unsigned long long)s->commits, (unsigned long long)s->cancels,
               (unsigned long long)s->returns, (unsigned long long)s->expiries,
               (unsigned long long)s->failed_reserves, s->orders_remembered, s->open_holds);
  return 0;
}

int Shell(int argc, char** argv) {
  flashstock::EngineOptions options;
  bool durability_given = false;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kShellUsage, stdout);
      return 0;
    }
    if (arg == "--skus-max" && i + 1 < argc) {
      std::uint32_t n = 0;
      if (!absl::SimpleAtoi(argv[++i], &n) || n < 1 || n > flashstock::kSkusMaxLimit) {
        std::fprintf(stderr, "flashstock shell: --skus-max must be 1..%u\n", flashstock::kSkusMaxLimit);
        return 2;
      }
      options.skus_max = n;
      continue;
    }
    if (arg == "--orders-max" && i + 1 < argc) {
      std::uint32_t n = 0;
      if (!absl::SimpleAtoi(argv[++i], &n) || n < 1 || n > flashstock::kOrdersMaxLimit) {
        std::fprintf(stderr, "flashstock shell: --orders-max must be 1..%u\n", flashstock::kOrdersMaxLimit);
        return 2;
      }
      options.orders_max = n;
      continue;
    }
    if (arg == "--order-retention-ms" && i + 1 < argc) {
      std::int64_t n = 0;
      if (!absl::SimpleAtoi(argv[++i], &n) || !flashstock::ValidOperatorRetentionMs(n)) {
        std::fprintf(stderr, "flashstock shell: --order-retention-ms must be %lld..%lld\n",
                     static_cast<long long>(flashstock::kOrderRetentionMsOperatorMin),
                     static_cast<long long>(flashstock::kOrderRetentionMsMax));
        return 2;
      }
      options.order_retention_ms = n;
      continue;
    }
    if (arg == "--journal" && i + 1 < argc) {
      options.journal_dir = argv[++i];
      continue;
    }
    if (arg == "--durability" && i + 1 < argc) {
      const std::string_view mode = argv[++i];
      if (mode == "none") {
        options.durability = flashstock::Durability::kNone;
      } else if (mode == "async") {
        options.durability = flashstock::Durability::kAsync;
      } else if (mode == "sync") {
        options.durability = flashstock::Durability::kSync;
      } else {
        std::fprintf(stderr, "flashstock shell: --durability must be none, async or sync\n");
        return 2;
      }
      durability_given = true;
      continue;
    }
    if (arg == "--salvage") {
      options.salvage = true;
      continue;
    }
    if ((arg == "--checkpoint-bytes" || arg == "--segment-bytes") && i + 1 < argc) {
      std::uint64_t n = 0;
      if (!absl::SimpleAtoi(argv[++i], &n)) {
        std::fprintf(stderr, "flashstock shell: %s needs a byte count\n", argv[i - 1]);
        return 2;
      }
      (arg == "--checkpoint-bytes" ? options.checkpoint_bytes : options.segment_bytes_max) = n;
      continue;
    }
    std::fprintf(stderr, "flashstock shell: unknown option '%s'\n%s", argv[i], kShellUsage);
    return 2;
  }
  if (!options.journal_dir.empty() && !durability_given) options.durability = flashstock::Durability::kSync;
  std::unique_ptr<flashstock::Engine> engine = flashstock::command::OpenForTool(options, "shell");
  if (engine == nullptr) return 1;
  flashstock::Shell shell(engine.get());
  std::ios::sync_with_stdio(false);
  shell.Run(std::cin, std::cout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string_view command = argv[1];
  if (command == "shell") return Shell(argc - 2, argv + 2);
  if (command == "serve") return flashstock::server::ServeMain(argc - 2, argv + 2);
  if (command == "journal") return Journal(argc - 2, argv + 2);
  if (command == "load") {
    const flashstock::LoadCommand load = flashstock::ParseLoadFlags(argc - 2, argv + 2);
    if (const int* status = std::get_if<int>(&load)) return *status;
    return flashstock::RunLoad(std::get<flashstock::LoadOptions>(load));
  }
  std::fprintf(stderr, "flashstock: unknown command '%s'\n%s", argv[1], kUsage);
  return 2;
}
