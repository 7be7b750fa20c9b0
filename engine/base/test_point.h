// Test points: named places in the engine where a test can pause a thread to
// force one interleaving, instead of sleeping and hoping for it. Compiled in
// only when FLASHSTOCK_TEST_POINTS is defined, which only the engine variant
// that interleaving tests link (flashstock_engine_test_points) does; in the
// library everyone else links, FLASHSTOCK_TEST_POINT is nothing at all.
#ifndef FLASHSTOCK_INTERNAL_TEST_POINT_H_
#define FLASHSTOCK_INTERNAL_TEST_POINT_H_

#include <atomic>
#include <cstdint>

namespace flashstock::internal {

enum class TestPoint : std::uint8_t {
  kJournalCollected,  // journal thread: a batch is collected, not yet published as sequenced
  kTakeApplied,       // a take or take-up-to changed its cell, its record not yet pushed (arg: SKU)
  kCauseQueued,       // a restock / floor change / give-back pushed its record, not yet visible (arg: SKU or order slot)
  kCauseVisible,      // ... and is now visible, before the call returns (arg: SKU or order slot)
  kFloorStored,       // a floor raise stored its new floor, before waiting out floor readers (arg: SKU)
  kEscrowRefilling,   // an escrow lease's owner drew from the pool, units in its hands only (arg: lease)
  kEscrowJoinWaits,   // a join found a lease being refilled and waits for it (arg: lease)
  kTakeSawNoEscrow,   // a journaled take loaded no escrow pointer, before its take on the pool (arg: SKU)
};

// Called with the point and its argument on the thread that reaches it.
using TestPointHook = void (*)(TestPoint point, std::uint32_t arg);

#ifdef FLASHSTOCK_TEST_POINTS
// Acquire/release: a hook installed before the threads that reach it start
// (or that a test otherwise synchronises with) is seen with its state.
inline std::atomic<TestPointHook> g_test_point_hook{nullptr};
inline void SetTestPointHook(TestPointHook hook) { g_test_point_hook.store(hook, std::memory_order_release); }
#define FLASHSTOCK_TEST_POINT(point, arg)                                                           \
  do {                                                                                              \
    if (::flashstock::internal::TestPointHook h =                                                   \
            ::flashstock::internal::g_test_point_hook.load(std::memory_order_acquire)) {            \
      h(::flashstock::internal::TestPoint::point, static_cast<std::uint32_t>(arg));                 \
    }                                                                                               \
  } while (0)
#else
#define FLASHSTOCK_TEST_POINT(point, arg) \
  do {                                    \
  } while (0)
#endif

}  // namespace flashstock::internal

#endif  // FLASHSTOCK_INTERNAL_TEST_POINT_H_
