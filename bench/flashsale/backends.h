// Factories for every back end; each is defined in its own <name>_backend.cc.
// registry.cc lists them with their system/variant names.
#ifndef FLASHSTOCK_BENCH_FLASHSALE_BACKENDS_H_
#define FLASHSTOCK_BENCH_FLASHSALE_BACKENDS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "backend.h"

namespace flashsale {

class PgCluster;

// flashstock_backend.cc. `variant` is the journal mode: "none", "async" or
// "sync" (a fresh journal under work_dir per row). The orders back end's take
// is a one-line reserve + commit. The escrow back end takes as the plain one,
// with the catalogue's SKUs in escrow (split across lines while roomy; at
// most the engine's kEscrowSkusMax, the first ones).
absl::StatusOr<std::unique_ptr<Backend>> MakeFlashstockBackend(const std::string& variant,
                                                               const std::string& work_dir);
absl::StatusOr<std::unique_ptr<Backend>> MakeFlashstockOrdersBackend(const std::string& variant,
                                                                     const std::string& work_dir);
absl::StatusOr<std::unique_ptr<Backend>> MakeFlashstockEscrowBackend(const std::string& variant,
                                                                     const std::string& work_dir);

// mutex_backend.cc: one std::mutex around an absl::flat_hash_map<sku, level>.
std::unique_ptr<Backend> MakeMutexBackend();

// atomic_backend.cc: one atomic per SKU, each on its own cache line.
// fetch_sub with no floor check (the physical limit; oversells, claims no
// correctness); a floor-checked CAS loop (the limit for a correct take);
// and a rigged CAS that oversells on purpose, for testing the checker.
std::unique_ptr<Backend> MakeAtomicFetchSubBackend();
std::unique_ptr<Backend> MakeAtomicCasBackend();
std::unique_ptr<Backend> MakeRiggedOversellBackend();

// sqlite_backend.cc: WAL mode; synchronous is "normal" or "full".
std::unique_ptr<Backend> MakeSqliteBackend(const std::string& synchronous,
                                           const std::string& work_dir);

// postgres_backend.cc: the three Django-world patterns on a running cluster.
enum class PgPattern { kSelectForUpdate, kConditionalUpdate, kCheckConstraint };
// sync_commit_off: SET synchronous_commit = off on every connection;
// otherwise the server's shipped settings. `cluster` outlives the back end.
std::unique_ptr<Backend> MakePostgresBackend(PgPattern pattern, bool sync_commit_off,
                                             const PgCluster* cluster);

// network_backend.cc: over loopback sockets to a server started per row
// (hiredis, one connection per client; pipelines). `variant` for
// flashstock-serve is the durability ("none", "async", "sync": a fresh
// journal under work_dir); for redis-lua "none" (--save "") or "aof"
// (--appendonly yes --appendfsync always). Fails when the binary is missing.
absl::StatusOr<std::unique_ptr<Backend>> MakeFlashstockServeBackend(const std::string& variant,
                                                                    const std::string& flashstock_bin,
                                                                    const std::string& work_dir);
absl::StatusOr<std::unique_ptr<Backend>> MakeRedisLuaBackend(const std::string& variant,
                                                             const std::string& redis_bin,
                                                             const std::string& work_dir);

}  // namespace flashsale

#endif  // FLASHSTOCK_BENCH_FLASHSALE_BACKENDS_H_
