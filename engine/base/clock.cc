#include "flashstock/clock.h"

#include <chrono>

namespace flashstock {

std::int64_t SteadyClock::NowNanos() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t SystemClock::NowNanos() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const Clock* Clock::System() {
  static const SystemClock* const clock = new SystemClock();  // never destroyed
  return clock;
}

const Clock* Clock::Steady() {
  static const SteadyClock* const clock = new SteadyClock();  // never destroyed
  return clock;
}

}  // namespace flashstock
