#include "snapshot.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace flashstock::journal {
namespace {

// Precedence of an order's states as records fold in (any order).
int Rank(OrderState s) {
  switch (s) {
    case OrderState::kHeld: return 1;
    case OrderState::kCommitted:
    case OrderState::kCancelled:
    case OrderState::kExpired: return 2;
    case OrderState::kReturned: return 3;
    default: return 0;
  }
}

OrderState CloseState(RecordType t) {
  switch (t) {
    case RecordType::kOrderCommit: return OrderState::kCommitted;
    case RecordType::kOrderCancel: return OrderState::kCancelled;
    case RecordType::kOrderReturn: return OrderState::kReturned;
    default: return OrderState::kExpired;
  }
}

// Adds an order's effect on the counters (with sign +1 or -1) to `out`.
// Only a paired (reserved) order that is HELD or COMMITTED has one.
void AddEffect(const OrderEntry& e, std::vector<SkuLevels>* out) {
  if (!e.reserved) return;
  if (e.state != OrderState::kHeld && e.state != OrderState::kCommitted) return;
  for (std::uint32_t i = 0; i < e.line_count; ++i) {
    SkuLevels& l = (*out)[e.lines[i].sku];
    const std::int64_t q = e.lines[i].quantity;
    l.available = static_cast<std::int64_t>(static_cast<std::uint64_t>(l.available) - static_cast<std::uint64_t>(q));
    (e.state == OrderState::kHeld ? l.held : l.sold) += q;
  }
}

}  // namespace

std::vector<SkuLevels> JournalState::Levels() const {
  std::vector<SkuLevels> out(skus.size());
  for (std::size_t i = 0; i < skus.size(); ++i) out[i] = {skus[i].level, 0, skus[i].sold};
  for (const auto& [key, e] : orders) AddEffect(e, &out);
  return out;
}

void JournalState::PruneClosed(std::int64_t retention_nanos) {
  std::vector<OrderKey> gone;
  for (const auto& [key, e] : orders) {
    if (!e.reserved || e.state == OrderState::kHeld || e.state == OrderState::kNone) continue;
    // Saturating: changed + retention + margin may pass INT64_MAX.
    const std::int64_t wait = retention_nanos + kOrderPruneMarginNanos;
    if (e.changed > wall_high - wait) continue;
    if (wall_high < INT64_MIN + wait) continue;
    gone.push_back(key);
  }
  for (const OrderKey& key : gone) {
    const OrderEntry& e = orders[key];
    if (e.state == OrderState::kCommitted) {
      for (std::uint32_t i = 0; i < e.line_count; ++i) {
        SkuState& s = skus[e.lines[i].sku];
        s.level -= e.lines[i].quantity;
        s.sold += e.lines[i].quantity;
      }
    }
    orders.erase(key);
  }
}

std::size_t JournalState::DropOrphans() {
  std::size_t n = 0;
  for (auto it = orders.begin(); it != orders.end();) {
    if (!it->second.reserved) {
      orders.erase(it++);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

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
    case RecordType::kOrderReserve:
    case RecordType::kOrderReserveFailed: {
      for (std::uint32_t i = 0; i < r.line_count; ++i) {
        if (r.lines[i].sku >= skus.size()) {
          return absl::DataLossError(absl::StrCat("order ", r.order_id, " names undefined SKU index ", r.lines[i].sku));
        }
      }
      const bool failed = r.type == RecordType::kOrderReserveFailed;
      OrderEntry& e = orders[OrderKey{r.order_id, failed ? kFailedTag : r.deadline}];
      if (failed) {
        // The id failed again after being forgotten: keep the later failure.
        if (e.reserved && e.changed > r.at) break;
        e.state = OrderState::kFailed;
        e.changed = r.at;
        e.short_line = r.short_line;
        e.available = r.available;
        wall_high = std::max(wall_high, r.at);
      } else if (e.reserved) {
        // The same id reserved again with the very same deadline after being
        // forgotten (only with a stopped test clock): retire the old one.
        std::vector<SkuLevels> effect(skus.size());
        AddEffect(e, &effect);
        for (std::size_t i = 0; i < skus.size(); ++i) {
          skus[i].level += effect[i].available;
          skus[i].sold += effect[i].sold;
        }
        e = OrderEntry{};
        e.state = OrderState::kHeld;
      } else if (e.state == OrderState::kNone) {
        e.state = OrderState::kHeld;  // no close folded yet
      }
      e.reserved = true;
      e.line_count = r.line_count;
      std::copy_n(r.lines, r.line_count, e.lines.begin());
      break;
    }
    case RecordType::kOrderCommit:
    case RecordType::kOrderCancel:
    case RecordType::kOrderReturn:
    case RecordType::kOrderExpire: {
      OrderEntry& e = orders[OrderKey{r.order_id, r.deadline}];
      const OrderState target = CloseState(r.type);
      // Highest precedence wins, so the fold does not depend on record order.
      if (Rank(target) > Rank(e.state)) e.state = target;
      e.changed = std::max(e.changed, r.at);
      wall_high = std::max(wall_high, r.at);
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
  if (!state.orders.empty() || state.wall_high != INT64_MIN) {
    std::vector<std::pair<OrderKey, const OrderEntry*>> sorted;
    sorted.reserve(state.orders.size());
    for (const auto& [k, e] : state.orders) sorted.emplace_back(k, &e);
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return a.first.id != b.first.id ? a.first.id < b.first.id : a.first.deadline < b.first.deadline;
    });
    std::string orders(16, '\0');
    Put<std::int64_t>(orders.data(), state.wall_high);
    Put<std::uint64_t>(orders.data() + 8, sorted.size());
    char o[40 + kOrderLineBytes * kOrderLinesMax];
    for (const auto& [k, e] : sorted) {
      Put<std::uint64_t>(o, k.id);
      Put<std::int64_t>(o + 8, k.deadline);
      Put<std::int64_t>(o + 16, e->changed);
      Put<std::int64_t>(o + 24, e->available);
      Put<std::uint8_t>(o + 32, static_cast<std::uint8_t>(e->state));
      Put<std::uint8_t>(o + 33, e->reserved ? 1 : 0);
      Put<std::uint8_t>(o + 34, static_cast<std::uint8_t>(e->line_count));
      Put<std::uint8_t>(o + 35, 0);
      Put<std::uint32_t>(o + 36, e->short_line);
      PutLines(o + 40, e->lines.data(), e->line_count);
      orders.append(o, 40 + kOrderLineBytes * e->line_count);
    }
    section(SectionType::kOrders, orders);
  }
  std::string sold;
  for (std::size_t i = 0; i < state.skus.size(); ++i) {
    if (state.skus[i].sold == 0) continue;
    char b[16];
    Put<std::uint32_t>(b, static_cast<std::uint32_t>(i));
    Put<std::uint32_t>(b + 4, 0);
    Put<std::int64_t>(b + 8, state.skus[i].sold);
    sold.append(b, 16);
  }
  if (!sold.empty()) section(SectionType::kSkuSold, sold);
  section(SectionType::kEnd, {});
  return out;
}

namespace {
absl::Status DecodeOrderSection(SectionType type, std::string_view payload, JournalState* state) {
  const char* p = payload.data();
  if (type == SectionType::kSkuSold) {
    if (payload.size() % 16 != 0) return absl::DataLossError("snapshot sold section has a partial entry");
    for (std::size_t off = 0; off < payload.size(); off += 16) {
      const std::uint32_t index = Get<std::uint32_t>(p + off);
      if (index >= state->skus.size() || Get<std::uint32_t>(p + off + 4) != 0) {
        return absl::DataLossError("bad snapshot sold entry");
      }
      state->skus[index].sold = Get<std::int64_t>(p + off + 8);
    }
    return absl::OkStatus();
  }
  if (payload.size() < 16) return absl::DataLossError("snapshot order section truncated");
  state->wall_high = Get<std::int64_t>(p);
  const std::uint64_t count = Get<std::uint64_t>(p + 8);
  std::size_t off = 16;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (payload.size() - off < 40) return absl::DataLossError("snapshot order section truncated");
    const char* o = p + off;
    OrderKey key{Get<std::uint64_t>(o), Get<std::int64_t>(o + 8)};
    OrderEntry e;
    e.changed = Get<std::int64_t>(o + 16);
    e.available = Get<std::int64_t>(o + 24);
    const std::uint8_t st = Get<std::uint8_t>(o + 32);
    const std::uint8_t reserved = Get<std::uint8_t>(o + 33);
    e.line_count = Get<std::uint8_t>(o + 34);
    e.short_line = Get<std::uint32_t>(o + 36);
    e.state = static_cast<OrderState>(st);
    if (key.id == 0 || reserved > 1 || Get<std::uint8_t>(o + 35) != 0 || e.line_count > kOrderLinesMax ||
        st > static_cast<std::uint8_t>(OrderState::kFailed) || e.state == OrderState::kReserving ||
        e.state == OrderState::kNone || (reserved == 1) != (e.line_count > 0) ||
        (e.state == OrderState::kFailed) != (key.deadline == kFailedTag) ||
        (e.state == OrderState::kFailed && e.short_line >= e.line_count)) {
      return absl::DataLossError(absl::StrCat("bad snapshot order entry ", i));
    }
    e.reserved = reserved == 1;
    off += 40;
    if (payload.size() - off < kOrderLineBytes * e.line_count) return absl::DataLossError("snapshot order section truncated");
    for (std::uint32_t l = 0; l < e.line_count; ++l) {
      e.lines[l] = {Get<std::uint32_t>(p + off), Get<std::uint32_t>(p + off + 4)};
      off += kOrderLineBytes;
      if (e.lines[l].sku >= state->skus.size() || e.lines[l].quantity == 0 ||
          e.lines[l].quantity > kOrderLineQuantityMax || (l > 0 && e.lines[l].sku <= e.lines[l - 1].sku)) {
        return absl::DataLossError(absl::StrCat("bad line in snapshot order entry ", i));
      }
    }
    if (!state->orders.emplace(key, e).second) return absl::DataLossError("duplicate snapshot order entry");
  }
  if (off != payload.size()) return absl::DataLossError("snapshot order section has trailing bytes");
  return absl::OkStatus();
}
}  // namespace

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
    if (type == SectionType::kOrders || type == SectionType::kSkuSold) {
      if (!saw_skus) return absl::DataLossError("snapshot order section before the SKU section");
      if (absl::Status st = DecodeOrderSection(type, payload, &state); !st.ok()) return st;
      continue;
    }
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
