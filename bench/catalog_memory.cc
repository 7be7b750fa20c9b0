// Memory per SKU, name included: defines N SKUs (default 1M) in a catalog of
// capacity N and reports the resident-set growth divided by N.
//   build/bin/catalog-memory [N]
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "flashstock/engine.h"

namespace {

long ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  long size_pages = 0, resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * 4096L;
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  if (n < 1 || n > static_cast<long>(flashstock::kSkusMaxLimit)) {
    std::fprintf(stderr, "usage: catalog-memory [N in 1..%u]\n", flashstock::kSkusMaxLimit);
    return 2;
  }
  const long before = ResidentBytes();
  flashstock::Engine engine(flashstock::EngineOptions{.skus_max = static_cast<std::uint32_t>(n)});
  char name[32];
  for (long i = 0; i < n; ++i) {
    // 16-byte names, like "SKU-000000123456".
    std::snprintf(name, sizeof name, "SKU-%012ld", i);
    if (!engine.Define(name, 100).ok()) {
      std::fprintf(stderr, "define %s failed\n", name);
      return 1;
    }
  }
  const long after = ResidentBytes();
  std::printf("skus=%ld resident_growth_bytes=%ld bytes_per_sku=%.1f (limit 256)\n", n,
              after - before, static_cast<double>(after - before) / n);
  return 0;
}
