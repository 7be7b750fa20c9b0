// The state a journal folds to, and snapshot files holding it as of a
// sequence number (written atomically: temporary file, fdatasync, rename,
// fsync of the directory).
#ifndef FLASHSTOCK_SNAPSHOT_H_
#define FLASHSTOCK_SNAPSHOT_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "flashstock/orders.h"
#include "internal/file.h"
#include "journal_reader.h"

namespace flashstock::journal {

// A SKU as folded. `level` and `sold` are the *base* counters: stock
// records plus the effect of orders already pruned from `orders`. The live
// counters add the effect of every order still in `orders`; see Levels().
struct SkuState {
  std::string name;
  std::int64_t level = 0;
  std::int64_t floor = 0;
  std::int64_t sold = 0;
};

// One order as folded from its records (docs/design.md, "Orders in the
// journal"). Keyed by (id, deadline): a close record carries its reserve's
// deadline as a tag, so a close pairs with its own reserve even if the id was
// forgotten and reused, and records pair up in any order.
struct OrderKey {
  std::uint64_t id = 0;
  std::int64_t deadline = 0;  // unix ns; a failed reserve has kFailedTag
  friend bool operator==(const OrderKey&, const OrderKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const OrderKey& k) {
    return H::combine(std::move(h), k.id, k.deadline);
  }
};
inline constexpr std::int64_t kFailedTag = INT64_MIN;

struct OrderEntry {
  // A RESERVE (or RESERVE_FAILED) record was folded. Without it the entry is
  // an orphan: closes whose reserve is not (yet) in the folded records.
  bool reserved = false;
  // Highest precedence seen: HELD < COMMITTED | CANCELLED | EXPIRED < RETURNED;
  // FAILED stands alone. kNone until a record sets it.
  OrderState state = OrderState::kNone;
  std::int64_t changed = 0;      // unix ns of the latest close or the failure
  std::uint32_t short_line = 0;  // failed
  std::int64_t available = 0;    // failed
  std::uint32_t line_count = 0;
  std::array<OrderLineRecord, kOrderLinesMax> lines{};
  friend bool operator==(const OrderEntry&, const OrderEntry&) = default;
};

// Live counters of one SKU.
struct SkuLevels {
  std::int64_t available = 0, held = 0, sold = 0;
  friend bool operator==(const SkuLevels&, const SkuLevels&) = default;
};

// Closed orders are pruned from the state this long after their retention
// ran out (measured on the records' own clock: the newest `at` folded), so
// a record for an order still remembered by a running engine always finds it.
inline constexpr std::int64_t kOrderPruneMarginNanos = std::int64_t{10} * 60 * 1'000'000'000;

// Every record with sequence <= `sequence` folded in, in index order.
struct JournalState {
  std::uint64_t sequence = 0;
  std::vector<SkuState> skus;
  absl::flat_hash_map<OrderKey, OrderEntry> orders;
  std::int64_t wall_high = INT64_MIN;  // the newest `at` of any order record folded

  // The live counters: base plus every paired order's effect (HELD: available
  // -> held; COMMITTED: available -> sold; others: none).
  std::vector<SkuLevels> Levels() const;
  // Removes orders closed (or failed) more than retention + margin before
  // wall_high, folding their effect into the base counters.
  void PruneClosed(std::int64_t retention_nanos);
  // Removes orphan closes. Only at the end of recovery: no record written
  // later can be the missing reserve (that process is gone). Returns how many.
  std::size_t DropOrphans();

  // Folds one verified record in. Deltas are added modulo 2^64 so that any
  // order of the same records gives the same result (the true final level is
  // always in range; an intermediate sum need not be). Returns an error for a
  // record that does not fit the state (unknown SKU, define out of order).
  // REQUIRES: record.sequence == sequence + 1.
  absl::Status Apply(const Record& record);

  bool operator==(const JournalState&) const = default;
};
inline bool operator==(const SkuState& a, const SkuState& b) {
  return a.name == b.name && a.level == b.level && a.floor == b.floor && a.sold == b.sold;
}

// Serialises `state` into snapshot bytes (header, kSkus section, kEnd).
std::string EncodeSnapshot(const JournalState& state);
// Parses and verifies snapshot bytes.
absl::StatusOr<JournalState> DecodeSnapshot(std::string_view bytes);

// Writes `state` to dir/SnapshotFileName(state.sequence) atomically.
absl::Status WriteSnapshot(internal::FileSystem* fs, const std::string& dir, const JournalState& state);

}  // namespace flashstock::journal

#endif  // FLASHSTOCK_SNAPSHOT_H_
