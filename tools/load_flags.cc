// `flashstock load` command-line flags: parsed into LoadOptions, every value
// range-checked here, so a bad flag is one clear line and exit status 2.
#include <cstdio>
#include <string_view>

#include "absl/strings/numbers.h"
#include "load.h"

namespace flashstock {

const char kLoadUsage[] =
    "usage: flashstock load --journal DIR --durability sync|async --threads N\n"
    "                       [--seconds S] [--skus K] [--seed N] [--checkpoint-bytes N]\n"
    "                       [--acks FILE] [--order-retention-ms N] [--orders-max N]\n"
    "                       [--escrow on|off|auto]\n"
    "\n"
    "Drives a journaled engine from N threads with a mixed workload: TAKE, TAKEUPTO,\n"
    "RESTOCK, FLOOR (up and down, negative too), RESERVE of 1-3 SKUs with ttls of\n"
    "2..100 ms, COMMIT, CANCEL, RETURN, on SKUs load-0 .. load-K-1 defined with\n"
    "little stock. An existing journal is recovered first; load SKUs it holds are\n"
    "reused, missing ones defined. Prints progress each second on stderr and a\n"
    "summary when it stops (after --seconds, or at SIGINT / SIGTERM).\n"
    "\n"
    "  --journal DIR           journal directory (created if missing)\n"
    "  --durability MODE       sync (answer once on disk) or async (once in memory)\n"
    "  --threads N             worker threads, 1..256\n"
    "  --seconds S             stop after S seconds (default: run until signalled)\n"
    "  --skus K                SKUs load-0 .. load-K-1, 1..1024 (default 4)\n"
    "  --seed N                workload seed (default 1)\n"
    "  --checkpoint-bytes N    background checkpoint every N journal bytes (0: never;\n"
    "                          default 268435456)\n"
    "  --acks FILE             append '<thread> <command> -> <answer>' per answered\n"
    "                          change, one write(2) each, after the answer is known\n"
    "                          (defines at start: thread 'main')\n"
    "  --order-retention-ms N  how long closed order ids are remembered (default 2000)\n"
    "  --orders-max N          orders remembered at once (default 1048576)\n"
    "  --escrow on|off|auto    every load SKU's escrow mode (default off); with on or\n"
    "                          auto, SKUs are defined with 1000 units and restocked by\n"
    "                          1000 at the start of a run when below 500, so they can\n"
    "                          split (on: at once; auto: when contended)\n";

namespace {

int Bad(const char* what) {
  std::fprintf(stderr, "flashstock load: %s (see flashstock load --help)\n", what);
  return 2;
}

}  // namespace

LoadCommand ParseLoadFlags(int argc, char** argv) {
  LoadOptions o;
  bool durability_given = false;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kLoadUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "flashstock load: unknown option or missing value: '%s'\n", argv[i]);
      return 2;
    }
    const char* value = argv[++i];
    std::int64_t n = 0;
    const bool number = absl::SimpleAtoi(value, &n);
    if (arg == "--journal") {
      o.journal_dir = value;
    } else if (arg == "--durability") {
      const std::string_view mode = value;
      if (mode != "sync" && mode != "async") return Bad("--durability must be sync or async");
      o.durability = mode == "sync" ? Durability::kSync : Durability::kAsync;
      durability_given = true;
    } else if (arg == "--threads") {
      if (!number || n < 1 || n > kLoadThreadsMax) return Bad("--threads must be 1..256");
      o.threads = static_cast<int>(n);
    } else if (arg == "--seconds") {
      if (!number || n < 1) return Bad("--seconds must be a whole number >= 1");
      o.seconds = n;
    } else if (arg == "--skus") {
      if (!number || n < 1 || n > kLoadSkusMax) return Bad("--skus must be 1..1024");
      o.skus = static_cast<int>(n);
    } else if (arg == "--seed") {
      if (!absl::SimpleAtoi(value, &o.seed)) return Bad("--seed must be an unsigned 64-bit integer");
    } else if (arg == "--checkpoint-bytes") {
      if (!absl::SimpleAtoi(value, &o.checkpoint_bytes)) return Bad("--checkpoint-bytes needs a byte count");
    } else if (arg == "--acks") {
      o.acks_path = value;
    } else if (arg == "--order-retention-ms") {
      if (!number || n < 0 || n > kOrderRetentionMsMax) return Bad("--order-retention-ms must be 0..604800000");
      o.order_retention_ms = n;
    } else if (arg == "--escrow") {
      const std::string_view mode = value;
      if (mode == "on") {
        o.escrow = EscrowMode::kOn;
      } else if (mode == "off") {
        o.escrow = EscrowMode::kOff;
      } else if (mode == "auto") {
        o.escrow = EscrowMode::kAuto;
      } else {
        return Bad("--escrow must be on, off or auto");
      }
    } else if (arg == "--orders-max") {
      if (!number || n < 1 || n > kOrdersMaxLimit) return Bad("--orders-max must be 1..16777216");
      o.orders_max = static_cast<std::uint32_t>(n);
    } else {
      std::fprintf(stderr, "flashstock load: unknown option '%s'\n", argv[i - 1]);
      return 2;
    }
  }
  if (o.journal_dir.empty()) return Bad("--journal DIR is required");
  if (!durability_given) return Bad("--durability sync|async is required");
  if (o.threads == 0) return Bad("--threads N is required");
  return o;
}

}  // namespace flashstock
