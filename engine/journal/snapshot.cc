#include "journal/snapshot.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "flashstock/validate.h"
#include "base/forget_rule.h"

namespace flashstock::journal {
namespace {

static_assert(kFailedTag == internal::kNoDeadline, "a failed reserve waits for no deadline");

OrderState CloseState(RecordType t) {
  switch (t) {
    case RecordType::kOrderCommit: return OrderState::kCommitted;
    case RecordType::kOrderCancel: return OrderState::kCancelled;
    case RecordType::kOrderReturn: return OrderState::kReturned;
    default: return OrderState::kExpired;
  }
}

// The order states that keep units out of available: HELD (as held) and
// COMMITTED (as sold, until returned or forgotten).
bool HoldsUnits(OrderState s) { return s == OrderState::kHeld || s == OrderState::kCommitted; }

absl::Status Damage(std::string why) { return absl::DataLossError(std::move(why)); }

// The live available count of a SKU: base level minus what orders hold.
// Both are in range in any state Apply accepted; the subtraction is checked
// all the same, so a forged snapshot cannot make it overflow.
bool Available(const SkuState& s, std::int64_t* available) {
  return !__builtin_sub_overflow(s.level, s.out, available);
}

}  // namespace

std::vector<SkuLevels> JournalState::Levels() const {
  std::vector<SkuLevels> out(skus.size());
  for (std::size_t i = 0; i < skus.size(); ++i) out[i] = {skus[i].level - skus[i].out, 0, skus[i].sold};
  for (const auto& [id, e] : orders) {
    if (!HoldsUnits(e.state)) continue;
    for (std::uint32_t i = 0; i < e.line_count; ++i) {
      (e.state == OrderState::kHeld ? out[e.lines[i].sku].held : out[e.lines[i].sku].sold) += e.lines[i].quantity;
    }
  }
  return out;
}

absl::Status JournalState::ComputeOut() {
  for (SkuState& s : skus) s.out = 0;
  for (const auto& [id, e] : orders) {
    if (!HoldsUnits(e.state)) continue;
    for (std::uint32_t i = 0; i < e.line_count; ++i) {
      SkuState& s = skus[e.lines[i].sku];
      std::int64_t available = 0;
      if (__builtin_add_overflow(s.out, std::int64_t{e.lines[i].quantity}, &s.out) || !Available(s, &available)) {
        return Damage(absl::StrCat("units held or sold by orders of SKU index ", e.lines[i].sku, " overflow"));
      }
    }
  }
  return absl::OkStatus();
}

// Forgets an order: a committed one's units become base sold units.
void JournalState::Retire(std::uint64_t id) {
  auto it = orders.find(id);
  const OrderEntry& e = it->second;
  if (HoldsUnits(e.state)) {
    for (std::uint32_t i = 0; i < e.line_count; ++i) {
      SkuState& s = skus[e.lines[i].sku];
      const std::int64_t q = e.lines[i].quantity;
      // Only settled orders retire, so this is COMMITTED: out and level
      // both drop by q (available unchanged) and the units count as sold.
      s.level -= q;
      s.out -= q;
      s.sold += q;
    }
  }
  orders.erase(it);
}

void JournalState::PruneClosed(std::int64_t retention_nanos) {
  std::vector<std::uint64_t> gone;
  for (const auto& [id, e] : orders) {
    if (e.state == OrderState::kHeld) continue;
    const std::int64_t forget_at = internal::OrderForgetAtNanos(e.changed, e.deadline, retention_nanos);
    if (internal::OrderForgottenAt(internal::SaturatingAdd(forget_at, kOrderPruneMarginNanos), wall_high)) {
      gone.push_back(id);
    }
  }
  for (std::uint64_t id : gone) Retire(id);
}

absl::Status JournalState::ApplyStock(const Record& r) {
  if (r.sku >= skus.size()) return Damage(absl::StrCat("record for undefined SKU index ", r.sku));
  SkuState& s = skus[r.sku];
  if (r.type == RecordType::kSetFloor) {
    if (ValidateFloor(r.value) != Outcome::kOk) return Damage(absl::StrCat("floor ", r.value, " out of range"));
    s.floor = r.value;
    return absl::OkStatus();
  }
  if (ValidateQuantity(r.value) != Outcome::kOk) return Damage(absl::StrCat("quantity ", r.value, " out of range"));
  std::int64_t available = 0;
  if (!Available(s, &available)) return Damage(absl::StrCat("SKU index ", r.sku, " level out of range"));
  if (r.type == RecordType::kTake) {
    // floor <= 0 < value: floor + value cannot overflow.
    if (available < s.floor + r.value) {
      return Damage(absl::StrCat("take of ", r.value, " from SKU index ", r.sku, " at available ", available,
                                 " goes below its floor ", s.floor));
    }
    s.level -= r.value;  // stays >= floor + out
    return absl::OkStatus();
  }
  // Not `available + value <= kLevelMax`: the engine checks that when the
  // restock is accepted, but applies it only once its record is sequenced
  // (docs/design.md, "Durable order follows dependence"), and give-backs
  // recorded before it may land in between. What must hold on disk as live
  // is the give-back invariant (limits.h): available + units owed back by
  // remembered orders (s.level) <= INT64_MAX.
  std::int64_t level = 0;
  if (__builtin_add_overflow(s.level, r.value, &level)) {
    return Damage(absl::StrCat("restock of ", r.value, " to SKU index ", r.sku, " at available ", available,
                               " overflows the level"));
  }
  s.level = level;
  return absl::OkStatus();
}

absl::Status JournalState::ApplyReserve(const Record& r) {
  const bool failed = r.type == RecordType::kOrderReserveFailed;
  if (ValidateLineCount(r.line_count) != Outcome::kOk) {
    return Damage(absl::StrCat("order ", r.order_id, " has ", r.line_count, " lines"));
  }
  // Check every line before changing anything: a refused record leaves the state as it was.
  for (std::uint32_t i = 0; i < r.line_count; ++i) {
    const OrderLineRecord& l = r.lines[i];
    if (l.sku >= skus.size()) return Damage(absl::StrCat("order ", r.order_id, " names undefined SKU index ", l.sku));
    if (ValidateOrderLineQuantity(l.quantity) != Outcome::kOk || (i > 0 && l.sku <= r.lines[i - 1].sku)) {
      return Damage(absl::StrCat("order ", r.order_id, " has a line the API would refuse"));
    }
    if (failed) continue;
    std::int64_t available = 0, out = 0;
    if (!Available(skus[l.sku], &available) || available < skus[l.sku].floor + std::int64_t{l.quantity} ||
        __builtin_add_overflow(skus[l.sku].out, std::int64_t{l.quantity}, &out)) {
      return Damage(absl::StrCat("reserve of order ", r.order_id, " takes ", l.quantity, " from SKU index ", l.sku,
                                 " at available ", available, " below its floor ", skus[l.sku].floor));
    }
  }
  if (failed && r.short_line >= r.line_count) return Damage(absl::StrCat("order ", r.order_id, " short line out of range"));
  auto it = orders.find(r.order_id);
  if (it != orders.end()) {
    if (it->second.state == OrderState::kHeld) {
      return Damage(absl::StrCat("reserve of order ", r.order_id, " while it is still HELD"));
    }
    Retire(r.order_id);  // settled and forgotten by the writer: this is a new incarnation
  }
  OrderEntry e;
  e.line_count = r.line_count;
  std::copy_n(r.lines, r.line_count, e.lines.begin());
  if (failed) {
    e.deadline = kFailedTag;
    e.state = OrderState::kFailed;
    e.changed = r.at;
    e.short_line = r.short_line;
    e.available = r.available;
    wall_high = std::max(wall_high, r.at);
  } else {
    e.deadline = r.deadline;
    e.state = OrderState::kHeld;
    for (std::uint32_t i = 0; i < r.line_count; ++i) skus[r.lines[i].sku].out += r.lines[i].quantity;
  }
  orders[r.order_id] = e;
  return absl::OkStatus();
}

absl::Status JournalState::ApplyClose(const Record& r) {
  const OrderState target = CloseState(r.type);
  const std::string verb = r.type == RecordType::kOrderCommit   ? "commit"
                          : r.type == RecordType::kOrderCancel ? "cancel"
                          : r.type == RecordType::kOrderReturn ? "return"
                                                               : "expiry";
  auto it = orders.find(r.order_id);
  if (it == orders.end()) return Damage(absl::StrCat(verb, " of unknown order ", r.order_id));
  OrderEntry& e = it->second;
  if (e.deadline != r.deadline) {
    return Damage(absl::StrCat(verb, " of order ", r.order_id, " names deadline ", r.deadline,
                               " but its reserve has ", e.deadline));
  }
  const OrderState from = target == OrderState::kReturned ? OrderState::kCommitted : OrderState::kHeld;
  if (e.state != from) {
    return Damage(absl::StrCat(verb, " of order ", r.order_id, " that is ", std::string(OrderStateName(e.state)),
                               ", not ", std::string(OrderStateName(from))));
  }
  // A commit keeps the units out (held -> sold); the others give them back.
  if (target != OrderState::kCommitted) {
    for (std::uint32_t i = 0; i < e.line_count; ++i) skus[e.lines[i].sku].out -= e.lines[i].quantity;
  }
  e.state = target;
  e.changed = r.at;
  wall_high = std::max(wall_high, r.at);
  return absl::OkStatus();
}

absl::Status JournalState::Apply(const Record& r) {
  absl::Status status = absl::OkStatus();
  switch (r.type) {
    case RecordType::kDefine:
      if (r.sku != skus.size()) {
        return Damage(absl::StrCat("define of index ", r.sku, " but ", skus.size(), " SKUs exist"));
      }
      if (skus.size() >= kSkusMaxLimit) return Damage("more SKUs than kSkusMaxLimit");
      if (const Outcome o = ValidateDefine(r.name, r.value, r.floor); o != Outcome::kOk) {
        return Damage(absl::StrCat("define the API refuses (", std::string(OutcomeCode(o)), ")"));
      }
      skus.push_back(SkuState{std::string(r.name), r.value, r.floor});
      break;
    case RecordType::kTake:
    case RecordType::kRestock:
    case RecordType::kSetFloor: status = ApplyStock(r); break;
    case RecordType::kOrderReserve:
    case RecordType::kOrderReserveFailed: status = ApplyReserve(r); break;
    case RecordType::kOrderCommit:
    case RecordType::kOrderCancel:
    case RecordType::kOrderReturn:
    case RecordType::kOrderExpire: status = ApplyClose(r); break;
    default: return Damage("unsupported record type");
  }
  if (!status.ok()) return status;
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
  Put<std::uint32_t>(out.data() + 8, kSnapshotVersion);
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
    std::vector<std::pair<std::uint64_t, const OrderEntry*>> sorted;
    sorted.reserve(state.orders.size());
    for (const auto& [id, e] : state.orders) sorted.emplace_back(id, &e);
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string orders(16, '\0');
    Put<std::int64_t>(orders.data(), state.wall_high);
    Put<std::uint64_t>(orders.data() + 8, sorted.size());
    char o[40 + kOrderLineBytes * kOrderLinesMax];
    for (const auto& [id, e] : sorted) {
      Put<std::uint64_t>(o, id);
      Put<std::int64_t>(o + 8, e->deadline);
      Put<std::int64_t>(o + 16, e->changed);
      Put<std::int64_t>(o + 24, e->available);
      Put<std::uint8_t>(o + 32, static_cast<std::uint8_t>(e->state));
      Put<std::uint8_t>(o + 33, 1);  // version 1's "reserved" flag: always set since version 2
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
// Version 1 kept closes without their reserve (orphans) and every
// incarnation of a reused id. Keeps the newest incarnation (latest
// deadline; a failure counts as older than any hold), folding the others'
// effect into the base counters as a prune would.
absl::Status KeepNewestIncarnation(std::uint64_t id, const OrderEntry& e, JournalState* state) {
  auto [it, inserted] = state->orders.emplace(id, e);
  if (inserted) return absl::OkStatus();
  const bool newer = e.deadline > it->second.deadline;
  const OrderEntry& older = newer ? it->second : e;
  if (older.state == OrderState::kHeld) return absl::DataLossError("snapshot holds two open incarnations of an order");
  if (older.state == OrderState::kCommitted) {
    for (std::uint32_t i = 0; i < older.line_count; ++i) {
      SkuState& s = state->skus[older.lines[i].sku];
      s.level -= older.lines[i].quantity;
      s.sold += older.lines[i].quantity;
    }
  }
  if (newer) it->second = e;
  return absl::OkStatus();
}

absl::Status DecodeOrderSection(SectionType type, std::string_view payload, std::uint32_t version,
                                JournalState* state) {
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
    const std::uint64_t id = Get<std::uint64_t>(o);
    OrderEntry e;
    e.deadline = Get<std::int64_t>(o + 8);
    e.changed = Get<std::int64_t>(o + 16);
    e.available = Get<std::int64_t>(o + 24);
    const std::uint8_t st = Get<std::uint8_t>(o + 32);
    const std::uint8_t reserved = Get<std::uint8_t>(o + 33);
    e.line_count = Get<std::uint8_t>(o + 34);
    e.short_line = Get<std::uint32_t>(o + 36);
    e.state = static_cast<OrderState>(st);
    const bool orphan = version == 1 && reserved == 0;  // a version 1 close without its reserve
    if (id == 0 || (reserved != 1 && !orphan) || Get<std::uint8_t>(o + 35) != 0 ||
        (!orphan && ValidateLineCount(e.line_count) != Outcome::kOk) || (orphan && e.line_count != 0) ||
        st > static_cast<std::uint8_t>(OrderState::kFailed) || e.state == OrderState::kReserving ||
        e.state == OrderState::kNone || (e.state == OrderState::kFailed) != (e.deadline == kFailedTag) ||
        (e.state == OrderState::kFailed && e.short_line >= e.line_count)) {
      return absl::DataLossError(absl::StrCat("bad snapshot order entry ", i, " at section offset ", off));
    }
    off += 40;
    if (payload.size() - off < kOrderLineBytes * e.line_count) return absl::DataLossError("snapshot order section truncated");
    for (std::uint32_t l = 0; l < e.line_count; ++l) {
      e.lines[l] = {Get<std::uint32_t>(p + off), Get<std::uint32_t>(p + off + 4)};
      off += kOrderLineBytes;
      if (e.lines[l].sku >= state->skus.size() || ValidateOrderLineQuantity(e.lines[l].quantity) != Outcome::kOk ||
          (l > 0 && e.lines[l].sku <= e.lines[l - 1].sku)) {
        return absl::DataLossError(absl::StrCat("bad line in snapshot order entry ", i));
      }
    }
    if (orphan) continue;
    if (version == 1) {
      if (absl::Status s = KeepNewestIncarnation(id, e, state); !s.ok()) return s;
    } else if (!state->orders.emplace(id, e).second) {
      return absl::DataLossError(absl::StrCat("duplicate snapshot order entry for id ", id));
    }
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
  const std::uint32_t version = Get<std::uint32_t>(header + 8);
  if (version < kSnapshotVersionOldest || version > kSnapshotVersion) {
    return absl::DataLossError(absl::StrCat("unsupported snapshot version ", version));
  }
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
      if (absl::Status st = DecodeOrderSection(type, payload, version, &state); !st.ok()) return st;
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
      if (payload.size() - p < n) return absl::DataLossError("snapshot SKU section truncated");
      s.name.assign(payload.data() + p, n);
      if (ValidateName(s.name) != Outcome::kOk) return absl::DataLossError(absl::StrCat("bad snapshot SKU name of index ", i));
      // A level below the floor is legal: a raised floor only stops takes.
      if (ValidateFloor(s.floor) != Outcome::kOk) return absl::DataLossError(absl::StrCat("bad snapshot SKU floor of index ", i));
      p += n;
      state.skus.push_back(std::move(s));
    }
    if (p != payload.size()) return absl::DataLossError("snapshot SKU section has trailing bytes");
  }
  if (!saw_skus) return absl::DataLossError("snapshot has no SKU section");
  if (off != bytes.size()) return absl::DataLossError("snapshot has bytes after its end section");
  for (std::size_t i = 0; i < state.skus.size(); ++i) {
    if (state.skus[i].sold < 0) return absl::DataLossError(absl::StrCat("negative sold count of SKU index ", i));
  }
  if (absl::Status s = state.ComputeOut(); !s.ok()) return s;
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
