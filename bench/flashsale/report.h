// What the user sees after the rows: the table (with each row's ratio to
// flashstock in the same workload and client count), the headline ratios,
// the fdatasync reference, the JSON rows and the SVG plot.
#ifndef FLASHSTOCK_BENCH_FLASHSALE_REPORT_H_
#define FLASHSTOCK_BENCH_FLASHSALE_REPORT_H_

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "disk_probe.h"
#include "runner.h"

namespace flashsale {

// The row flashstock's numbers are compared with: flashstock/none.
inline constexpr const char* kBaselineSystem = "flashstock";
inline constexpr const char* kBaselineVariant = "none";

// flashstock's ops/s divided by `row`'s, in the same workload and client
// count; nullopt without a baseline row (or a row with no ops).
std::optional<double> FlashstockOverRow(const std::vector<RowResult>& rows, const RowResult& row);

void PrintTable(std::FILE* out, const std::vector<RowResult>& rows,
                const std::optional<FsyncRate>& fsync);
void PrintHeadlines(std::FILE* out, const std::vector<RowResult>& rows);

// One JSON object per row (and one for the fdatasync reference), in an array.
absl::Status WriteJson(const std::string& path, const std::vector<RowResult>& rows,
                       const std::optional<FsyncRate>& fsync);
// ops/s by system and client count on a log axis, one panel per workload.
absl::Status WriteSvg(const std::string& path, const std::vector<RowResult>& rows);

}  // namespace flashsale

#endif  // FLASHSTOCK_BENCH_FLASHSALE_REPORT_H_
