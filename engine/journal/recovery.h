// Opening a journal directory: the newest snapshot, then every later record,
// folded into a JournalState. Also the engine behind `flashstock journal
// verify` and `dump`.
#ifndef FLASHSTOCK_RECOVERY_H_
#define FLASHSTOCK_RECOVERY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "journal/snapshot.h"

namespace flashstock::journal {

struct RecoveryOptions {
  // Open up to the first damage instead of refusing; the damaged file is cut
  // there and later segments are renamed *.dropped.
  bool salvage = false;
  // Cut a torn tail off the newest segment (and, with salvage, the damage)
  // so the directory reads clean next time. Off for verify/dump.
  bool repair = true;
  // Also read segments wholly covered by the snapshot (verify).
  bool read_covered = false;
  // Called for every verified record in order (dump). May be empty.
  std::function<void(const std::string& file, const Record&)> on_record;
  // The file system repairs are made durable through (tests inject faults);
  // null means the real one.
  internal::FileSystem* fs = nullptr;
};

struct RecoveryReport {
  std::string snapshot;             // file loaded, "" if none
  std::uint64_t snapshot_sequence = 0;
  std::uint64_t segments = 0;       // segment files read
  std::uint64_t records = 0;        // records verified
  std::uint64_t replayed = 0;       // records applied after the snapshot
  bool torn_tail = false;
  bool salvaged = false;
  std::string problem_file;         // where reading stopped early
  std::uint64_t problem_offset = 0;
  std::string problem;              // why
  std::uint64_t dropped_bytes = 0;  // bytes not applied (tail or damage, plus later segments)
  std::vector<std::string> dropped_files;

  // One human-readable paragraph.
  std::string Summary() const;
};

struct Recovered {
  JournalState state;
  RecoveryReport report;
};

// Reads `dir`. Fails with DataLoss naming the file and offset on damage
// (unless salvage), NotFound if `dir` does not exist.
absl::StatusOr<Recovered> Recover(const std::string& dir, const RecoveryOptions& options);

// What recovery hands the folded journal back through: the engine
// implements it over its catalog and order book, so the journal knows
// neither. Replay calls ApplySku for every SKU in index order, then
// ApplyOrder for every remembered order (the newest incarnation of its id),
// open holds first (they must all fit), then by id, so a replay is
// deterministic. A non-OK status stops it and is returned.
class RecoveryApplier {
 public:
  virtual ~RecoveryApplier() = default;
  virtual absl::Status ApplySku(std::uint32_t index, const SkuState& sku) = 0;
  virtual absl::Status ApplyOrder(std::uint64_t id, const OrderEntry& order) = 0;
};
absl::Status Replay(const JournalState& state, RecoveryApplier& applier);

// Folds segments [after, through] of `dir` into `state` (the checkpointer's
// incremental catch-up). Records <= state->sequence are skipped. Every
// segment it reads must be complete and intact.
absl::Status CatchUp(const std::string& dir, std::uint64_t through, JournalState* state);

// Segment files of `dir` sorted by first sequence.
struct SegmentFile {
  std::uint64_t first_sequence;
  std::string name;
};
absl::StatusOr<std::vector<SegmentFile>> ListSegments(const std::string& dir);

}  // namespace flashstock::journal

#endif  // FLASHSTOCK_RECOVERY_H_
