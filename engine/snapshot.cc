#include "snapshot.h"

#include "absl/strings/str_cat.h"

namespace flashstock::journal {

absl::Status JournalState::Apply(const Record& r) {
  switch (r.type) {
    case RecordType::kDefine:
      if (r.sku != skus.size()) {
        return absl::DataLossError(absl::StrCat("define of index ", r.sku, " but ", skus.size(), " SKUs exist"));
      }
      if (skus.size() >= kSkusMaxLimit) return absl::DataLossError("more SKUs than kSkusMaxLimit");
      skus.push_back(SkuState{std::string(r.name), r.value, r.floor});
      break;
    case RecordType::kTake:
    case RecordType::kRestock:
    case RecordType::kSetFloor: {
      if (r.sku >= skus.size()) {
        return absl::DataLossError(absl::StrCat("record for undefined SKU index ", r.sku));
      }
      SkuState& s = skus[r.sku];
      const std::uint64_t level = static_cast<std::uint64_t>(s.level);
      const std::uint64_t q = static_cast<std::uint64_t>(r.value);
      if (r.type == RecordType::kTake) s.level = static_cast<std::int64_t>(level - q);
      if (r.type == RecordType::kRestock) s.level = static_cast<std::int64_t>(level + q);
      if (r.type == RecordType::kSetFloor) s.floor = r.value;
      break;
    }
    default: return absl::DataLossError("unsupported record type");
  }
  sequence = r.sequence;
  return absl::OkStatus();
}

std::string EncodeSnapshot(const JournalState& state) {
  std::string skus;
  skus.reserve(state.skus.size() * 40);
  char buf[17];
  for (const SkuState& s : state.skus) {
    Put<std::int64_t>(buf, s.level);
    Put<std::int64_t>(buf + 8, s.floor);
    Put<std::uint8_t>(buf + 16, static_cast<std::uint8_t>(s.name.size()));
    skus.append(buf, 17);
    skus.append(s.name);
  }
  std::string out(kSnapshotHeaderBytes, '\0');
  Put<std::uint64_t>(out.data(), kSnapshotMagic);
  Put<std::uint32_t>(out.data() + 8, kFormatVersion);
  Put<std::uint64_t>(out.data() + 16, state.sequence);
  Put<std::uint64_t>(out.data() + 24, state.skus.size());
  Put<std::uint32_t>(out.data() + 12, Checksum32(out.data(), kSnapshotHeaderBytes));
  auto section = [&out](SectionType type, std::string_view payload) {
    char h[kSectionHeaderBytes] = {};
    Put<std::uint32_t>(h, static_cast<std::uint32_t>(type));
    Put<std::uint64_t>(h + 8, payload.size());
    Put<std::uint64_t>(h + 16, Hash64(payload.data(), payload.size()));
    out.append(h, kSectionHeaderBytes);
    out.append(payload);
  };
  section(SectionType::kSkus, skus);
  section(SectionType::kEnd, {});
  return out;
}

absl::StatusOr<JournalState> DecodeSnapshot(std::string_view bytes) {
  if (bytes.size() < kSnapshotHeaderBytes) return absl::DataLossError("snapshot shorter than its header");
  char header[kSnapshotHeaderBytes];
  std::memcpy(header, bytes.data(), kSnapshotHeaderBytes);
  const std::uint32_t stored = Get<std::uint32_t>(header + 12);
  Put<std::uint32_t>(header + 12, 0);
  if (Get<std::uint64_t>(header) != kSnapshotMagic) return absl::DataLossError("bad snapshot magic");
  if (Get<std::uint32_t>(header + 8) != kFormatVersion) return absl::DataLossError("unsupported snapshot version");
  if (Checksum32(header, kSnapshotHeaderBytes) != stored) return absl::DataLossError("snapshot header checksum mismatch");
  JournalState state;
  state.sequence = Get<std::uint64_t>(header + 16);
  const std::uint64_t sku_count = Get<std::uint64_t>(header + 24);
  if (sku_count > kSkusMaxLimit) return absl::DataLossError("snapshot SKU count past kSkusMaxLimit");
  std::size_t off = kSnapshotHeaderBytes;
  bool saw_skus = false;
  while (true) {
    if (bytes.size() - off < kSectionHeaderBytes) return absl::DataLossError(absl::StrCat("snapshot truncated at offset ", off));
    const char* h = bytes.data() + off;
    const auto type = static_cast<SectionType>(Get<std::uint32_t>(h));
    const std::uint64_t length = Get<std::uint64_t>(h + 8);
    if (Get<std::uint32_t>(h + 4) != 0 || Get<std::uint64_t>(h + 24) != 0) {
      return absl::DataLossError(absl::StrCat("snapshot section header has nonzero reserved bytes at offset ", off));
    }
    off += kSectionHeaderBytes;
    if (length > bytes.size() - off) return absl::DataLossError(absl::StrCat("snapshot section past end at offset ", off));
    const std::string_view payload = bytes.substr(off, length);
    if (Hash64(payload.data(), payload.size()) != Get<std::uint64_t>(h + 16)) {
      return absl::DataLossError(absl::StrCat("snapshot section checksum mismatch at offset ", off - kSectionHeaderBytes));
    }
    off += length;
    if (type == SectionType::kEnd) break;
    if (type != SectionType::kSkus) {
      return absl::DataLossError(absl::StrCat("snapshot section type ", static_cast<std::uint32_t>(type), " not supported"));
    }
    saw_skus = true;
    state.skus.reserve(sku_count);
    std::size_t p = 0;
    for (std::uint64_t i = 0; i < sku_count; ++i) {
      if (payload.size() - p < 17) return absl::DataLossError("snapshot SKU section truncated");
      SkuState s;
      s.level = Get<std::int64_t>(payload.data() + p);
      s.floor = Get<std::int64_t>(payload.data() + p + 8);
      const std::size_t n = Get<std::uint8_t>(payload.data() + p + 16);
      p += 17;
      if (n < kNameBytesMin || n > kNameBytesMax || payload.size() - p < n) return absl::DataLossError("bad snapshot SKU name");
      // A level below the floor is legal: a raised floor only stops takes.
      if (s.floor > 0) return absl::DataLossError("bad snapshot SKU floor");
      s.name.assign(payload.data() + p, n);
      p += n;
      state.skus.push_back(std::move(s));
    }
    if (p != payload.size()) return absl::DataLossError("snapshot SKU section has trailing bytes");
  }
  if (!saw_skus) return absl::DataLossError("snapshot has no SKU section");
  if (off != bytes.size()) return absl::DataLossError("snapshot has bytes after its end section");
  return state;
}

absl::Status WriteSnapshot(internal::FileSystem* fs, const std::string& dir, const JournalState& state) {
  const std::string name = dir + "/" + SnapshotFileName(state.sequence);
  const std::string tmp = name + ".tmp";
  if (absl::Status s = internal::WriteWholeFile(fs, tmp, EncodeSnapshot(state)); !s.ok()) {
    (void)internal::RemoveFile(tmp);
    return s;
  }
  if (absl::Status s = internal::RenameFile(tmp, name); !s.ok()) return s;
  return fs->SyncDir(dir);
}

}  // namespace flashstock::journal
