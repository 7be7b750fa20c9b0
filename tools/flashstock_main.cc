// The `flashstock` command: a thin main() over the engine (leveldbutil-style).
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string_view>

#include "absl/strings/numbers.h"
#include "shell.h"

namespace {

constexpr char kUsage[] =
    "usage: flashstock <command> [options]\n"
    "\n"
    "commands:\n"
    "  shell     read commands on stdin, answer one line each (see docs/commands.md)\n"
    "\n"
    "Run 'flashstock <command> --help' for a command's options.\n";

constexpr char kShellUsage[] =
    "usage: flashstock shell [--skus-max N]\n"
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
    "  errors                   -> ERR <CODE> <message>\n"
    "\n"
    "options:\n"
    "  --skus-max N     catalog capacity (default 1048576, at most 16777216)\n"
    "  --orders-max N   orders remembered at once (default 65536, at most 16777216)\n";

int Shell(int argc, char** argv) {
  flashstock::EngineOptions options;
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
    std::fprintf(stderr, "flashstock shell: unknown option '%s'\n%s", argv[i], kShellUsage);
    return 2;
  }
  flashstock::Engine engine(options);
  flashstock::Shell shell(&engine);
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
  std::fprintf(stderr, "flashstock: unknown command '%s'\n%s", argv[1], kUsage);
  return 2;
}
