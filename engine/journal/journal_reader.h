// Reads one journal segment's bytes back into records, telling a torn tail
// (what a crash leaves) from damage (what a crash cannot leave), like
// leveldb's log::Reader.
//
// The rules (docs/journal-format.md, "Reading"):
//   - a clean end: the last record ends exactly at the end of the file;
//   - a torn tail: only in the newest segment, and only when the bytes from
//     the first unreadable record to the end of the file are an incomplete
//     record (the file ends inside its header or payload), are all zero
//     (allocated pages a crash never wrote), or are the record's bytes up to
//     a kTornWriteAlignment boundary inside it and zeros from there to the
//     end (a write into pre-extended space cut short: the kernel copies a
//     write page by page and stops between pages on SIGKILL, and a disk
//     writes whole sectors);
//   - anything else that does not read as the next record (checksum
//     mismatch, bad length or type, a sequence gap, a value out of range) is
//     corruption, at a byte offset.
// A reader never returns a record it has not fully verified.
#ifndef FLASHSTOCK_JOURNAL_READER_H_
#define FLASHSTOCK_JOURNAL_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "journal/journal_format.h"

namespace flashstock::journal {

// One verified record. `name` points into the segment's bytes.
struct Record {
  RecordType type = RecordType::kZero;
  std::uint64_t sequence = 0;
  std::uint32_t sku = 0;      // the SKU index (define: the index it gets)
  std::int64_t value = 0;     // take/restock: quantity; set-floor: the floor; define: level
  std::int64_t floor = 0;     // define only
  std::string_view name;      // define only
  std::uint64_t offset = 0;   // byte offset of the record in its file
  std::uint32_t bytes = 0;    // header + payload
  // Order records (types 5..10). Times are unix nanoseconds.
  std::uint64_t order_id = 0;
  std::int64_t deadline = 0;     // reserve: the hold's deadline; close: the reserve's deadline (its tag)
  std::int64_t at = 0;           // close, failed reserve: when
  std::uint32_t short_line = 0;  // failed reserve
  std::int64_t available = 0;    // failed reserve: available count seen on the short line
  std::uint32_t line_count = 0;  // reserve, failed reserve
  OrderLineRecord lines[kOrderLinesMax] = {};
};

class SegmentReader {
 public:
  enum class End { kNone, kClean, kTornTail, kCorrupt };

  // `bytes` must outlive the reader. `is_last`: the newest segment, the only
  // one allowed to end torn.
  SegmentReader(std::string_view bytes, bool is_last);

  // Parses the header. False on a torn or corrupt header (see end()).
  bool ReadHeader();
  std::uint64_t first_sequence() const { return first_sequence_; }

  // The next verified record, or false at the end (see end()).
  // REQUIRES: ReadHeader() returned true.
  bool Next(Record* record);

  End end() const { return end_; }
  // Bytes [0, valid_bytes()) hold the header and every verified record.
  std::uint64_t valid_bytes() const { return offset_; }
  // Bytes after valid_bytes() that were not applied (torn tail or damage).
  std::uint64_t dropped_bytes() const { return bytes_.size() - offset_; }
  // Why reading stopped early ("" at a clean end).
  const std::string& problem() const { return problem_; }
  std::uint64_t records() const { return records_; }

 private:
  bool Fail(bool incomplete, std::string why);
  bool RestIsZero() const;
  bool CutInsideRecord() const;

  std::string_view bytes_;
  bool is_last_;
  std::uint64_t offset_ = 0;
  // Where the record being read would end by its header's length (0 before
  // the header is read): a torn write can only cut inside it.
  std::uint64_t record_end_ = 0;
  std::uint64_t first_sequence_ = 0;
  std::uint64_t next_sequence_ = 0;
  std::uint64_t records_ = 0;
  End end_ = End::kNone;
  std::string problem_;
};

const char* EndName(SegmentReader::End end);

}  // namespace flashstock::journal

#endif  // FLASHSTOCK_JOURNAL_READER_H_
