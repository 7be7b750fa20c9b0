// PostgreSQL through libpq, one connection per client, the three patterns a
// Django shop writes for "take n units if there are n":
//   for-update   BEGIN; SELECT qty … FOR UPDATE; UPDATE …; COMMIT
//                (select_for_update(); ROLLBACK when there are too few)
//   cond-update  UPDATE … SET qty = qty - n WHERE id = $1 AND qty >= n RETURNING qty
//                (filter(qty__gte=n).update(qty=F('qty') - n))
//   check        UPDATE … SET qty = qty - n with CHECK (qty >= 0), refusal =
//                the check violation (SQLSTATE 23514; PositiveIntegerField)
// Statements are prepared once per connection. Variants: the server's shipped
// settings (fsync on, synchronous_commit on) or synchronous_commit=off.
#include <libpq-fe.h>

#include <cstdio>
#include <cstring>

#include "backends.h"
#include "pg_cluster.h"

namespace flashsale {
namespace {

// The SQLSTATE of a CHECK constraint violation.
constexpr const char* kCheckViolation = "23514";

// Owns one PGresult.
class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  ~Result() { PQclear(r_); }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  PGresult* get() const { return r_; }
  ExecStatusType status() const { return PQresultStatus(r_); }
  bool ok() const { return status() == PGRES_COMMAND_OK || status() == PGRES_TUPLES_OK; }
  std::string sqlstate() const {
    const char* s = PQresultErrorField(r_, PG_DIAG_SQLSTATE);
    return s != nullptr ? s : "";
  }

 private:
  PGresult* r_;
};

std::string Message(PGconn* conn, const std::string& what) {
  std::string m = "postgres: " + what + ": " + PQerrorMessage(conn);
  while (!m.empty() && m.back() == '\n') m.pop_back();
  return m;
}

absl::StatusOr<PGconn*> Open(const PgCluster& cluster) {
  PGconn* conn = PQconnectdb(cluster.conninfo().c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string m = Message(conn, "connect");
    PQfinish(conn);
    return absl::UnavailableError(m);
  }
  return conn;
}

absl::Status Exec(PGconn* conn, const std::string& sql) {
  Result r(PQexec(conn, sql.c_str()));
  if (!r.ok()) return absl::InternalError(Message(conn, sql));
  return absl::OkStatus();
}

class PgClient : public BackendClient {
 public:
  PgClient(PGconn* conn, PgPattern pattern) : conn_(conn), pattern_(pattern) {}
  ~PgClient() override { PQfinish(conn_); }

  absl::Status Prepare() {
    auto prepare = [this](const char* name, const char* sql) -> absl::Status {
      Result r(PQprepare(conn_, name, sql, 0, nullptr));
      if (!r.ok()) return absl::InternalError(Message(conn_, std::string("prepare ") + sql));
      return absl::OkStatus();
    };
    switch (pattern_) {
      case PgPattern::kSelectForUpdate:
        if (absl::Status s = prepare("lock", "SELECT qty FROM stock WHERE id = $1 FOR UPDATE");
            !s.ok()) {
          return s;
        }
        return prepare("take", "UPDATE stock SET qty = qty - $2 WHERE id = $1");
      case PgPattern::kConditionalUpdate:
        return prepare("take",
                       "UPDATE stock SET qty = qty - $2 WHERE id = $1 AND qty >= $2 RETURNING qty");
      case PgPattern::kCheckConstraint:
        return prepare("take", "UPDATE stock SET qty = qty - $2 WHERE id = $1");
    }
    return absl::OkStatus();
  }

  TakeStatus Take(std::uint32_t sku, std::int64_t units) override {
    char id[16], n[24];
    std::snprintf(id, sizeof id, "%u", sku);
    std::snprintf(n, sizeof n, "%lld", static_cast<long long>(units));
    const char* params[2] = {id, n};
    switch (pattern_) {
      case PgPattern::kSelectForUpdate: return TakeForUpdate(params, units);
      case PgPattern::kConditionalUpdate: {
        Result r(PQexecPrepared(conn_, "take", 2, params, nullptr, nullptr, 0));
        if (r.status() != PGRES_TUPLES_OK) return Fail("conditional update");
        return PQntuples(r.get()) == 1 ? TakeStatus::kAccepted : TakeStatus::kRefused;
      }
      case PgPattern::kCheckConstraint: {
        Result r(PQexecPrepared(conn_, "take", 2, params, nullptr, nullptr, 0));
        if (r.status() == PGRES_COMMAND_OK) {
          return std::strcmp(PQcmdTuples(r.get()), "1") == 0 ? TakeStatus::kAccepted
                                                             : TakeStatus::kError;
        }
        if (r.sqlstate() == kCheckViolation) return TakeStatus::kRefused;
        return Fail("update under CHECK");
      }
    }
    return TakeStatus::kError;
  }
  std::string last_error() const override { return error_; }

 private:
  TakeStatus TakeForUpdate(const char* const* params, std::int64_t units) {
    {
      Result begin(PQexec(conn_, "BEGIN"));
      if (!begin.ok()) return Fail("BEGIN");
    }
    std::int64_t level = 0;
    {
      Result lock(PQexecPrepared(conn_, "lock", 1, params, nullptr, nullptr, 0));
      if (lock.status() != PGRES_TUPLES_OK || PQntuples(lock.get()) != 1) {
        return Rollback("SELECT … FOR UPDATE");
      }
      level = std::strtoll(PQgetvalue(lock.get(), 0, 0), nullptr, 10);
    }
    if (level < units) {
      Result rollback(PQexec(conn_, "ROLLBACK"));
      return rollback.ok() ? TakeStatus::kRefused : Fail("ROLLBACK");
    }
    {
      Result take(PQexecPrepared(conn_, "take", 2, params, nullptr, nullptr, 0));
      if (take.status() != PGRES_COMMAND_OK) return Rollback("UPDATE");
    }
    Result commit(PQexec(conn_, "COMMIT"));
    // A COMMIT of a failed transaction answers ROLLBACK: check the tag too.
    if (!commit.ok() || std::strcmp(PQcmdStatus(commit.get()), "COMMIT") != 0) return Fail("COMMIT");
    return TakeStatus::kAccepted;
  }

  TakeStatus Fail(const char* what) {
    error_ = Message(conn_, what);
    return TakeStatus::kError;
  }
  TakeStatus Rollback(const char* what) {
    error_ = Message(conn_, what);
    Result rollback(PQexec(conn_, "ROLLBACK"));
    return TakeStatus::kError;
  }

  PGconn* conn_;
  PgPattern pattern_;
  std::string error_;
};

class PgBackend : public Backend {
 public:
  PgBackend(PgPattern pattern, bool sync_commit_off, const PgCluster* cluster)
      : pattern_(pattern), sync_commit_off_(sync_commit_off), cluster_(cluster) {}

  std::string system() const override {
    switch (pattern_) {
      case PgPattern::kSelectForUpdate: return "pg-for-update";
      case PgPattern::kConditionalUpdate: return "pg-cond-update";
      case PgPattern::kCheckConstraint: return "pg-check";
    }
    return "?";
  }
  std::string variant() const override { return sync_commit_off_ ? "sync_commit=off" : "shipped"; }

  absl::Status Load(std::uint32_t sku_count, std::int64_t stock_per_sku) override {
    absl::StatusOr<PGconn*> conn = Open(*cluster_);
    if (!conn.ok()) return conn.status();
    const std::string check = pattern_ == PgPattern::kCheckConstraint ? " CHECK (qty >= 0)" : "";
    // No NOTICE for the first DROP of a table that is not there yet.
    absl::Status s = Exec(*conn, "SET client_min_messages = warning");
    if (s.ok()) s = Exec(*conn, "DROP TABLE IF EXISTS stock");
    if (s.ok()) {
      s = Exec(*conn, "CREATE TABLE stock (id integer PRIMARY KEY, qty bigint NOT NULL" + check + ")");
    }
    if (s.ok()) {
      s = Exec(*conn, "INSERT INTO stock SELECT g, " + std::to_string(stock_per_sku) +
                          " FROM generate_series(0, " + std::to_string(sku_count - 1) + ") g");
    }
    // Every row starts from a vacuumed table and a fresh checkpoint.
    if (s.ok()) s = Exec(*conn, "VACUUM ANALYZE stock");
    if (s.ok()) s = Exec(*conn, "CHECKPOINT");
    PQfinish(*conn);
    sku_count_ = sku_count;
    return s;
  }

  absl::StatusOr<std::unique_ptr<BackendClient>> Connect() override {
    absl::StatusOr<PGconn*> conn = Open(*cluster_);
    if (!conn.ok()) return conn.status();
    auto client = std::make_unique<PgClient>(*conn, pattern_);  // owns conn from here
    if (sync_commit_off_) {
      if (absl::Status s = Exec(*conn, "SET synchronous_commit = off"); !s.ok()) return s;
    }
    if (absl::Status s = client->Prepare(); !s.ok()) return s;
    return std::unique_ptr<BackendClient>(std::move(client));
  }

  absl::StatusOr<std::vector<std::int64_t>> Levels() override {
    absl::StatusOr<PGconn*> conn = Open(*cluster_);
    if (!conn.ok()) return conn.status();
    Result r(PQexec(*conn, "SELECT id, qty FROM stock"));
    if (r.status() != PGRES_TUPLES_OK) {
      const std::string m = Message(*conn, "read levels");
      PQfinish(*conn);
      return absl::InternalError(m);
    }
    std::vector<std::int64_t> levels(sku_count_, 0);
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      const long long id = std::strtoll(PQgetvalue(r.get(), i, 0), nullptr, 10);
      if (id >= 0 && id < static_cast<long long>(sku_count_)) {
        levels[static_cast<std::size_t>(id)] = std::strtoll(PQgetvalue(r.get(), i, 1), nullptr, 10);
      }
    }
    PQfinish(*conn);
    return levels;
  }

 private:
  PgPattern pattern_;
  bool sync_commit_off_;
  const PgCluster* cluster_;
  std::uint32_t sku_count_ = 0;
};

}  // namespace

std::unique_ptr<Backend> MakePostgresBackend(PgPattern pattern, bool sync_commit_off,
                                             const PgCluster* cluster) {
  return std::make_unique<PgBackend>(pattern, sync_commit_off, cluster);
}

}  // namespace flashsale
