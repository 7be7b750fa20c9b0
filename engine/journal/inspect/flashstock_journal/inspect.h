// The journal's reader for tools (`flashstock journal verify` and `dump`):
// the one door to the journal that does not go through an Engine. It reads
// a journal directory and never changes it, and names nothing of the
// journal's internals, so a tool links it without seeing them.
#ifndef FLASHSTOCK_JOURNAL_INSPECT_H_
#define FLASHSTOCK_JOURNAL_INSPECT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace flashstock::journal {

// What a journal directory holds, as read.
struct JournalSummary {
  std::string recovery;  // one paragraph: snapshot, records, torn tail or damage
  // Records verified, by type.
  std::uint64_t defines = 0, takes = 0, restocks = 0, floors = 0;
  std::uint64_t reserves = 0, commits = 0, cancels = 0, returns = 0, expiries = 0, failed_reserves = 0;
  std::size_t skus = 0;
  std::uint64_t last_sequence = 0;
  std::size_t orders_remembered = 0;
  std::size_t open_holds = 0;
};

// Verifies every snapshot and segment of `dir`, including segments a
// snapshot covers, without repairing anything. `on_record` (may be empty)
// gets one line of text per verified record, in file order:
// "<file> <offset> seq=<n> <TYPE> <fields>" (docs/commands.md).
// Errors: the first damage (DataLoss naming the file and offset), or I/O.
absl::StatusOr<JournalSummary> InspectJournal(const std::string& dir,
                                              const std::function<void(std::string_view line)>& on_record);

}  // namespace flashstock::journal

#endif  // FLASHSTOCK_JOURNAL_INSPECT_H_
