// The correctness check every row ends on. From the stock loaded, the final
// levels the back end reports and what the clients were told (units accepted
// and refusals, per SKU), it derives:
//   oversold            units accepted beyond a SKU's stock (floor 0);
//   conservation        per SKU, initial - accepted == final, else the units off;
//   unsold-with-demand  units left on a SKU after some buyer of it was refused
//                       (a refusal with units to spare: lost sales);
// and a verdict: FAILED on any of these or any client error for a back end
// that claims correctness; INFO for the physical-limit row, which claims none.
#ifndef FLASHSTOCK_BENCH_FLASHSALE_CHECKER_H_
#define FLASHSTOCK_BENCH_FLASHSALE_CHECKER_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "flashstock/limits.h"

namespace flashsale {

// Whole cache lines for a client's per-SKU counts: a client adds to them on
// every take, and two clients' one-SKU vectors taken from neighbouring heap
// chunks would share a line (every take then writes a line another client
// writes, which is the contention the rows are meant to measure, not add).
template <typename T>
struct LineAllocator {
  using value_type = T;
  static constexpr std::size_t kLine = flashstock::kCacheLineSize;

  LineAllocator() = default;
  template <typename U>
  LineAllocator(const LineAllocator<U>&) {}
  T* allocate(std::size_t n) {
    const std::size_t bytes = (n * sizeof(T) + kLine - 1) / kLine * kLine;
    return static_cast<T*>(::operator new(bytes, std::align_val_t{kLine}));
  }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t{kLine}); }
  friend bool operator==(const LineAllocator&, const LineAllocator&) { return true; }
};
using PerSku = std::vector<std::int64_t, LineAllocator<std::int64_t>>;

// What the clients were told, summed over clients, per SKU.
struct Tally {
  PerSku accepted_units;
  PerSku refusals;
  std::uint64_t errors = 0;
  std::string first_error;

  explicit Tally(std::uint32_t sku_count = 0) : accepted_units(sku_count, 0), refusals(sku_count, 0) {}
  void Add(const Tally& other);
};

enum class Verdict { kOk, kFailed, kInfo };
std::string_view VerdictName(Verdict v);  // "ok", "FAILED", "info"

struct CheckResult {
  std::int64_t initial_units = 0;
  std::int64_t final_units = 0;
  std::int64_t accepted_units = 0;
  std::int64_t oversold_units = 0;
  std::int64_t conservation_units_off = 0;
  std::int64_t unsold_with_demand_units = 0;
  Verdict verdict = Verdict::kOk;
  std::string why;  // empty when ok
};

// REQUIRES: final_levels.size() == tally.accepted_units.size().
CheckResult CheckRow(std::int64_t stock_per_sku, const std::vector<std::int64_t>& final_levels,
                     const Tally& tally, bool claims_correctness);

}  // namespace flashsale

#endif  // FLASHSTOCK_BENCH_FLASHSALE_CHECKER_H_
