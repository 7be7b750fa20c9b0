// `flashstock load`: a soak and crash-test driver. N threads send a mixed
// workload (take, take-up-to, restock, floor changes, multi-SKU reserves
// with short ttls, commits, cancels, returns) to a journaled engine, in the
// shell's own language (each line goes through flashstock::Shell), on a few
// SKUs with little stock, so restocks and give-backs are used at once.
// See docs/commands.md, "flashstock load".
#ifndef FLASHSTOCK_TOOLS_LOAD_H_
#define FLASHSTOCK_TOOLS_LOAD_H_

#include <cstdint>
#include <string>
#include <variant>

#include "flashstock/engine.h"

namespace flashstock {

// Bounds of the load's own flags (the engine checks its options itself).
// 256 threads: the thread number is 8 bits of every order id (LoadOrderId).
inline constexpr int kLoadThreadsMax = 256;
// Few SKUs are the point (contention on restocks and give-backs); 1024 is
// plenty for a spread-out variant.
inline constexpr int kLoadSkusMax = 1024;
// Units each load SKU is defined with: low, so stock runs out and the
// workload's restocks and give-backs are taken at once.
inline constexpr std::int64_t kLoadInitialUnits = 10;
// With --escrow on: units a SKU is defined with, and restocked to at the
// start of each run when below half of it, so SKUs split (escrow needs
// kEscrowSplitMin units above the floor) and run split for most of a run.
inline constexpr std::int64_t kLoadEscrowUnits = 1000;
// Hold ttls are drawn from [kLoadTtlMsMin, kLoadTtlMsMax]: short, so that
// expiries (give-backs by the expiry driver) happen all the time.
inline constexpr std::int64_t kLoadTtlMsMin = 2;
inline constexpr std::int64_t kLoadTtlMsMax = 100;
// Floors the workload sets, in [kLoadFloorMin, 0]: both directions, and
// negative (backorders) half the time.
inline constexpr std::int64_t kLoadFloorMin = -3;
// The load remembers orders for a short time by default so that the order
// book does not fill up at thousands of reserves per second.
inline constexpr std::int64_t kLoadOrderRetentionMsDefault = 2000;
inline constexpr std::uint32_t kLoadOrdersMaxDefault = 1u << 20;

struct LoadOptions {
  std::string journal_dir;
  Durability durability = Durability::kSync;
  int threads = 0;
  std::int64_t seconds = 0;  // 0: until SIGINT / SIGTERM
  int skus = 4;
  std::uint64_t seed = 1;
  std::uint64_t checkpoint_bytes = std::uint64_t{256} << 20;
  std::int64_t order_retention_ms = kLoadOrderRetentionMsDefault;
  std::uint32_t orders_max = kLoadOrdersMaxDefault;
  std::string acks_path;  // empty: no acks file
  EscrowMode escrow = EscrowMode::kOff;  // every load SKU's mode (ESCROW sku ON|AUTO)
};

// What the command line asked for: options to run with, or an exit status
// after printing help (0) or an error (2).
using LoadCommand = std::variant<LoadOptions, int>;
LoadCommand ParseLoadFlags(int argc, char** argv);

// The usage text (`flashstock load --help`).
extern const char kLoadUsage[];

// Order ids: <nonce:24 bits><thread:8 bits><counter:32 bits>. The nonce is
// hashed from the start time and the seed, so two runs on one journal
// almost never share it; an id the recovered engine still remembers is
// skipped anyway (checked before first use), which makes a collision with a
// remembered id impossible, not just unlikely. Never 0.
std::uint64_t LoadOrderId(std::uint32_t nonce, int thread, std::uint32_t counter);

// Opens (recovering) the journal, defines the missing load SKUs, runs the
// workload, prints progress each second and a summary at the end. Returns
// the process exit status.
int RunLoad(const LoadOptions& options);

}  // namespace flashstock

#endif  // FLASHSTOCK_TOOLS_LOAD_H_
