// A gate on the engine's test points (base/test_point.h), shared by the
// tests that force one interleaving instead of sleeping and hoping for it.
// Only for tests linking flashstock_engine_test_points.
#ifndef FLASHSTOCK_TESTS_TEST_GATE_H_
#define FLASHSTOCK_TESTS_TEST_GATE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "base/test_point.h"

namespace flashstock::testing {

using internal::TestPoint;

// One armed test point: the first thread to reach (point, arg) announces it
// and waits until the test releases it; every other arrival passes.
class Gate {
 public:
  static Gate& Instance() {
    static Gate gate;
    return gate;
  }
  void Arm(TestPoint point, std::uint32_t arg) {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = true;
    point_ = point;
    arg_ = arg;
    arrived_ = released_ = false;
    internal::SetTestPointHook(&Gate::Hook);
  }
  void AwaitArrival() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return arrived_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  // A second point that only records that some thread reached it.
  void Watch(TestPoint point, std::uint32_t arg) {
    std::lock_guard<std::mutex> lock(mu_);
    watching_ = true;
    watch_point_ = point;
    watch_arg_ = arg;
    watched_ = false;
  }
  // False if no thread reached the watched point within `seconds`: a
  // bound, so a broken protocol fails the test instead of hanging it.
  bool AwaitWatchedFor(int seconds) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(seconds), [this] { return watched_; });
  }
  void AwaitWatched() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return watched_; });
  }
  void Disarm() {
    internal::SetTestPointHook(nullptr);
    Release();
  }

 private:
  static void Hook(TestPoint point, std::uint32_t arg) {
    Gate& g = Instance();
    std::unique_lock<std::mutex> lock(g.mu_);
    if (g.watching_ && point == g.watch_point_ && arg == g.watch_arg_) {
      g.watching_ = false;
      g.watched_ = true;
      g.cv_.notify_all();
      return;
    }
    if (!g.armed_ || point != g.point_ || arg != g.arg_) return;
    g.armed_ = false;  // one thread only
    g.arrived_ = true;
    g.cv_.notify_all();
    g.cv_.wait(lock, [&g] { return g.released_; });
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false, arrived_ = false, released_ = false;
  TestPoint point_{};
  std::uint32_t arg_ = 0;
  bool watching_ = false, watched_ = false;
  TestPoint watch_point_{};
  std::uint32_t watch_arg_ = 0;
};

// Disarms the gate however the test ends, so no thread stays parked.
struct GateGuard {
  ~GateGuard() { Gate::Instance().Disarm(); }
};

}  // namespace flashstock::testing

#endif  // FLASHSTOCK_TESTS_TEST_GATE_H_
