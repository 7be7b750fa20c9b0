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
#include "flashstock/order.h"
#include "base/file.h"
#include "journal/journal_reader.h"

namespace flashstock::journal {

// A SKU as folded. `level` and `sold` are the *base* counters: stock
// records plus the effect of orders already pruned from `orders`. The live
// counters add the effect of every order still in `orders`; see Levels().
// `out` is derived, never stored: the units the orders in `orders` hold or
// sold (HELD and COMMITTED lines), so that the live available count,
// level - out, is at hand for the floor check of every record.
struct SkuState {
  std::string name;
  std::int64_t level = 0;
  std::int64_t floor = 0;
  std::int64_t sold = 0;
  std::int64_t out = 0;
};

// A failed reserve's record carries no deadline.
inline constexpr std::int64_t kFailedTag = INT64_MIN;

// One order as folded from its records (docs/design.md, "Orders in the
// journal"), the newest incarnation of its id: a reserve of an id whose
// entry is settled retires that entry (the writer had forgotten it, or it
// would have answered the retry without a record). A close names its
// reserve's deadline as a tag, which must match.
struct OrderEntry {
  std::int64_t deadline = 0;     // unix ns; kFailedTag for a failed reserve
  // HELD, then COMMITTED | CANCELLED | EXPIRED, then (from COMMITTED)
  // RETURNED; or FAILED.
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

// The snapshot keeps a settled order this long past its forget time (the
// one rule, base/forget_rule.h), measured on the records' own clock:
// the newest `at` folded. A running engine decides a change before its
// record reaches the file, and records of different threads reach it in
// any order, so a record naming an order the engine still knew may follow
// records stamped after the order's forget time. The margin bounds that lag;
// within it nothing is lost, only remembered longer (a recovered book forgets
// such an order at its first sweep, by the same rule).
inline constexpr std::int64_t kOrderPruneMarginNanos = std::int64_t{10} * 60 * 1'000'000'000;

// Every record with sequence <= `sequence` folded in, in index order.
struct JournalState {
  std::uint64_t sequence = 0;
  std::vector<SkuState> skus;
  absl::flat_hash_map<std::uint64_t, OrderEntry> orders;  // by order id
  std::int64_t wall_high = INT64_MIN;  // the newest `at` of any order record folded

  // The live counters: base plus every order's effect (HELD: available ->
  // held; COMMITTED: available -> sold; others: none).
  std::vector<SkuLevels> Levels() const;
  // Forgets settled orders whose forget time + kOrderPruneMarginNanos has
  // come by wall_high, folding their effect into the base counters.
  void PruneClosed(std::int64_t retention_nanos);

  // Folds one verified record in, in file order, checking the rule a live
  // engine keeps (docs/design.md, "Recovery checks the rule"): a take,
  // take-up-to or reserve line leaves the SKU at or above the floor in
  // effect; a restock leaves it at most kLevelMax; a commit, cancel or
  // expiry finds its order HELD and a return finds it COMMITTED (same
  // deadline tag); a reserve does not reuse the id of a HELD order; every
  // SKU index is defined and every value one the API would accept. A record
  // that breaks it is damage: DataLoss saying why, and the state is left as
  // it was before the record. REQUIRES: record.sequence == sequence + 1.
  absl::Status Apply(const Record& record);
  // Recomputes every SKU's `out` from `orders` (after loading a snapshot).
  absl::Status ComputeOut();

  bool operator==(const JournalState&) const = default;

 private:
  absl::Status ApplyStock(const Record& record);
  absl::Status ApplyReserve(const Record& record);
  absl::Status ApplyClose(const Record& record);
  // Forgets order `id` (present and settled), folding its effect into the base.
  void Retire(std::uint64_t id);
};
inline bool operator==(const SkuState& a, const SkuState& b) {
  return a.name == b.name && a.level == b.level && a.floor == b.floor && a.sold == b.sold && a.out == b.out;
}

// Serialises `state` into snapshot bytes (header, kSkus section, kEnd).
std::string EncodeSnapshot(const JournalState& state);
// Parses and verifies snapshot bytes.
absl::StatusOr<JournalState> DecodeSnapshot(std::string_view bytes);

// Writes `state` to dir/SnapshotFileName(state.sequence) atomically.
absl::Status WriteSnapshot(internal::FileSystem* fs, const std::string& dir, const JournalState& state);

}  // namespace flashstock::journal

#endif  // FLASHSTOCK_SNAPSHOT_H_
