// libFuzzer target for the journal reader and the snapshot decoder: any
// bytes must be read without a crash, an overread or undefined behaviour,
// and a record the reader returns must satisfy what replay relies on.
//
// Input: byte 0 selects the mode (bit 0: segment read as the newest one;
// bit 1: decode as a snapshot instead); the rest is the file.
// Build and run: tests/fuzz/run_journal_fuzz.sh SECONDS
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "journal/journal_reader.h"
#include "journal/snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace flashstock::journal;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode & 2) {
    absl::StatusOr<JournalState> state = DecodeSnapshot(bytes);
    if (state.ok() && state->skus.size() > flashstock::kSkusMaxLimit) std::abort();
    return 0;
  }
  SegmentReader reader(bytes, (mode & 1) != 0);
  if (!reader.ReadHeader()) {
    if (reader.end() != SegmentReader::End::kTornTail && reader.end() != SegmentReader::End::kCorrupt) std::abort();
    return 0;
  }
  JournalState state;
  state.sequence = reader.first_sequence() - 1;
  Record r;
  std::uint64_t end = kSegmentHeaderBytes;
  while (reader.Next(&r)) {
    if (r.offset != end || r.offset + r.bytes > bytes.size()) std::abort();
    end = r.offset + r.bytes;
    if (r.sequence != state.sequence + 1) std::abort();
    if (!state.Apply(r).ok()) state.sequence = r.sequence;  // an unknown SKU: replay refuses, fuzzing goes on
  }
  if (reader.valid_bytes() != end) std::abort();
  if (reader.end() == SegmentReader::End::kClean && end != bytes.size()) std::abort();
  if (reader.end() == SegmentReader::End::kNone) std::abort();
  if (reader.end() == SegmentReader::End::kTornTail && (mode & 1) == 0) std::abort();
  return 0;
}
