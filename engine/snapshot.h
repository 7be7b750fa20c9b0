// The state a journal folds to, and snapshot files holding it as of a
// sequence number (written atomically: temporary file, fdatasync, rename,
// fsync of the directory).
#ifndef FLASHSTOCK_SNAPSHOT_H_
#define FLASHSTOCK_SNAPSHOT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "internal/file.h"
#include "journal_reader.h"

namespace flashstock::journal {

struct SkuState {
  std::string name;
  std::int64_t level = 0;
  std::int64_t floor = 0;
};

// Every record with sequence <= `sequence` folded in, in index order.
struct JournalState {
  std::uint64_t sequence = 0;
  std::vector<SkuState> skus;

  // Folds one verified record in. Deltas are added modulo 2^64 so that any
  // order of the same records gives the same result (the true final level is
  // always in range; an intermediate sum need not be). Returns an error for a
  // record that does not fit the state (unknown SKU, define out of order).
  // REQUIRES: record.sequence == sequence + 1.
  absl::Status Apply(const Record& record);

  bool operator==(const JournalState&) const = default;
};
inline bool operator==(const SkuState& a, const SkuState& b) {
  return a.name == b.name && a.level == b.level && a.floor == b.floor;
}

// Serialises `state` into snapshot bytes (header, kSkus section, kEnd).
std::string EncodeSnapshot(const JournalState& state);
// Parses and verifies snapshot bytes.
absl::StatusOr<JournalState> DecodeSnapshot(std::string_view bytes);

// Writes `state` to dir/SnapshotFileName(state.sequence) atomically.
absl::Status WriteSnapshot(internal::FileSystem* fs, const std::string& dir, const JournalState& state);

}  // namespace flashstock::journal

#endif  // FLASHSTOCK_SNAPSHOT_H_
