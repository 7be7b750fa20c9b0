#include "journal/journal_reader.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "flashstock/validate.h"

namespace flashstock::journal {

const char* EndName(SegmentReader::End end) {
  switch (end) {
    case SegmentReader::End::kNone: return "none";
    case SegmentReader::End::kClean: return "clean";
    case SegmentReader::End::kTornTail: return "torn tail";
    case SegmentReader::End::kCorrupt: return "corruption";
  }
  return "?";
}

SegmentReader::SegmentReader(std::string_view bytes, bool is_last) : bytes_(bytes), is_last_(is_last) {}

bool SegmentReader::RestIsZero() const {
  for (std::size_t i = offset_; i < bytes_.size(); ++i) {
    if (bytes_[i] != 0) return false;
  }
  return true;
}

// True when the bytes from a kTornWriteAlignment boundary inside the record
// being read to the end of the file are all zero, and bytes before the
// boundary are not: the record was being written when the write stopped.
bool SegmentReader::CutInsideRecord() const {
  std::size_t zero_from = bytes_.size();
  while (zero_from > offset_ && bytes_[zero_from - 1] == 0) --zero_from;
  const std::size_t cut = (zero_from + kTornWriteAlignment - 1) / kTornWriteAlignment * kTornWriteAlignment;
  return cut > offset_ && cut < record_end_ && cut <= bytes_.size();
}

// `incomplete`: the file ends inside the thing being read.
bool SegmentReader::Fail(bool incomplete, std::string why) {
  if (is_last_ && (incomplete || RestIsZero() || CutInsideRecord())) {
    end_ = End::kTornTail;
    problem_ = absl::StrCat(incomplete ? "incomplete " : "zero-filled ", why, " at end of newest segment");
  } else {
    end_ = End::kCorrupt;
    problem_ = std::move(why);
  }
  return false;
}

bool SegmentReader::ReadHeader() {
  offset_ = 0;
  if (bytes_.size() < kSegmentHeaderBytes) {
    return Fail(true, absl::StrCat("segment header (", bytes_.size(), " of ", kSegmentHeaderBytes, " bytes)"));
  }
  char header[kSegmentHeaderBytes];
  std::memcpy(header, bytes_.data(), kSegmentHeaderBytes);
  const std::uint32_t stored = Get<std::uint32_t>(header + 12);
  Put<std::uint32_t>(header + 12, 0);
  if (Get<std::uint64_t>(header) != kSegmentMagic) return Fail(false, "bad segment magic");
  if (Get<std::uint32_t>(header + 8) != kFormatVersion) {
    return Fail(false, absl::StrCat("unsupported segment version ", Get<std::uint32_t>(header + 8)));
  }
  if (Checksum32(header, kSegmentHeaderBytes) != stored) return Fail(false, "segment header checksum mismatch");
  first_sequence_ = Get<std::uint64_t>(header + 16);
  if (first_sequence_ == 0) return Fail(false, "segment first sequence is 0");
  next_sequence_ = first_sequence_;
  offset_ = kSegmentHeaderBytes;
  return true;
}

// The header fields are checked against each other before the length is
// trusted, so a damaged length in the newest segment's last record reads as
// corruption rather than as a torn tail: a crash cuts records short at a
// kTornWriteAlignment boundary, so a record that disagrees with itself and is
// followed by nonzero bytes, or by zeros from anywhere but such a boundary
// inside it, is damage.
namespace {

bool Bad(std::string* why, std::string problem) {
  *why = std::move(problem);
  return false;
}

// The length a record's header gives, checked against its type before the
// checksum is: a torn or damaged length must not make the reader trust bytes
// past the record. `remaining` counts from the header; fields the check
// reads are read only when present.
bool LengthFits(std::uint8_t type, std::uint16_t length, std::size_t remaining, const char* payload,
                std::string* why) {
  switch (static_cast<RecordType>(type)) {
    case RecordType::kTake:
    case RecordType::kRestock:
    case RecordType::kSetFloor:
      if (length != kStockPayloadBytes) return Bad(why, absl::StrCat("bad length ", length, " for a stock record"));
      return true;
    case RecordType::kDefine: {
      if (length < PaddedLength(kDefineFixedBytes + kNameBytesMin) ||
          length > PaddedLength(kDefineFixedBytes + kNameBytesMax) || length % 8 != 0) {
        return Bad(why, absl::StrCat("bad length ", length, " for a define record"));
      }
      if (remaining >= kRecordHeaderBytes + 8) {
        const std::size_t name_bytes = Get<std::uint8_t>(payload + 4);
        if (name_bytes < kNameBytesMin || name_bytes > kNameBytesMax ||
            length != PaddedLength(kDefineFixedBytes + name_bytes)) {
          return Bad(why, "define length disagrees with its name length");
        }
      }
      return true;
    }
    case RecordType::kOrderReserve:
    case RecordType::kOrderReserveFailed: {
      const std::size_t fixed =
          type == static_cast<std::uint8_t>(RecordType::kOrderReserve) ? kOrderReserveFixedBytes : kOrderFailedFixedBytes;
      if (length < fixed + kOrderLineBytes || length > fixed + kOrderLineBytes * kOrderLinesMax ||
          (length - fixed) % kOrderLineBytes != 0) {
        return Bad(why, absl::StrCat("bad length ", length, " for an order reserve record"));
      }
      if (remaining >= kRecordHeaderBytes + 20 &&
          Get<std::uint32_t>(payload + 16) != (length - fixed) / kOrderLineBytes) {
        return Bad(why, "order record length disagrees with its line count");
      }
      return true;
    }
    case RecordType::kOrderCommit:
    case RecordType::kOrderCancel:
    case RecordType::kOrderReturn:
    case RecordType::kOrderExpire:
      if (length != kOrderCloseBytes) return Bad(why, absl::StrCat("bad length ", length, " for an order close record"));
      return true;
    default:
      return Bad(why, absl::StrCat("unknown record type ", type));
  }
}

// Decodes a define's payload (its length checked) into *r; a problem, or null.
const char* DecodeDefine(const char* payload, std::uint16_t length, Record* r) {
  const std::size_t name_bytes = Get<std::uint8_t>(payload + 4);
  r->sku = Get<std::uint32_t>(payload);
  r->value = Get<std::int64_t>(payload + 8);
  r->floor = Get<std::int64_t>(payload + 16);
  // Damage if the API would refuse this define (validate.h): the name's
  // length is checked with the record's length, the level's ceiling and
  // the floor here.
  if (ValidateDefine(std::string_view(payload + kDefineFixedBytes, name_bytes), r->value, r->floor) != Outcome::kOk) {
    return "define level or floor the API refuses";
  }
  for (std::size_t i = kDefineFixedBytes + name_bytes; i < length; ++i) {
    if (payload[i] != 0) return "nonzero padding";
  }
  if (Get<std::uint8_t>(payload + 5) != 0 || Get<std::uint16_t>(payload + 6) != 0) return "nonzero reserved field";
  r->name = std::string_view(payload + kDefineFixedBytes, name_bytes);
  return nullptr;
}

// Decodes an order record's payload (reserve, failed reserve or close).
const char* DecodeOrder(const char* payload, Record* r) {
  r->sku = 0;
  r->value = 0;
  r->order_id = Get<std::uint64_t>(payload);
  if (r->order_id == 0) return "order id 0";
  r->deadline = 0;
  r->at = 0;
  r->short_line = 0;
  r->available = 0;
  r->line_count = 0;
  std::size_t lines_at = 0;
  if (r->type == RecordType::kOrderReserve) {
    r->deadline = Get<std::int64_t>(payload + 8);
    r->line_count = Get<std::uint32_t>(payload + 16);
    if (Get<std::uint32_t>(payload + 20) != 0) return "nonzero reserved field";
    lines_at = kOrderReserveFixedBytes;
  } else if (r->type == RecordType::kOrderReserveFailed) {
    r->at = Get<std::int64_t>(payload + 8);
    r->line_count = Get<std::uint32_t>(payload + 16);
    r->short_line = Get<std::uint32_t>(payload + 20);
    r->available = Get<std::int64_t>(payload + 24);
    if (r->short_line >= r->line_count) return "short line out of range";
    lines_at = kOrderFailedFixedBytes;
  } else {
    r->deadline = Get<std::int64_t>(payload + 8);
    r->at = Get<std::int64_t>(payload + 16);
  }
  // Lines are normalised: strictly increasing SKU index, quantities in range.
  for (std::uint32_t i = 0; i < r->line_count; ++i) {
    const char* l = payload + lines_at + kOrderLineBytes * i;
    r->lines[i] = {Get<std::uint32_t>(l), Get<std::uint32_t>(l + 4)};
    if (ValidateOrderLineQuantity(r->lines[i].quantity) != Outcome::kOk) return "order line quantity out of range";
    if (i > 0 && r->lines[i].sku <= r->lines[i - 1].sku) return "order lines not in SKU order";
  }
  return nullptr;
}

// Decodes a take, restock or set-floor payload.
const char* DecodeStock(const char* payload, Record* r) {
  r->sku = Get<std::uint32_t>(payload);
  if (Get<std::uint32_t>(payload + 4) != 0) return "nonzero reserved field";
  r->value = Get<std::int64_t>(payload + 8);
  const Outcome valid = r->type == RecordType::kSetFloor ? ValidateFloor(r->value) : ValidateQuantity(r->value);
  return valid != Outcome::kOk ? "value out of range" : nullptr;
}

}  // namespace

bool SegmentReader::Next(Record* r) {
  if (end_ != End::kNone) return false;
  const std::size_t remaining = bytes_.size() - offset_;
  if (remaining == 0) {
    end_ = End::kClean;
    return false;
  }
  if (remaining < kRecordHeaderBytes) {
    return Fail(true, absl::StrCat("record header at offset ", offset_));
  }
  const char* p = bytes_.data() + offset_;
  const std::uint16_t length = Get<std::uint16_t>(p + 4);
  const std::uint8_t type = Get<std::uint8_t>(p + 6);
  const std::uint64_t sequence = Get<std::uint64_t>(p + 8);
  record_end_ = offset_ + kRecordHeaderBytes + std::min<std::size_t>(length, kRecordPayloadBytesMax);
  const auto bad = [&](const std::string& why) {
    return Fail(false, absl::StrCat(why, " in record ", sequence, " at offset ", offset_));
  };
  if (type == 0 && length == 0 && Get<std::uint32_t>(p) == 0) {
    return Fail(false, absl::StrCat("zero record at offset ", offset_));
  }
  if (Get<std::uint8_t>(p + 7) != 0) return bad("nonzero flags");
  if (sequence != next_sequence_) return bad(absl::StrCat("sequence gap (expected ", next_sequence_, ")"));
  const char* payload = p + kRecordHeaderBytes;
  if (std::string why; !LengthFits(type, length, remaining, payload, &why)) return bad(why);
  if (remaining < kRecordHeaderBytes + length) {
    return Fail(true, absl::StrCat("record at offset ", offset_, " (", remaining, " of ",
                                   kRecordHeaderBytes + length, " bytes)"));
  }
  if (Checksum32(p + 4, kRecordHeaderBytes - 4 + length) != Get<std::uint32_t>(p)) {
    return bad("checksum mismatch");
  }
  // From here the bytes are what a writer wrote; a failure below is a writer
  // bug or a forged record, reported as corruption all the same.
  r->sequence = sequence;
  r->offset = offset_;
  r->bytes = static_cast<std::uint32_t>(kRecordHeaderBytes + length);
  r->type = static_cast<RecordType>(type);
  r->name = {};
  r->floor = 0;
  const char* problem = r->type == RecordType::kDefine          ? DecodeDefine(payload, length, r)
                        : r->type >= RecordType::kOrderReserve ? DecodeOrder(payload, r)
                                                               : DecodeStock(payload, r);
  if (problem != nullptr) return bad(problem);
  offset_ += kRecordHeaderBytes + length;
  ++next_sequence_;
  ++records_;
  return true;
}

}  // namespace flashstock::journal
