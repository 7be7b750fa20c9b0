#include "registry.h"

#include "backends.h"

namespace flashsale {
namespace {

using Made = absl::StatusOr<std::unique_ptr<Backend>>;

BackendEntry Pg(const std::string& name, PgPattern pattern, bool sync_commit_off) {
  return {name, true, true, [pattern, sync_commit_off](const BackendContext& c) -> Made {
            return MakePostgresBackend(pattern, sync_commit_off, c.pg);
          }};
}

using NetFactory = Made (*)(const std::string& variant, const std::string& bin,
                           const std::string& work_dir);

BackendEntry Net(const std::string& name, NetFactory factory, const std::string& variant) {
  const bool serve = name.compare(0, 17, "flashstock-serve/") == 0;
  return {name, false, false, [factory, variant, serve](const BackendContext& c) -> Made {
            return factory(variant, serve ? c.flashstock_bin : c.redis_bin, c.work_dir);
          }};
}

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

const std::vector<BackendEntry>& Registry() {
  static const std::vector<BackendEntry> entries = {
      {"flashstock/none", true, false,
       [](const BackendContext& c) -> Made { return MakeFlashstockBackend("none", c.work_dir); }},
      {"flashstock/async", true, false,
       [](const BackendContext& c) -> Made { return MakeFlashstockBackend("async", c.work_dir); }},
      {"flashstock/sync", true, false,
       [](const BackendContext& c) -> Made { return MakeFlashstockBackend("sync", c.work_dir); }},
      {"flashstock-orders/none", true, false,
       [](const BackendContext& c) -> Made { return MakeFlashstockOrdersBackend("none", c.work_dir); }},
      {"flashstock-orders/async", true, false,
       [](const BackendContext& c) -> Made { return MakeFlashstockOrdersBackend("async", c.work_dir); }},
      {"flashstock-escrow/none", true, false,
       [](const BackendContext& c) -> Made { return MakeFlashstockEscrowBackend("none", c.work_dir); }},
      {"flashstock-escrow/async", true, false,
       [](const BackendContext& c) -> Made { return MakeFlashstockEscrowBackend("async", c.work_dir); }},
      {"atomic-cas/floor-checked", true, false,
       [](const BackendContext&) -> Made { return MakeAtomicCasBackend(); }},
      {"atomic-fetch_sub/no-floor=LIMIT", true, false,
       [](const BackendContext&) -> Made { return MakeAtomicFetchSubBackend(); }},
      {"mutex/flat_hash_map", true, false,
       [](const BackendContext&) -> Made { return MakeMutexBackend(); }},
      {"sqlite/wal/normal", true, false,
       [](const BackendContext& c) -> Made { return MakeSqliteBackend("normal", c.work_dir); }},
      {"sqlite/wal/full", true, false,
       [](const BackendContext& c) -> Made { return MakeSqliteBackend("full", c.work_dir); }},
      Pg("pg-for-update/shipped", PgPattern::kSelectForUpdate, false),
      Pg("pg-for-update/sync_commit=off", PgPattern::kSelectForUpdate, true),
      Pg("pg-cond-update/shipped", PgPattern::kConditionalUpdate, false),
      Pg("pg-cond-update/sync_commit=off", PgPattern::kConditionalUpdate, true),
      Pg("pg-check/shipped", PgPattern::kCheckConstraint, false),
      Pg("pg-check/sync_commit=off", PgPattern::kCheckConstraint, true),
      // Over loopback sockets to a server started per row: only when named
      // (or "network"), so the default run and the demo need no servers.
      Net("flashstock-serve/none", &MakeFlashstockServeBackend, "none"),
      Net("flashstock-serve/async", &MakeFlashstockServeBackend, "async"),
      Net("flashstock-serve/sync", &MakeFlashstockServeBackend, "sync"),
      Net("redis-lua/none", &MakeRedisLuaBackend, "none"),
      Net("redis-lua/aof", &MakeRedisLuaBackend, "aof"),
      {"rigged-oversell/checker-test", false, false,
       [](const BackendContext&) -> Made { return MakeRiggedOversellBackend(); }},
  };
  return entries;
}

bool Picks(const std::string& token, const BackendEntry& entry) {
  if (token == "all") return entry.default_on;
  if (token == entry.name || StartsWith(entry.name, token + "/")) return true;
  if (token == "postgres" || token == "pg") return StartsWith(entry.name, "pg-");
  if (token == "atomic") return StartsWith(entry.name, "atomic-");
  if (token == "network") return StartsWith(entry.name, "flashstock-serve/") || StartsWith(entry.name, "redis-lua/");
  return false;
}

}  // namespace flashsale
