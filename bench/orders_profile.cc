// A deterministic reserve+commit loop for profilers (valgrind --tool=callgrind
// counts the same instructions on every run): one thread, a ManualClock, the
// expiry driver run by hand every `batch` orders, so the driver's share is in
// the profile too. Usage: orders-profile [orders] [batch]
//   valgrind --tool=callgrind build-rel/bin/orders-profile 200000 1000
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "flashstock/clock.h"
#include "flashstock/engine.h"

int main(int argc, char** argv) {
  const std::int64_t orders = argc > 1 ? std::atoll(argv[1]) : 200000;
  const std::int64_t batch = argc > 2 ? std::atoll(argv[2]) : 1000;
  flashstock::ManualClock clock;
  flashstock::EngineOptions o;
  o.skus_max = 64;
  o.orders_max = 1u << 16;
  o.order_retention_ms = 0;
  o.expiry_thread = false;
  o.clock = &clock;
  flashstock::Engine engine(o);
  std::vector<flashstock::OrderLine> lines;
  for (int i = 0; i < 3; ++i) {
    (void)engine.Define("sku-" + std::to_string(i), std::numeric_limits<std::int64_t>::max() / 4);
    lines.push_back({*engine.Resolve("sku-" + std::to_string(i)), 1 + i});
  }
  std::int64_t failed = 0;
  for (std::int64_t i = 1; i <= orders; ++i) {
    if (!engine.Reserve(static_cast<flashstock::OrderId>(i), lines, 1).ok()) ++failed;
    if (!engine.Commit(static_cast<flashstock::OrderId>(i)).ok()) ++failed;
    if (i % batch == 0) {
      clock.AdvanceMs(2);
      engine.SweepExpired();
    }
  }
  std::printf("orders %lld failed %lld\n", static_cast<long long>(orders), static_cast<long long>(failed));
  return failed == 0 ? 0 : 1;
}
