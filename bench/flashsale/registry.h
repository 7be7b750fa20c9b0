// Every back end the bench knows, by "system/variant" name, in table order
// (flashstock first: the other rows are compared with it), and the rules for
// picking them with --backends.
#ifndef FLASHSTOCK_BENCH_FLASHSALE_REGISTRY_H_
#define FLASHSTOCK_BENCH_FLASHSALE_REGISTRY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "backend.h"

namespace flashsale {

class PgCluster;

struct BackendContext {
  std::string work_dir;             // files (SQLite databases, journals) go here
  const PgCluster* pg = nullptr;    // null when PostgreSQL is not running
  std::string flashstock_bin;       // `flashstock` for the flashstock-serve rows
  std::string redis_bin;            // `redis-server` for the redis-lua rows
};

struct BackendEntry {
  std::string name;          // "system/variant", e.g. "pg-for-update/shipped"
  bool default_on;           // in the default set (the rigged checker test is not)
  bool needs_postgres;
  std::function<absl::StatusOr<std::unique_ptr<Backend>>(const BackendContext&)> make;
};

const std::vector<BackendEntry>& Registry();

// True when a --backends token picks `entry`: "all" (every default back end),
// the exact name, its system ("sqlite" picks both variants; "flashstock"
// picks flashstock/* only, not flashstock-orders/* or flashstock-escrow/*,
// which their own system names pick), or a family:
// "postgres"/"pg" (every pg-*), "atomic" (both atomics), "network" (every
// back end over sockets: flashstock-serve/*, redis-lua/*; not in "all").
bool Picks(const std::string& token, const BackendEntry& entry);

}  // namespace flashsale

#endif  // FLASHSTOCK_BENCH_FLASHSALE_REGISTRY_H_
