// The time source for hold deadlines and expiry, injectable so that tests
// drive time by hand: an expiry test advances a ManualClock and sweeps, and
// so is deterministic and takes no wall time.
//
// Times are nanoseconds on a monotonic scale whose origin is the clock's own
// (steady_clock's epoch for SteadyClock, 0 for a fresh ManualClock). Only
// differences and comparisons between readings of one clock mean anything.
//
// Thread-safety: NowNanos() may be called from any thread at any time.
#ifndef FLASHSTOCK_CLOCK_H_
#define FLASHSTOCK_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace flashstock {

class Clock {
 public:
  virtual ~Clock() = default;
  // Never decreases between two calls on one thread.
  virtual std::int64_t NowNanos() const = 0;

  // The process-wide steady clock; never null, lives forever.
  static const Clock* Steady();
  // The process-wide wall clock (std::chrono::system_clock, nanoseconds since
  // the unix epoch); never null, lives forever. The journal stores hold
  // deadlines on it, since the steady clock restarts with each boot.
  static const Clock* System();
};

// std::chrono::system_clock. Not monotonic: an operator may step it.
class SystemClock final : public Clock {
 public:
  std::int64_t NowNanos() const override;
};

// std::chrono::steady_clock.
class SteadyClock final : public Clock {
 public:
  std::int64_t NowNanos() const override;
};

// A clock that moves only when told to. For tests and replays.
//
// Memory ordering: `now_` publishes nothing but itself (relaxed). A test
// that advances the clock and then sweeps on the same thread sees its own
// store; a test that advances on one thread and relies on another reading
// the new time must order the two itself (a join, a latch).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start_nanos = 0) : now_(start_nanos) {}
  std::int64_t NowNanos() const override { return now_.load(std::memory_order_relaxed); }
  // REQUIRES: nanos >= 0 (time does not go back).
  void AdvanceNanos(std::int64_t nanos) { now_.fetch_add(nanos, std::memory_order_relaxed); }
  void AdvanceMs(std::int64_t ms) { AdvanceNanos(ms * 1'000'000); }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace flashstock

#endif  // FLASHSTOCK_CLOCK_H_
