// The journal's active segment file: made with its header at a first
// sequence number, written a synced batch at a time, grown ahead, closed.
#ifndef FLASHSTOCK_JOURNAL_ACTIVE_SEGMENT_H_
#define FLASHSTOCK_JOURNAL_ACTIVE_SEGMENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "base/file.h"

namespace flashstock::journal {

// Thread-safety: none; the journal thread owns it.
class ActiveSegment {
 public:
  // `preallocate_bytes`: how far the file is grown ahead of its records
  // (base/file.h); 0: never. REQUIRES: fs outlives this.
  ActiveSegment(internal::FileSystem* fs, std::string dir, std::uint64_t preallocate_bytes);
  ~ActiveSegment() { Drop(); }
  ActiveSegment(const ActiveSegment&) = delete;
  ActiveSegment& operator=(const ActiveSegment&) = delete;

  // Creates the segment whose first record is `first_sequence`: its header
  // written and synced, and the directory synced, so the file survives a
  // crash. REQUIRES: no segment open.
  absl::Status Open(std::uint64_t first_sequence);
  // REQUIRES: a segment open.
  absl::Status Close();
  // Closes the segment, if one is open, ignoring errors: after a failure,
  // when nothing more is written, or at shutdown.
  void Drop();

  // Appends `size` bytes and fdatasyncs them; *sync_nanos is set to how long
  // the fdatasync took (left alone if the append failed). REQUIRES: open.
  absl::Status Write(const char* data, std::size_t size, std::int64_t* sync_nanos);
  // Grows the file ahead of its records, if preallocating. An optimisation
  // only: a failure (a full disk) loses nothing already synced.
  absl::Status Grow() { return file_->Grow(); }

  std::uint64_t first_sequence() const { return first_sequence_; }
  // Bytes in the segment: its header and every batch written.
  std::uint64_t bytes() const { return bytes_; }

 private:
  internal::FileSystem* const fs_;
  const std::string dir_;
  const std::uint64_t preallocate_bytes_;
  std::unique_ptr<internal::WritableFile> file_;
  std::uint64_t first_sequence_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace flashstock::journal

#endif  // FLASHSTOCK_JOURNAL_ACTIVE_SEGMENT_H_
