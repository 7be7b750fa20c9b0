// Restoring orders from the journal on open: open holds, failed reserves
// and closes, exactly as journaled (no concurrent callers).
#include <algorithm>
#include <mutex>

#include "flashstock/internal/catalog.h"
#include "flashstock/internal/stock_cell.h"
#include "base/check.h"
#include "orders/order_book.h"
#include "orders/order_slot.h"

namespace flashstock {

OrderResult OrderBook::ClaimRestored(OrderId id, std::span<const OrderLine> lines, std::int64_t deadline_nanos,
                                     Normalised* norm, Shard** shard, std::uint32_t* index) {
  if (id == 0 || lines.empty()) return {Outcome::kInvalidOrder};
  if (OrderResult r = Normalise(lines, norm); !r.ok()) return r;
  *shard = &ShardFor(id);
  std::lock_guard<std::mutex> lock((*shard)->mu);
  if ((*shard)->ids.contains(id)) return {Outcome::kOrderConflict};
  *index = Allocate();
  if (*index == kNoSlot) return {Outcome::kOrdersFull};
  Slot& slot = slots_[*index];
  slot.id = id;
  slot.deadline_nanos = deadline_nanos;
  slot.line_count = static_cast<std::uint8_t>(norm->count);
  std::copy_n(norm->lines.begin(), norm->count, slot.lines);
  (*shard)->ids.emplace(id, *index);
  return {Outcome::kOk};
}

OrderResult OrderBook::RestoreHold(OrderId id, std::span<const OrderLine> lines, std::int64_t deadline_nanos) {
  Normalised norm;
  Shard* shard = nullptr;
  std::uint32_t index = kNoSlot;
  if (OrderResult r = ClaimRestored(id, lines, deadline_nanos, &norm, &shard, &index); !r.ok()) return r;
  for (std::uint32_t i = 0; i < norm.count; ++i) catalog_->cell(norm.lines[i].sku).ForceHold(norm.lines[i].quantity);
  if (tickets_ != nullptr) tickets_[index] = {};
  slots_[index].state.store(StateWord(OrderState::kHeld), std::memory_order_release);
  HandOff(*shard, index);
  return {Outcome::kOk, OrderState::kHeld};
}

OrderResult OrderBook::RestoreFailed(OrderId id, std::span<const OrderLine> lines, std::uint32_t short_line,
                                     std::int64_t available) {
  if (id == 0 || lines.empty()) return {Outcome::kInvalidOrder};
  Normalised norm;
  if (OrderResult r = Normalise(lines, &norm); !r.ok()) return r;
  if (short_line >= norm.count) return {Outcome::kInvalidOrder};
  Shard* shard = nullptr;
  std::uint32_t index = kNoSlot;
  if (OrderResult r = ClaimRestored(id, lines, clock_->NowNanos(), &norm, &shard, &index); !r.ok()) return r;
  // No concurrent callers (REQUIRES on Restore*): the fields need no lock.
  Slot& slot = slots_[index];
  slot.short_line = static_cast<std::uint8_t>(short_line);
  slot.short_available = available;
  slot.changed_nanos.store(clock_->NowNanos(), std::memory_order_relaxed);
  if (tickets_ != nullptr) tickets_[index] = {};
  slot.state.store(StateWord(OrderState::kFailed), std::memory_order_release);
  HandOff(*shard, index);
  return {Outcome::kOk, OrderState::kFailed};
}

OrderResult OrderBook::RestoreChangedAt(OrderId id, std::int64_t changed_nanos) {
  Shard& shard = ShardFor(id);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.ids.find(id);
  if (it == shard.ids.end()) return {Outcome::kUnknownOrder};
  // Relaxed: no concurrent callers (REQUIRES above); Sweep reads it later.
  slots_[it->second].changed_nanos.store(changed_nanos, std::memory_order_relaxed);
  return {Outcome::kOk};
}

OrderResult OrderBook::RestoreClose(OrderId id, OrderState target) {
  FLASHSTOCK_CHECK(target == OrderState::kCommitted || target == OrderState::kCancelled ||
                   target == OrderState::kExpired || target == OrderState::kReturned);
  return Decide(id, target, false);
}

}  // namespace flashstock
