// The reference model of the differential test (differential_test.cc): the
// engine's documented contract as plain maps, single-threaded, no journal.
// Each change returns the answer the engine must give. Times are the test's
// ManualClock readings (nanoseconds, whole milliseconds).
//
// Two things the contract leaves to timing are kept as intervals and
// settled by asking the engine (Resolver), never guessed:
//   - an order is forgotten at the first sweep at or after its forget time,
//     which is its last change + retention, or (today, for a hold the
//     expiry driver saw open) the later of that and its deadline; a sweep
//     between the two asks whether the engine still remembers it;
//   - a hold expires at a sweep at or after its deadline; a sweep within
//     kTickSlackNanos of the deadline asks whether it fired.
// Outside those windows the model decides alone, and the test compares.
#ifndef FLASHSTOCK_TESTS_DIFFERENTIAL_MODEL_H_
#define FLASHSTOCK_TESTS_DIFFERENTIAL_MODEL_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "flashstock/limits.h"
#include "flashstock/order.h"
#include "flashstock/outcome.h"

namespace flashstock::testing {

// The expiry driver's tick is 1 ms (kExpiryTickNanos); two ticks of slack
// cover rounding up to a tick on either side.
inline constexpr std::int64_t kTickSlackNanos = 2 * kExpiryTickNanos;

struct ModelSku {
  std::string name;
  std::int64_t available = 0, floor = 0, held = 0, sold = 0;
  friend bool operator==(const ModelSku&, const ModelSku&) = default;
};

struct ModelOrder {
  OrderState state = OrderState::kNone;
  std::vector<std::pair<std::uint32_t, std::int64_t>> lines;  // normalised: summed per SKU, sorted by index
  std::int64_t deadline = 0;
  // When it last changed; an interval where a crash cut leaves it unsure
  // (an expiry the engine redid at its next open).
  std::int64_t changed_lo = 0, changed_hi = 0;
  std::uint32_t short_sku = 0;       // failed
  std::int64_t short_available = 0;  // failed
};

// A model answer, comparable with the engine's StockResult / OrderResult.
struct ModelAnswer {
  Outcome outcome = Outcome::kOk;
  std::int64_t available = 0;  // stock: level after / seen; reserve INSUFFICIENT: available seen
  std::int64_t taken = 0;      // take-up-to
  OrderState state = OrderState::kNone;
  std::uint32_t short_sku = 0;
};

class Model {
 public:
  // Asks the engine whether it still remembers order `id` / whether its hold
  // expired; used only inside the windows described above.
  struct Resolver {
    std::function<bool(std::uint64_t id)> remembers;
    std::function<bool(std::uint64_t id)> expired;
  };

  explicit Model(std::int64_t retention_nanos) : retention_nanos_(retention_nanos) {}

  const std::vector<ModelSku>& skus() const { return skus_; }
  const std::map<std::uint64_t, ModelOrder>& orders() const { return orders_; }

  // After a crash cut the engine's next open redoes, at its own time, the
  // expiries whose records the cut dropped: an expired order's change time
  // is then only known to lie between its deadline and `now`.
  void WidenExpiryTimes(std::int64_t now) {
    for (auto& [id, o] : orders_) {
      if (o.state != OrderState::kExpired) continue;
      o.changed_lo = std::min(o.changed_lo, o.deadline);
      o.changed_hi = std::max(o.changed_hi, now);
    }
  }

  ModelAnswer Define(const std::string& name, std::int64_t quantity, std::int64_t floor) {
    if (quantity < 0 || quantity > kLevelMax || floor > 0) return {Outcome::kInvalidQuantity};
    for (const ModelSku& s : skus_) {
      if (s.name == name) return {Outcome::kAlreadyDefined};
    }
    skus_.push_back({name, quantity, floor, 0, 0});
    return {Outcome::kOk, quantity};
  }
  ModelAnswer Take(std::uint32_t sku, std::int64_t q) {
    ModelSku& s = skus_[sku];
    if (s.available - q < s.floor) return {Outcome::kInsufficient, s.available};
    s.available -= q;
    return {Outcome::kOk, s.available};
  }
  ModelAnswer TakeUpTo(std::uint32_t sku, std::int64_t q) {
    ModelSku& s = skus_[sku];
    const std::int64_t taken = std::max<std::int64_t>(0, std::min(q, s.available - s.floor));
    s.available -= taken;
    return {Outcome::kOk, s.available, taken};
  }
  ModelAnswer Restock(std::uint32_t sku, std::int64_t q) {
    skus_[sku].available += q;
    return {Outcome::kOk, skus_[sku].available};
  }
  ModelAnswer SetFloor(std::uint32_t sku, std::int64_t floor) {
    skus_[sku].floor = floor;
    return {Outcome::kOk, skus_[sku].available};
  }

  static std::vector<std::pair<std::uint32_t, std::int64_t>> Normalise(
      const std::vector<std::pair<std::uint32_t, std::int64_t>>& lines) {
    std::map<std::uint32_t, std::int64_t> summed;
    for (const auto& [sku, q] : lines) summed[sku] += q;
    return {summed.begin(), summed.end()};
  }

  ModelAnswer Reserve(std::uint64_t id, const std::vector<std::pair<std::uint32_t, std::int64_t>>& raw,
                      std::int64_t ttl_ms, std::int64_t now) {
    const auto lines = Normalise(raw);
    if (auto it = orders_.find(id); it != orders_.end()) {
      const ModelOrder& o = it->second;
      if (o.lines != lines) return {Outcome::kOrderConflict};
      if (o.state == OrderState::kFailed) {
        return {Outcome::kInsufficient, o.short_available, 0, OrderState::kFailed, o.short_sku};
      }
      return {Outcome::kOk, 0, 0, o.state};
    }
    ModelOrder o;
    o.lines = lines;
    o.changed_lo = o.changed_hi = now;
    for (const auto& [sku, q] : lines) {
      const ModelSku& s = skus_[sku];
      if (s.available - q < s.floor) {
        o.state = OrderState::kFailed;
        o.short_sku = sku;
        o.short_available = s.available;
        o.deadline = now;  // holds nothing: only its retention keeps it
        orders_[id] = o;
        return {Outcome::kInsufficient, s.available, 0, OrderState::kFailed, sku};
      }
    }
    for (const auto& [sku, q] : lines) {
      skus_[sku].available -= q;
      skus_[sku].held += q;
    }
    o.state = OrderState::kHeld;
    o.deadline = now + ttl_ms * 1'000'000;
    orders_[id] = o;
    return {Outcome::kOk, 0, 0, OrderState::kHeld};
  }

  // Commit (target kCommitted), cancel (kCancelled) or return (kReturned).
  ModelAnswer Close(std::uint64_t id, OrderState target, std::int64_t now) {
    auto it = orders_.find(id);
    if (it == orders_.end()) return {Outcome::kUnknownOrder};
    ModelOrder& o = it->second;
    const OrderState from = target == OrderState::kReturned ? OrderState::kCommitted : OrderState::kHeld;
    if (o.state != from) {
      if (target == OrderState::kReturned && o.state == OrderState::kHeld) {
        return {Outcome::kOrderOpen, 0, 0, OrderState::kHeld};
      }
      return {Outcome::kOrderClosed, 0, 0, o.state};
    }
    const OrderState won = from == OrderState::kHeld && now >= o.deadline ? OrderState::kExpired : target;
    Move(&o, won, now);
    return {won == target ? Outcome::kOk : Outcome::kOrderClosed, 0, 0, won};
  }

  // The expiry driver at `now`: expires due holds and forgets orders whose
  // retention ran out. Returns the ids it expired, in id order.
  std::vector<std::uint64_t> Sweep(std::int64_t now, const Resolver& ask) {
    std::vector<std::uint64_t> expired;
    for (auto& [id, o] : orders_) {
      if (o.state != OrderState::kHeld || o.deadline > now) continue;
      if (now < o.deadline + kTickSlackNanos && !ask.expired(id)) continue;
      Move(&o, OrderState::kExpired, now);
      expired.push_back(id);
    }
    for (auto it = orders_.begin(); it != orders_.end();) {
      const ModelOrder& o = it->second;
      const std::int64_t forget_lo = o.changed_lo + retention_nanos_;
      const std::int64_t forget_hi = std::max(o.changed_hi + retention_nanos_, o.deadline) + kTickSlackNanos;
      const bool open = o.state == OrderState::kHeld;
      const bool forget = !open && now >= forget_lo && (now >= forget_hi || !ask.remembers(it->first));
      it = forget ? orders_.erase(it) : std::next(it);
    }
    return expired;
  }

 private:
  void Move(ModelOrder* o, OrderState won, std::int64_t now) {
    for (const auto& [sku, q] : o->lines) {
      ModelSku& s = skus_[sku];
      switch (won) {
        case OrderState::kCommitted: s.held -= q, s.sold += q; break;
        case OrderState::kReturned: s.sold -= q, s.available += q; break;
        default: s.held -= q, s.available += q; break;  // cancel, expiry
      }
    }
    o->state = won;
    o->changed_lo = o->changed_hi = now;
  }

  std::int64_t retention_nanos_;
  std::vector<ModelSku> skus_;
  std::map<std::uint64_t, ModelOrder> orders_;
};

}  // namespace flashstock::testing

#endif  // FLASHSTOCK_TESTS_DIFFERENTIAL_MODEL_H_
