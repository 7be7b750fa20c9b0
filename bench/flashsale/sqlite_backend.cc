// SQLite in WAL mode, one connection per client, the conditional UPDATE:
//   UPDATE stock SET qty = qty - ?2 WHERE id = ?1 AND qty >= ?2
// A writer waits for the database lock through busy_timeout, as an
// application would configure it.
#include <sqlite3.h>

#include <filesystem>

#include "backends.h"

namespace flashsale {
namespace {

// How long a writer waits for the lock before SQLITE_BUSY becomes an error.
constexpr int kBusyTimeoutMs = 30'000;

std::string Err(sqlite3* db, const std::string& what) {
  return "sqlite: " + what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory");
}

absl::StatusOr<sqlite3*> Open(const std::string& path, const std::string& synchronous) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = Err(db, "open " + path);
    sqlite3_close(db);
    return absl::UnavailableError(message);
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  const std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=" + synchronous + ";";
  if (sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    const std::string message = Err(db, pragmas);
    sqlite3_close(db);
    return absl::InternalError(message);
  }
  return db;
}

class SqliteClient : public BackendClient {
 public:
  SqliteClient(sqlite3* db, sqlite3_stmt* take) : db_(db), take_(take) {}
  ~SqliteClient() override {
    sqlite3_finalize(take_);
    sqlite3_close(db_);
  }

  TakeStatus Take(std::uint32_t sku, std::int64_t units) override {
    sqlite3_bind_int64(take_, 1, sku);
    sqlite3_bind_int64(take_, 2, units);
    const int rc = sqlite3_step(take_);
    sqlite3_reset(take_);
    if (rc != SQLITE_DONE) {
      error_ = Err(db_, "take");
      return TakeStatus::kError;
    }
    return sqlite3_changes(db_) == 1 ? TakeStatus::kAccepted : TakeStatus::kRefused;
  }
  std::string last_error() const override { return error_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* take_;
  std::string error_;
};

class SqliteBackend : public Backend {
 public:
  SqliteBackend(std::string synchronous, std::string work_dir)
      : synchronous_(std::move(synchronous)),
        path_(work_dir + "/sqlite-" + synchronous_ + ".db") {}

  std::string system() const override { return "sqlite"; }
  std::string variant() const override { return "wal/" + synchronous_; }

  absl::Status Load(std::uint32_t sku_count, std::int64_t stock_per_sku) override {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix, ignored);
    absl::StatusOr<sqlite3*> db = Open(path_, synchronous_);
    if (!db.ok()) return db.status();
    const std::string sql =
        "CREATE TABLE stock (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL);"
        "WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i + 1 < " +
        std::to_string(sku_count) + ") INSERT INTO stock SELECT i, " +
        std::to_string(stock_per_sku) + " FROM g; PRAGMA wal_checkpoint(TRUNCATE);";
    absl::Status status;
    if (sqlite3_exec(*db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      status = absl::InternalError(Err(*db, "load"));
    }
    sqlite3_close(*db);
    sku_count_ = sku_count;
    return status;
  }

  absl::StatusOr<std::unique_ptr<BackendClient>> Connect() override {
    absl::StatusOr<sqlite3*> db = Open(path_, synchronous_);
    if (!db.ok()) return db.status();
    sqlite3_stmt* take = nullptr;
    if (sqlite3_prepare_v2(*db, "UPDATE stock SET qty = qty - ?2 WHERE id = ?1 AND qty >= ?2", -1,
                           &take, nullptr) != SQLITE_OK) {
      const std::string message = Err(*db, "prepare");
      sqlite3_close(*db);
      return absl::InternalError(message);
    }
    return std::unique_ptr<BackendClient>(new SqliteClient(*db, take));
  }

  absl::StatusOr<std::vector<std::int64_t>> Levels() override {
    absl::StatusOr<sqlite3*> db = Open(path_, synchronous_);
    if (!db.ok()) return db.status();
    std::vector<std::int64_t> levels(sku_count_, 0);
    sqlite3_stmt* read = nullptr;
    absl::Status status;
    if (sqlite3_prepare_v2(*db, "SELECT id, qty FROM stock", -1, &read, nullptr) != SQLITE_OK) {
      status = absl::InternalError(Err(*db, "prepare levels"));
    } else {
      int rc;
      while ((rc = sqlite3_step(read)) == SQLITE_ROW) {
        const std::int64_t id = sqlite3_column_int64(read, 0);
        if (id >= 0 && id < static_cast<std::int64_t>(sku_count_)) {
          levels[static_cast<std::size_t>(id)] = sqlite3_column_int64(read, 1);
        }
      }
      if (rc != SQLITE_DONE) status = absl::InternalError(Err(*db, "read levels"));
    }
    sqlite3_finalize(read);
    sqlite3_close(*db);
    if (!status.ok()) return status;
    return levels;
  }

 private:
  std::string synchronous_;
  std::string path_;
  std::uint32_t sku_count_ = 0;
};

}  // namespace

std::unique_ptr<Backend> MakeSqliteBackend(const std::string& synchronous,
                                           const std::string& work_dir) {
  return std::make_unique<SqliteBackend>(synchronous, work_dir);
}

}  // namespace flashsale
