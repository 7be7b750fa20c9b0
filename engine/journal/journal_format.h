// The journal's and snapshot's on-disk layout: the constants and the encode /
// decode helpers both the writer and the reader use (leveldb's
// db/log_format.h). Byte-level spec: docs/journal-format.md.
//
// All integers are little-endian. A journal directory holds segment files
// `journal-<first seq, 20 decimal digits>.log` and snapshot files
// `snapshot-<covered seq, 20 digits>.snap`.
//
// Segment = header (kSegmentHeaderBytes) then records back to back. A record:
//
//   +-----------+-----------+---------+----------+--------------+-----------+
//   | checksum  | length    | type    | flags    | sequence     | payload   |
//   | u32       | u16       | u8      | u8 (= 0) | u64          | length B  |
//   +-----------+-----------+---------+----------+--------------+-----------+
//
// checksum = low 32 bits of XXH3-64 over every byte after the checksum field
// (length .. end of payload). length is a multiple of 8, so records stay
// 8-byte aligned. Sequence numbers are global, assigned by the journal thread
// in write order, and consecutive across segments.
#ifndef FLASHSTOCK_JOURNAL_FORMAT_H_
#define FLASHSTOCK_JOURNAL_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "flashstock/limits.h"

namespace flashstock::journal {

// "FLSJRNL1" and "FLSSNAP1" read as little-endian u64.
inline constexpr std::uint64_t kSegmentMagic = 0x314C4E524A534C46ull;
inline constexpr std::uint64_t kSnapshotMagic = 0x3150414E53534C46ull;
// Segments are at version 1. Snapshots are at version 2: one order entry per
// id (the newest incarnation), no orphan closes, pruned by the one forget
// rule (docs/journal-format.md, "Snapshot versions"). A version 1 snapshot
// still loads: its orphans are dropped and only each id's newest
// incarnation (latest deadline) is kept, the others folded into the base.
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::uint32_t kSnapshotVersion = 2;
inline constexpr std::uint32_t kSnapshotVersionOldest = 1;

// Segment header: magic u64, version u32, checksum u32 (over the other 24
// bytes, checksum field taken as 0), first_sequence u64, reserved u64 (0).
inline constexpr std::size_t kSegmentHeaderBytes = 32;
inline constexpr std::size_t kRecordHeaderBytes = 16;
// A write cut short by a crash or a SIGKILL ends on a multiple of this many
// bytes of the file: disks write whole 512-byte sectors, and the kernel
// copies a write page by page (pages are multiples of it).
inline constexpr std::size_t kTornWriteAlignment = 512;

// Record types. 0 is never written: a zero-filled region (pages a crash left
// allocated but unwritten) reads as type 0 and is recognised as a torn tail.
enum class RecordType : std::uint8_t {
  kZero = 0,
  kDefine = 1,    // payload: index u32, name_bytes u8, 3 zero bytes, level i64, floor i64, name, zero pad
  kTake = 2,      // payload: sku u32, 0 u32, quantity i64 (> 0): level -= quantity
  kRestock = 3,   // payload: sku u32, 0 u32, quantity i64 (> 0): level += quantity
  kSetFloor = 4,  // payload: sku u32, 0 u32, floor i64 (<= 0): floor = value
  // Orders (docs/journal-format.md, "Order records"; docs/design.md, "Orders
  // in the journal"). Wall-clock times are unix nanoseconds.
  kOrderReserve = 5,   // id u64, deadline i64, line_count u32, 0 u32, lines (sku u32, qty u32)
  kOrderCommit = 6,    // id u64, tag i64 (the reserve's deadline), at i64
  kOrderCancel = 7,    // as commit
  kOrderReturn = 8,    // as commit
  kOrderExpire = 9,    // as commit
  kOrderReserveFailed = 10,  // id u64, at i64, line_count u32, short_line u32, available i64, lines
};
inline constexpr std::uint8_t kRecordTypeLastReserved = 10;
inline bool IsOrderClose(RecordType t) {
  return t == RecordType::kOrderCommit || t == RecordType::kOrderCancel || t == RecordType::kOrderReturn ||
         t == RecordType::kOrderExpire;
}

// Order record payloads: fixed part, then 8 bytes per line.
inline constexpr std::size_t kOrderReserveFixedBytes = 24;
inline constexpr std::size_t kOrderCloseBytes = 24;
inline constexpr std::size_t kOrderFailedFixedBytes = 32;
inline constexpr std::size_t kOrderLineBytes = 8;
static_assert(kOrderFailedFixedBytes + kOrderLineBytes * kOrderLinesMax <= 0xFFFF,
              "the largest order record fits the u16 length");

// Fixed payload of take / restock / set-floor records.
inline constexpr std::size_t kStockPayloadBytes = 16;
inline constexpr std::size_t kStockRecordBytes = kRecordHeaderBytes + kStockPayloadBytes;
// Define payload before the name.
inline constexpr std::size_t kDefineFixedBytes = 24;

// The largest payload a record may claim. Stock records use 16 bytes and
// defines at most 24 + kNameBytesMax rounded up; the rest is headroom for
// orders' reserve records (order id, deadline, up to a few thousand lines).
// A reader refuses a larger length as corruption without reading further.
inline constexpr std::size_t kRecordPayloadBytesMax = 1u << 15;
static_assert(kRecordPayloadBytesMax <= 0xFFFF, "length fits the u16 field");
static_assert(kDefineFixedBytes + kNameBytesMax + 7 <= kRecordPayloadBytesMax,
              "a define of the longest name fits a record");
static_assert(kStockRecordBytes % 8 == 0, "records keep 8-byte alignment");

// Snapshot: header (kSnapshotHeaderBytes) then sections, each a section
// header (kSectionHeaderBytes) and a payload; the last section is kEnd.
//   header: magic u64, version u32, checksum u32 (over the 32 bytes with the
//           checksum field taken as 0), sequence u64 (every record <= it is
//           folded in), sku_count u64.
//   section header: type u32, 0 u32, length u64, checksum u64 (XXH3-64 of
//           the payload), 0 u64.
inline constexpr std::size_t kSnapshotHeaderBytes = 32;
inline constexpr std::size_t kSectionHeaderBytes = 32;
enum class SectionType : std::uint32_t {
  kEnd = 0,
  kSkus = 1,       // per SKU in index order: level i64, floor i64, name_bytes u8, name
  kOrders = 2,     // orders the state remembers (open, closed, failed), one per id
  kSkuSold = 3,    // per SKU with units sold: index u32, 0 u32, sold i64
};

// Checksums: XXH3-64 from libxxhash (see docs/journal-format.md for why not CRC32C).
std::uint64_t Hash64(const void* data, std::size_t size);
inline std::uint32_t Checksum32(const void* data, std::size_t size) {
  return static_cast<std::uint32_t>(Hash64(data, size));
}

// Little-endian helpers (x86-64 and arm64 are little-endian; asserted).
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "format helpers assume little-endian");
template <typename T>
inline void Put(char* dst, T value) { std::memcpy(dst, &value, sizeof(T)); }
template <typename T>
inline T Get(const char* src) {
  T value;
  std::memcpy(&value, src, sizeof(T));
  return value;
}

// Rounds a payload length up to the 8-byte record alignment.
constexpr std::size_t PaddedLength(std::size_t n) { return (n + 7) & ~std::size_t{7}; }

// Writes a record's header and checksum at `dst` around a payload already
// placed at dst + kRecordHeaderBytes. REQUIRES: length % 8 == 0.
inline void SealRecord(char* dst, RecordType type, std::uint16_t length, std::uint64_t sequence) {
  Put<std::uint16_t>(dst + 4, length);
  Put<std::uint8_t>(dst + 6, static_cast<std::uint8_t>(type));
  Put<std::uint8_t>(dst + 7, 0);
  Put<std::uint64_t>(dst + 8, sequence);
  Put<std::uint32_t>(dst, Checksum32(dst + 4, kRecordHeaderBytes - 4 + length));
}

// Encodes a 32-byte stock record (take, restock, set-floor) at dst.
inline void EncodeStockRecord(char* dst, RecordType type, std::uint64_t sequence,
                              std::uint32_t sku, std::int64_t value) {
  char* p = dst + kRecordHeaderBytes;
  Put<std::uint32_t>(p, sku);
  Put<std::uint32_t>(p + 4, 0);
  Put<std::int64_t>(p + 8, value);
  SealRecord(dst, type, kStockPayloadBytes, sequence);
}

// Bytes a define record of this name occupies.
inline std::size_t DefineRecordBytes(std::size_t name_bytes) {
  return kRecordHeaderBytes + PaddedLength(kDefineFixedBytes + name_bytes);
}
inline void EncodeDefineRecord(char* dst, std::uint64_t sequence, std::uint32_t index,
                               std::string_view name, std::int64_t level, std::int64_t floor) {
  const std::size_t length = PaddedLength(kDefineFixedBytes + name.size());
  char* p = dst + kRecordHeaderBytes;
  std::memset(p, 0, length);
  Put<std::uint32_t>(p, index);
  Put<std::uint8_t>(p + 4, static_cast<std::uint8_t>(name.size()));
  Put<std::int64_t>(p + 8, level);
  Put<std::int64_t>(p + 16, floor);
  std::memcpy(p + kDefineFixedBytes, name.data(), name.size());
  SealRecord(dst, RecordType::kDefine, static_cast<std::uint16_t>(length), sequence);
}

// One order line as journaled: SKU index and quantity (1..kOrderLineQuantityMax).
struct OrderLineRecord {
  std::uint32_t sku;
  std::uint32_t quantity;
  friend bool operator==(const OrderLineRecord&, const OrderLineRecord&) = default;
};

inline std::size_t OrderReserveRecordBytes(std::size_t lines) {
  return kRecordHeaderBytes + kOrderReserveFixedBytes + kOrderLineBytes * lines;
}
inline std::size_t OrderFailedRecordBytes(std::size_t lines) {
  return kRecordHeaderBytes + kOrderFailedFixedBytes + kOrderLineBytes * lines;
}
inline constexpr std::size_t kOrderCloseRecordBytes = kRecordHeaderBytes + kOrderCloseBytes;

inline void PutLines(char* p, const OrderLineRecord* lines, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    Put<std::uint32_t>(p + 8 * i, lines[i].sku);
    Put<std::uint32_t>(p + 8 * i + 4, lines[i].quantity);
  }
}
inline void EncodeOrderReserveRecord(char* dst, std::uint64_t sequence, std::uint64_t id, std::int64_t deadline,
                                     const OrderLineRecord* lines, std::size_t n) {
  char* p = dst + kRecordHeaderBytes;
  Put<std::uint64_t>(p, id);
  Put<std::int64_t>(p + 8, deadline);
  Put<std::uint32_t>(p + 16, static_cast<std::uint32_t>(n));
  Put<std::uint32_t>(p + 20, 0);
  PutLines(p + kOrderReserveFixedBytes, lines, n);
  SealRecord(dst, RecordType::kOrderReserve, static_cast<std::uint16_t>(kOrderReserveFixedBytes + 8 * n), sequence);
}
inline void EncodeOrderCloseRecord(char* dst, RecordType type, std::uint64_t sequence, std::uint64_t id,
                                   std::int64_t tag, std::int64_t at) {
  char* p = dst + kRecordHeaderBytes;
  Put<std::uint64_t>(p, id);
  Put<std::int64_t>(p + 8, tag);
  Put<std::int64_t>(p + 16, at);
  SealRecord(dst, type, kOrderCloseBytes, sequence);
}
inline void EncodeOrderFailedRecord(char* dst, std::uint64_t sequence, std::uint64_t id, std::int64_t at,
                                    std::uint32_t short_line, std::int64_t available, const OrderLineRecord* lines,
                                    std::size_t n) {
  char* p = dst + kRecordHeaderBytes;
  Put<std::uint64_t>(p, id);
  Put<std::int64_t>(p + 8, at);
  Put<std::uint32_t>(p + 16, static_cast<std::uint32_t>(n));
  Put<std::uint32_t>(p + 20, short_line);
  Put<std::int64_t>(p + 24, available);
  PutLines(p + kOrderFailedFixedBytes, lines, n);
  SealRecord(dst, RecordType::kOrderReserveFailed, static_cast<std::uint16_t>(kOrderFailedFixedBytes + 8 * n),
             sequence);
}

// The 32-byte segment header.
void EncodeSegmentHeader(char* dst, std::uint64_t first_sequence);

// File names.
std::string SegmentFileName(std::uint64_t first_sequence);
std::string SnapshotFileName(std::uint64_t sequence);
// Parses a name made by the functions above; false for any other file.
bool ParseSegmentFileName(std::string_view name, std::uint64_t* first_sequence);
bool ParseSnapshotFileName(std::string_view name, std::uint64_t* sequence);

}  // namespace flashstock::journal

#endif  // FLASHSTOCK_JOURNAL_FORMAT_H_
