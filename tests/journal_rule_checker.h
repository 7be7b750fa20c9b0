// An independent checker of the rule "durable order follows
// dependence", over a journal's records in file order. It does not use the
// engine's own fold (JournalState): it keeps plain counters per SKU and
// plain order states, so a bug shared by recovery and the writer cannot hide
// from it.
//
// The rule, per record: replayed in file order, every take and every
// reserve line leaves its SKU at or above the floor in effect at that point;
// every commit, cancel and expire finds its order HELD; every return finds
// it COMMITTED; held + sold + available stays equal to defined + restocked -
// taken. Since the rule is per record, one forward pass checks every
// record-boundary prefix at once: the prefix ending after record k replays
// within the rule exactly when records 1..k have no violation, and the
// number of violating records is the number of places a crash cut could
// leave a journal whose replay breaks a floor or a lifecycle.
//
// A violating record is still applied (a take below the floor lowers the
// level; a close of an order not yet seen is kept and applied when its
// reserve arrives), so one early violation does not mask later ones and the
// final counters stay comparable with the engine's.
#ifndef FLASHSTOCK_TESTS_JOURNAL_RULE_CHECKER_H_
#define FLASHSTOCK_TESTS_JOURNAL_RULE_CHECKER_H_

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "journal/journal_reader.h"

namespace flashstock::testing {

class RuleChecker {
 public:
  struct Sku {
    std::string name;
    std::int64_t available = 0, floor = 0, held = 0, sold = 0;
    std::int64_t defined = 0, restocked = 0, taken = 0;  // for the conservation check
  };

  void Apply(const journal::Record& r) {
    ++records_;
    using journal::RecordType;
    switch (r.type) {
      case RecordType::kDefine:
        if (skus_.size() <= r.sku) skus_.resize(r.sku + 1);
        skus_[r.sku] = Sku{std::string(r.name), r.value, r.floor, 0, 0, r.value, 0, 0};
        break;
      case RecordType::kTake: {
        Sku* s = Find(r);
        if (s == nullptr) return;
        s->available -= r.value;
        s->taken += r.value;
        if (s->available < s->floor) Violation(r, "take", *s);
        break;
      }
      case RecordType::kRestock: {
        Sku* s = Find(r);
        if (s == nullptr) return;
        s->available += r.value;
        s->restocked += r.value;
        break;
      }
      case RecordType::kSetFloor: {
        Sku* s = Find(r);
        if (s == nullptr) return;
        s->floor = r.value;
        break;
      }
      case RecordType::kOrderReserve: {
        Order& o = orders_[{r.order_id, r.deadline}];
        o.lines.assign(r.lines, r.lines + r.line_count);
        o.state = OrderState::kHeld;
        const Sku* below = nullptr;  // the first line left below its floor
        for (const journal::OrderLineRecord& l : o.lines) {
          Sku* s = Find(r, l.sku);
          if (s == nullptr) return;
          s->available -= l.quantity;
          s->held += l.quantity;
          if (below == nullptr && s->available < s->floor) below = s;
        }
        if (below != nullptr) Violation(r, "reserve line", *below);
        // Closes that came first (each already counted as a violation).
        std::vector<RecordType> early = std::move(o.early_closes);
        o.early_closes.clear();
        for (RecordType t : early) Move(&o, t);
        break;
      }
      case RecordType::kOrderReserveFailed: break;  // holds nothing
      case RecordType::kOrderCommit:
      case RecordType::kOrderCancel:
      case RecordType::kOrderExpire:
      case RecordType::kOrderReturn: {
        Order& o = orders_[{r.order_id, r.deadline}];
        const OrderState from = r.type == RecordType::kOrderReturn ? OrderState::kCommitted : OrderState::kHeld;
        if (o.state != from) {
          Violation(r, o.state == OrderState::kNone ? "close before its reserve" : "close of a closed order",
                    Sku{});
          if (o.state == OrderState::kNone) {
            o.early_closes.push_back(r.type);
            return;
          }
        }
        if (o.state == from) Move(&o, r.type);
        break;
      }
      default: break;
    }
  }

  // Held + sold + available == defined + restocked - taken for every SKU
  // (the reserve/close bookkeeping moves units between the three, never
  // creates them); "" when it holds.
  std::string ConservationProblem() const {
    for (const Sku& s : skus_) {
      if (s.available + s.held + s.sold != s.defined + s.restocked - s.taken) return s.name + " not conserved";
      if (s.held < 0 || s.sold < 0) return s.name + " held or sold negative";
    }
    return "";
  }

  std::uint64_t records() const { return records_; }
  std::uint64_t violations() const { return violations_; }
  // The first few violations, one line each.
  const std::vector<std::string>& examples() const { return examples_; }
  const std::vector<Sku>& skus() const { return skus_; }

 private:
  static constexpr std::size_t kExamplesMax = 5;
  struct Order {
    OrderState state = OrderState::kNone;
    std::vector<journal::OrderLineRecord> lines;
    std::vector<journal::RecordType> early_closes;
  };

  Sku* Find(const journal::Record& r) { return Find(r, r.sku); }
  Sku* Find(const journal::Record& r, std::uint32_t sku) {
    if (sku < skus_.size() && !skus_[sku].name.empty()) return &skus_[sku];
    Violation(r, "unknown SKU", Sku{});
    return nullptr;
  }

  // Moves an order's stock for a close of type `t` (its state checked).
  void Move(Order* o, journal::RecordType t) {
    using journal::RecordType;
    for (const journal::OrderLineRecord& l : o->lines) {
      if (l.sku >= skus_.size()) continue;
      Sku& s = skus_[l.sku];
      switch (t) {
        case RecordType::kOrderCommit: s.held -= l.quantity, s.sold += l.quantity; break;
        case RecordType::kOrderReturn: s.sold -= l.quantity, s.available += l.quantity; break;
        default: s.held -= l.quantity, s.available += l.quantity; break;  // cancel, expire
      }
    }
    o->state = t == RecordType::kOrderCommit   ? OrderState::kCommitted
               : t == RecordType::kOrderReturn ? OrderState::kReturned
                                               : OrderState::kCancelled;
  }

  void Violation(const journal::Record& r, const char* what, const Sku& s) {
    ++violations_;
    if (examples_.size() >= kExamplesMax) return;
    std::ostringstream line;
    line << "record " << r.sequence << " at offset " << r.offset << ": " << what;
    if (!s.name.empty()) line << " leaves " << s.name << " at " << s.available << " below floor " << s.floor;
    if (r.type >= journal::RecordType::kOrderReserve) line << " (order " << r.order_id << ")";
    examples_.push_back(line.str());
  }

  std::vector<Sku> skus_;
  std::map<std::pair<std::uint64_t, std::int64_t>, Order> orders_;
  std::uint64_t records_ = 0;
  std::uint64_t violations_ = 0;
  std::vector<std::string> examples_;
};

}  // namespace flashstock::testing

#endif  // FLASHSTOCK_TESTS_JOURNAL_RULE_CHECKER_H_
