#include "journal/journal_format.h"

#include <cstdio>

#define XXH_INLINE_ALL  // header-only use: no link dependency for installed consumers
#include <xxhash.h>

namespace flashstock::journal {

std::uint64_t Hash64(const void* data, std::size_t size) { return XXH3_64bits(data, size); }

void EncodeSegmentHeader(char* dst, std::uint64_t first_sequence) {
  Put<std::uint64_t>(dst, kSegmentMagic);
  Put<std::uint32_t>(dst + 8, kFormatVersion);
  Put<std::uint32_t>(dst + 12, 0);
  Put<std::uint64_t>(dst + 16, first_sequence);
  Put<std::uint64_t>(dst + 24, 0);
  Put<std::uint32_t>(dst + 12, Checksum32(dst, kSegmentHeaderBytes));
}

namespace {
std::string Numbered(const char* prefix, std::uint64_t n, const char* suffix) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s%020llu%s", prefix, static_cast<unsigned long long>(n), suffix);
  return buf;
}
bool ParseNumbered(std::string_view name, std::string_view prefix, std::string_view suffix,
                   std::uint64_t* n) {
  if (name.size() != prefix.size() + 20 + suffix.size()) return false;
  if (name.substr(0, prefix.size()) != prefix) return false;
  if (name.substr(prefix.size() + 20) != suffix) return false;
  std::uint64_t v = 0;
  for (char c : name.substr(prefix.size(), 20)) {
    if (c < '0' || c > '9') return false;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *n = v;
  return true;
}
}  // namespace

std::string SegmentFileName(std::uint64_t first_sequence) {
  return Numbered("journal-", first_sequence, ".log");
}
std::string SnapshotFileName(std::uint64_t sequence) {
  return Numbered("snapshot-", sequence, ".snap");
}
bool ParseSegmentFileName(std::string_view name, std::uint64_t* first_sequence) {
  return ParseNumbered(name, "journal-", ".log", first_sequence);
}
bool ParseSnapshotFileName(std::string_view name, std::uint64_t* sequence) {
  return ParseNumbered(name, "snapshot-", ".snap", sequence);
}

}  // namespace flashstock::journal
