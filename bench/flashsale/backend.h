// What every flash-sale back end offers the runner: load a catalogue with
// stock, open one client per buyer thread (a connection, for a database),
// take units, and read the final levels back for the correctness check.
//
// A back end is used by one row at a time: Load(), then Connect() once per
// client (each client then used by one thread only), then Levels() after the
// clients are joined and destroyed.
#ifndef FLASHSTOCK_BENCH_FLASHSALE_BACKEND_H_
#define FLASHSTOCK_BENCH_FLASHSALE_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flashsale {

// One buyer's answer. kError means the back end could not say (a lost
// connection, an unexpected SQL error): the runner stops that client and
// the row fails, because the unit may or may not have moved.
enum class TakeStatus : std::uint8_t { kAccepted, kRefused, kError };

class BackendClient {
 public:
  virtual ~BackendClient() = default;
  // Takes `units` of SKU `sku` (in [0, sku_count)) or refuses.
  virtual TakeStatus Take(std::uint32_t sku, std::int64_t units) = 0;
  // Pipelining: sends the takes of skus[0..count) (`units` each) before
  // reading any answer, then reads the `count` answers in order into
  // statuses[0..count). Used by the runner only when the back end says it
  // pipelines() and the depth is above 1; the default takes one at a time.
  virtual void TakeBatch(const std::uint32_t* skus, int count, std::int64_t units,
                         TakeStatus* statuses) {
    for (int i = 0; i < count; ++i) statuses[i] = Take(skus[i], units);
  }
  // Why the last kError happened.
  virtual std::string last_error() const { return {}; }
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Table columns, e.g. "pg-for-update" / "shipped".
  virtual std::string system() const = 0;
  virtual std::string variant() const = 0;
  // False only for the physical-limit row (raw fetch_sub), which oversells by
  // design: its oversold column is informational and never fails the run.
  virtual bool claims_correctness() const { return true; }
  // Time one take in this many. In-memory back ends take ~10-100 ns, about
  // what two clock reads cost, so they sample; databases time every take.
  virtual int latency_sample_every() const { return 1; }
  // True for the network back ends: their clients' TakeBatch() writes a
  // batch of commands at once. Rows of the others run unpipelined only.
  virtual bool pipelines() const { return false; }
  // CPU seconds (user + system) used so far by the server process the back
  // end started for this row; negative for in-process back ends (their
  // work is the bench's own CPU) and servers the bench did not start.
  virtual double ServerCpuSeconds() const { return -1; }

  // (Re)creates `sku_count` SKUs numbered 0.. with `stock_per_sku` units each.
  virtual absl::Status Load(std::uint32_t sku_count, std::int64_t stock_per_sku) = 0;
  virtual absl::StatusOr<std::unique_ptr<BackendClient>> Connect() = 0;
  // Level of each SKU, indexed by SKU number.
  virtual absl::StatusOr<std::vector<std::int64_t>> Levels() = 0;
  // Called once a row is checked: stops whatever the row left running (an
  // engine's journal and expiry threads). A back end's threads waking during
  // a later row take a core from it now and then, and on 2 cores that
  // changes the later row's figure: measured, the raw CAS row ran 62 M/s
  // after the journaled flashstock rows and 49 M/s without them, which made
  // the none/CAS ratio 0.8 instead of ~1.
  virtual void Unload() {}
};

}  // namespace flashsale

#endif  // FLASHSTOCK_BENCH_FLASHSALE_BACKEND_H_
