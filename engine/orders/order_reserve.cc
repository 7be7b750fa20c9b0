// Reserve: claim a slot under the order id (or answer a retry as the first
// reserve was answered), then hold every line or none.
#include <algorithm>
#include <mutex>
#include <optional>

#include "flashstock/internal/catalog.h"
#include "flashstock/internal/escrow.h"
#include "flashstock/internal/stock_cell.h"
#include "flashstock/validate.h"
#include "orders/order_book.h"
#include "orders/order_slot.h"
#include "orders/prepared.h"

namespace flashstock {
namespace {

// Sweeps one reserve may run when it finds every slot busy (see Reserve).
constexpr int kReserveHelpsMax = 16;

}  // namespace

OrderResult OrderBook::Reserve(OrderId id, std::span<const OrderLine> lines, std::int64_t ttl_ms) {
  if (const Outcome o = ValidateReserveShape(id, ttl_ms, lines.size()); o != Outcome::kOk) return {o};
  Normalised norm;
  if (OrderResult r = Normalise(lines, &norm); !r.ok()) return r;
  // Journal room first: a refusal here has changed nothing.
  Prepared prepared(journal_);
  if (const Outcome o = prepared.Begin(/*reads_floor=*/true); o != Outcome::kOk) return {o};
  Shard& shard = ShardFor(id);
  Claim claim;
  if (const Outcome o = ClaimSlot(shard, id, norm, ttl_ms, prepared, &claim); o != Outcome::kOk) return {o};
  if (claim.index == kNoSlot) {
    prepared.Release();
    return Acknowledge(claim.answer, claim.waits, 2);
  }
  return HoldLines(shard, claim.index, norm, claim.now, prepared);
}

Outcome OrderBook::ClaimSlot(Shard& shard, OrderId id, const Normalised& norm, std::int64_t ttl_ms,
                             Prepared& prepared, Claim* claim) {
  int helps = 0;
  for (internal::Backoff backoff;; backoff.Wait()) {
    std::unique_lock<std::mutex> lock(shard.mu);
    auto it = shard.ids.find(id);
    if (it == shard.ids.end()) {
      const std::uint32_t index = Allocate();
      if (index == kNoSlot) {
        // Every slot busy. If the driver is only behind (on 2 cores with
        // many busy threads it gets a small share of the CPU), forgetting
        // what is due frees slots: run its sweep, outside the shard mutex
        // (the sweep takes shard mutexes), then look again. Again while a
        // sweep of ours frees slots that other reserves take first, up to
        // kReserveHelpsMax times; a sweep that frees nothing means full.
        if (helps == kReserveHelpsMax) return Outcome::kOrdersFull;
        lock.unlock();
        // The sweep journals its expiries through this thread's producer:
        // give our room back first (a reservation covers one push, and the
        // shared producer's is a held mutex), and take it again after.
        prepared.Release();
        ++helps;
        if (HelpSweep() == 0) helps = kReserveHelpsMax;
        if (const Outcome o = prepared.Begin(/*reads_floor=*/true); o != Outcome::kOk) return o;
        continue;
      }
      FillSlot(shard, index, id, norm, ttl_ms, claim);
      return Outcome::kOk;
    }
    // A retry (or a concurrent duplicate) of a known id.
    if (const std::optional<Outcome> o = AnswerRetry(it->second, norm, claim); o.has_value()) return *o;
  }
}

void OrderBook::FillSlot(Shard& shard, std::uint32_t index, OrderId id, const Normalised& norm,
                         std::int64_t ttl_ms, Claim* claim) {
  Slot& slot = slots_[index];
  slot.id = id;
  // The one clock reading of this reserve: the deadline, and the
  // failure's time if a line is short (steady_clock costs ~50-75 ns on
  // this VM).
  claim->now = clock_->NowNanos();
  slot.deadline_nanos = claim->now + ttl_ms * 1'000'000;
  slot.line_count = static_cast<std::uint8_t>(norm.count);
  std::copy_n(norm.lines.begin(), norm.count, slot.lines);
  // Relaxed: published with the other fields by the mutex (edge 1).
  slot.state.store(StateWord(OrderState::kReserving), std::memory_order_relaxed);
  shard.ids.emplace(id, index);
  claim->index = index;
}

std::optional<Outcome> OrderBook::AnswerRetry(std::uint32_t index, const Normalised& norm, Claim* claim) const {
  const Slot& slot = slots_[index];
  if (slot.line_count != norm.count || !std::equal(norm.lines.begin(), norm.lines.begin() + norm.count, slot.lines)) {
    return Outcome::kOrderConflict;
  }
  // Acquire: pairs with the release store of HELD/FAILED (edge 2).
  const std::uint32_t word = slot.state.load(std::memory_order_acquire);
  const OrderState state = StateOf(word);
  if (state == OrderState::kReserving) return std::nullopt;  // the first reserve is still moving stock
  if (journal_ != nullptr && (word & kMovingBit) != 0) return std::nullopt;  // a close's ticket is not there yet
  if (state == OrderState::kFailed) {
    claim->answer = {Outcome::kInsufficient, state, SkuHandle{slot.lines[slot.short_line].sku},
                     slot.short_available};
  } else {
    claim->answer = {Outcome::kOk, state};
  }
  if (journal_ != nullptr) {
    // The answer repeats what the journal says: it waits for those records.
    claim->waits[0] = tickets_[index].reserve;
    claim->waits[1] = state == OrderState::kFailed || state == OrderState::kHeld ? OrderTicket{}
                                                                                : tickets_[index].close;
  }
  return Outcome::kOk;
}

// Outside the mutex: move stock, line by line, in SKU order; all or none.
OrderResult OrderBook::HoldLines(Shard& shard, std::uint32_t index, const Normalised& norm, std::int64_t now,
                                 Prepared& prepared) {
  Slot& slot = slots_[index];
  for (std::uint32_t i = 0; i < norm.count; ++i) {
    const StockCell::Change change = HoldUnits(catalog_->cell(norm.lines[i].sku), norm.lines[i].quantity);
    if (change.ok) continue;
    for (std::uint32_t j = 0; j < i; ++j) catalog_->cell(norm.lines[j].sku).ReleaseHold(norm.lines[j].quantity);
    slot.short_line = static_cast<std::uint8_t>(i);
    slot.short_available = change.available;
    slot.changed_nanos.store(now, std::memory_order_relaxed);
    OrderTicket ticket;
    if (journal_ != nullptr) {
      // Journaled so that the id stays failed across a restart.
      ticket = prepared.Append(EventOf(slot, OrderState::kFailed, now));
      tickets_[index] = {ticket, {}};
    }
    // Release: publishes the failure fields (edge 2).
    slot.state.store(StateWord(OrderState::kFailed), std::memory_order_release);
    HandOff(shard, index);  // remembered for retention, then forgotten
    return Acknowledge({Outcome::kInsufficient, OrderState::kFailed, SkuHandle{norm.lines[i].sku}, change.available},
                       &ticket, 1);
  }
  OrderTicket ticket;
  if (journal_ != nullptr) {
    // Every line is held: the whole reserve is one record (all lines or none
    // on disk). Pushed before HELD is published, so any close of this order
    // is pushed after it and can find its ticket.
    ticket = prepared.Append(EventOf(slot, OrderState::kHeld, now));
    tickets_[index] = {ticket, {}};
  }
  // Release: pairs with acquire loads of the state (edge 2).
  slot.state.store(StateWord(OrderState::kHeld), std::memory_order_release);
  HandOff(shard, index);
  return Acknowledge({Outcome::kOk, OrderState::kHeld}, &ticket, 1);
}

}  // namespace flashstock
