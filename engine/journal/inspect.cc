#include "flashstock_journal/inspect.h"

#include <cstdarg>
#include <cstdio>
#include <string>

#include "flashstock/order.h"
#include "journal/recovery.h"

namespace flashstock::journal {
namespace {

// printf into a std::string: the dump's lines keep one format each.
void Appendf(std::string* out, const char* format, ...) __attribute__((format(printf, 2, 3)));
void Appendf(std::string* out, const char* format, ...) {
  char buffer[512];
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  if (n > 0) out->append(buffer, static_cast<std::size_t>(n) < sizeof(buffer) ? n : sizeof(buffer) - 1);
}

const char* CloseName(RecordType type) {
  switch (type) {
    case RecordType::kOrderCommit: return "ORDER_COMMIT";
    case RecordType::kOrderCancel: return "ORDER_CANCEL";
    case RecordType::kOrderReturn: return "ORDER_RETURN";
    default: return "ORDER_EXPIRE";
  }
}

std::string RecordLine(const std::string& file, const Record& r) {
  std::string line;
  const auto offset = static_cast<unsigned long long>(r.offset);
  const auto seq = static_cast<unsigned long long>(r.sequence);
  switch (r.type) {
    case RecordType::kDefine:
      Appendf(&line, "%s %llu seq=%llu DEFINE index=%u name=%.*s level=%lld floor=%lld", file.c_str(), offset, seq,
              r.sku, static_cast<int>(r.name.size()), r.name.data(), static_cast<long long>(r.value),
              static_cast<long long>(r.floor));
      break;
    case RecordType::kOrderReserve:
    case RecordType::kOrderReserveFailed: {
      const bool failed = r.type == RecordType::kOrderReserveFailed;
      Appendf(&line, "%s %llu seq=%llu %s order=%llu %s=%lld", file.c_str(), offset, seq,
              failed ? "ORDER_RESERVE_FAILED" : "ORDER_RESERVE", static_cast<unsigned long long>(r.order_id),
              failed ? "at" : "deadline", static_cast<long long>(failed ? r.at : r.deadline));
      if (failed) Appendf(&line, " short_line=%u available=%lld", r.short_line, static_cast<long long>(r.available));
      for (std::uint32_t i = 0; i < r.line_count; ++i) Appendf(&line, " sku=%u:%u", r.lines[i].sku, r.lines[i].quantity);
      break;
    }
    case RecordType::kOrderCommit:
    case RecordType::kOrderCancel:
    case RecordType::kOrderReturn:
    case RecordType::kOrderExpire:
      Appendf(&line, "%s %llu seq=%llu %s order=%llu tag=%lld at=%lld", file.c_str(), offset, seq, CloseName(r.type),
              static_cast<unsigned long long>(r.order_id), static_cast<long long>(r.deadline),
              static_cast<long long>(r.at));
      break;
    default:
      Appendf(&line, "%s %llu seq=%llu %s sku=%u %s=%lld", file.c_str(), offset, seq,
              r.type == RecordType::kTake ? "TAKE" : r.type == RecordType::kRestock ? "RESTOCK" : "FLOOR", r.sku,
              r.type == RecordType::kSetFloor ? "floor" : "qty", static_cast<long long>(r.value));
  }
  return line;
}

void Count(RecordType type, JournalSummary* s) {
  switch (type) {
    case RecordType::kDefine: ++s->defines; break;
    case RecordType::kTake: ++s->takes; break;
    case RecordType::kRestock: ++s->restocks; break;
    case RecordType::kSetFloor: ++s->floors; break;
    case RecordType::kOrderReserve: ++s->reserves; break;
    case RecordType::kOrderCommit: ++s->commits; break;
    case RecordType::kOrderCancel: ++s->cancels; break;
    case RecordType::kOrderReturn: ++s->returns; break;
    case RecordType::kOrderExpire: ++s->expiries; break;
    case RecordType::kOrderReserveFailed: ++s->failed_reserves; break;
    default: break;
  }
}

}  // namespace

absl::StatusOr<JournalSummary> InspectJournal(const std::string& dir,
                                              const std::function<void(std::string_view line)>& on_record) {
  JournalSummary summary;
  RecoveryOptions options;
  options.repair = false;
  options.read_covered = true;
  options.on_record = [&](const std::string& file, const Record& r) {
    Count(r.type, &summary);
    if (on_record) on_record(RecordLine(file, r));
  };
  absl::StatusOr<Recovered> recovered = Recover(dir, options);
  if (!recovered.ok()) return recovered.status();
  summary.recovery = recovered->report.Summary();
  summary.skus = recovered->state.skus.size();
  summary.last_sequence = recovered->state.sequence;
  summary.orders_remembered = recovered->state.orders.size();
  for (const auto& [id, e] : recovered->state.orders) summary.open_holds += e.state == OrderState::kHeld ? 1 : 0;
  return summary;
}

}  // namespace flashstock::journal
