// The order book's common parts: construction, the id -> shard map, line
// normalising, lookups, and the journaling helpers every operation uses.
#include "orders/order_book.h"

#include <algorithm>
#include <new>
#include <type_traits>

#include "absl/hash/hash.h"
#include "base/check.h"
#include "flashstock/internal/catalog.h"
#include "flashstock/validate.h"
#include "orders/expiry_tick.h"
#include "orders/order_slot.h"
#include "orders/timer_wheel.h"

namespace flashstock {

OrderBook::OrderBook(Catalog* catalog, const Clock* clock, std::uint32_t orders_max,
                     std::int64_t retention_ms)
    : catalog_(catalog),
      clock_(clock),
      capacity_(orders_max),
      retention_nanos_(retention_ms * 1'000'000),
      // Raw storage: a slot is constructed when first handed out, so an
      // engine sized for millions of orders costs address space, not memory,
      // until they come.
      slots_(static_cast<Slot*>(::operator new(sizeof(Slot) * std::size_t{orders_max},
                                               std::align_val_t{alignof(Slot)}))),
      shards_(new Shard[kOrderShards]),
      free_head_(kNoSlot) {
  static_assert(sizeof(Slot) == 2 * kCacheLineSize, "an order slot is two cache lines");
  static_assert(std::is_trivially_destructible_v<Slot>, "slots are freed without destruction");
  FLASHSTOCK_CHECK(catalog != nullptr);
  FLASHSTOCK_CHECK(clock != nullptr);
  FLASHSTOCK_CHECK(orders_max >= 1);
  FLASHSTOCK_CHECK(orders_max <= kOrdersMaxLimit);
  FLASHSTOCK_CHECK(ValidOrderRetentionMs(retention_ms));
  std::lock_guard<std::mutex> lock(sweep_mu_);
  wheel_ = std::make_unique<internal::TimerWheel>(orders_max, internal::TickFloor(clock_->NowNanos()));
}

OrderBook::~OrderBook() { StopExpiryThread(); }

void OrderBook::SetJournal(OrderJournal* journal) {
  if (journal != nullptr && tickets_ == nullptr) {
    static_assert(std::is_trivially_copyable_v<Tickets>, "tickets live in raw memory");
    tickets_.reset(static_cast<Tickets*>(::operator new(sizeof(Tickets) * std::size_t{capacity_})));
    // Slots in use already (restored) have no records to wait for.
    std::fill_n(tickets_.get(), fresh_.load(std::memory_order_relaxed), Tickets{});
  }
  journal_ = journal;
}

OrderEvent OrderBook::EventOf(const Slot& slot, OrderState state, std::int64_t now_nanos) const {
  OrderEvent e;
  e.state = state;
  e.id = slot.id;
  e.deadline_nanos = slot.deadline_nanos;
  e.at_nanos = now_nanos;
  if (state == OrderState::kHeld || state == OrderState::kFailed) {
    e.line_count = slot.line_count;
    for (std::uint32_t i = 0; i < slot.line_count; ++i) e.lines[i] = {slot.lines[i].sku, slot.lines[i].quantity};
  }
  if (state == OrderState::kFailed) {
    e.short_line = slot.short_line;
    e.available = slot.short_available;
  }
  return e;
}

OrderResult OrderBook::Acknowledge(OrderResult result, const OrderTicket* tickets, std::size_t count) {
  if (journal_ != nullptr && !journal_->WaitDurable(tickets, count)) return {Outcome::kReadOnly, result.state};
  return result;
}

std::size_t OrderBook::ShardIndex(std::size_t hash) {
  // High bits: flat_hash_map filters on the hash's low 7 bits, so shards
  // picked from those would share them and weaken its filtering.
  return hash >> (sizeof(std::size_t) * 8 - 6) & (kOrderShards - 1);
}

OrderBook::Shard& OrderBook::ShardFor(OrderId id) const {
  return shards_[ShardIndex(absl::Hash<OrderId>{}(id))];
}
static_assert(kOrderShards <= 64, "ShardFor takes the hash's top 6 bits");

OrderResult OrderBook::Normalise(std::span<const OrderLine> lines, Normalised* out) const {
  out->count = 0;
  for (const OrderLine& line : lines) {
    if (const Outcome o = ValidateOrderLineQuantity(line.quantity); o != Outcome::kOk) return {o};
    if (!catalog_->Contains(line.sku.index)) return {Outcome::kUnknownSku};
    // Insertion into a short sorted array, summing duplicates.
    std::uint32_t at = 0;
    while (at < out->count && out->lines[at].sku < line.sku.index) ++at;
    if (at < out->count && out->lines[at].sku == line.sku.index) {
      const std::int64_t sum = std::int64_t{out->lines[at].quantity} + line.quantity;
      if (const Outcome o = ValidateOrderLineQuantity(sum); o != Outcome::kOk) return {o};
      out->lines[at].quantity = static_cast<std::uint32_t>(sum);
      continue;
    }
    if (const Outcome o = ValidateLineCount(out->count + 1); o != Outcome::kOk) return {o};
    std::move_backward(out->lines.begin() + at, out->lines.begin() + out->count,
                       out->lines.begin() + out->count + 1);
    out->lines[at] = {line.sku.index, static_cast<std::uint32_t>(line.quantity)};
    ++out->count;
  }
  return {Outcome::kOk};
}

std::optional<OrderInfo> OrderBook::Get(OrderId id) const {
  Shard& shard = ShardFor(id);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.ids.find(id);
  if (it == shard.ids.end()) return std::nullopt;
  const Slot& slot = slots_[it->second];
  OrderInfo info;
  // Acquire: as in Decide. A moving state reports its winner.
  info.state = StateOf(slot.state.load(std::memory_order_acquire));
  info.deadline_nanos = slot.deadline_nanos;
  info.line_count = slot.line_count;
  for (std::uint32_t i = 0; i < slot.line_count; ++i) {
    info.lines[i] = {SkuHandle{slot.lines[i].sku}, slot.lines[i].quantity};
  }
  return info;
}

}  // namespace flashstock
