// EngineOptions: what Engine::Open and the Engine constructor take.
#ifndef FLASHSTOCK_OPTIONS_H_
#define FLASHSTOCK_OPTIONS_H_

#include <cstdint>
#include <string>

#include "flashstock/limits.h"

namespace flashstock {

class Clock;
namespace internal {
class FileSystem;  // engine/base/file.h; tests pass a fault-injecting one
}  // namespace internal

enum class Durability : std::uint8_t { kNone, kAsync, kSync };
// What a change does when its thread's journal ring is full (the journal
// thread is behind the disk): wait (spin briefly, then block until the next
// commit frees room), or refuse with kBackpressure, changing nothing.
enum class FullQueuePolicy : std::uint8_t { kWait, kRefuse };

// A SKU's escrow setting (docs/design.md, "Escrow"): off (one line, the
// default), on (split whenever it has room), or auto (split when buyers
// contend for its line, joined again when it cools or runs low).
enum class EscrowMode : std::uint8_t { kOff, kOn, kAuto };

struct EngineOptions {
  // Maximum number of SKUs, fixed for the engine's life; cells for all of
  // them are allocated up front. REQUIRES: 1 <= skus_max <= kSkusMaxLimit.
  // Open raises it to the number of SKUs recovered if that is larger.
  std::uint32_t skus_max = kSkusMaxDefault;

  // ---- Orders; see order.h ----
  // Time source for hold deadlines and expiry; nullptr = Clock::Steady().
  // Tests pass a ManualClock. REQUIRES: outlives the engine.
  const Clock* clock = nullptr;
  // Orders remembered at once (open + within retention). REQUIRES:
  // 1 <= orders_max <= kOrdersMaxLimit.
  std::uint32_t orders_max = kOrdersMaxDefault;
  // How long a closed order's id is remembered. REQUIRES: 0 <= value <= kOrderRetentionMsMax.
  std::int64_t order_retention_ms = kOrderRetentionMsDefault;
  // Wall-clock source for journaled hold deadlines (unix nanoseconds);
  // nullptr = Clock::System(). Read once at open: the engine journals
  // `clock` time + (wall - clock at open), so a deadline journaled as wall
  // time comes back after a restart. Tests pass a ManualClock.
  const Clock* wall_clock = nullptr;
  // Run the expiry driver on a thread the engine owns. Tests that drive
  // expiry by hand set this false and call SweepExpired().
  bool expiry_thread = true;

  // ---- Escrow ----
  // The escrow mode of every SKU not set otherwise (Engine::SetEscrow):
  // kOff or kAuto (kOn would split every SKU: set it per SKU). REQUIRES:
  // not kOn.
  EscrowMode escrow = EscrowMode::kOff;

  // ---- Journal ----
  // The journal directory (created if missing); empty for no journal.
  // REQUIRES: empty exactly when durability == kNone.
  std::string journal_dir{};
  Durability durability = Durability::kNone;
  FullQueuePolicy full_queue = FullQueuePolicy::kWait;
  // Rotate to a new segment file past this many bytes (>= 32 KiB + 48;
  // default 64 MiB).
  std::uint64_t segment_bytes_max = std::uint64_t{64} << 20;
  // Start a background checkpoint after this many journal bytes (default
  // 256 MiB, about 8M records); 0 = only explicit Checkpoint() calls.
  std::uint64_t checkpoint_bytes = std::uint64_t{256} << 20;
  // Open a damaged journal up to the damage instead of refusing; what was
  // dropped is in recovery_summary().
  bool salvage = false;
  // Tests: the file system journal writes go through (fault injection).
  // Null means the real one. Must outlive the engine.
  internal::FileSystem* file_system = nullptr;
};

}  // namespace flashstock

#endif  // FLASHSTOCK_OPTIONS_H_
