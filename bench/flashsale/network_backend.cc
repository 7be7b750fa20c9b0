// The network rows: the flash-sale take over real loopback sockets, to a
// server the bench starts for each row and stops by PID once it is checked.
//   flashstock-serve  `flashstock serve --port 0` (none, or a fresh journal
//                     under the work dir for async/sync); TAKE name units
//   redis-lua         redis-server on a free port, --save "" (and for aof
//                     --appendonly yes --appendfsync always); EVALSHA of the
//                     check-and-DECRBY script shops run for a flash sale
// One blocking hiredis connection per client thread. TakeBatch() appends a
// batch of commands to hiredis's output buffer, writes it at the first read,
// then reads the answers in order: pipelining as redis-benchmark -P does it.
#include "backends.h"

#if FLASHSALE_HAVE_HIREDIS
#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "child_process.h"

namespace flashsale {
namespace {

// The flash-sale pattern: check and decrement in one atomic script. -1 =
// refused (too few); otherwise the level after the take.
constexpr const char* kTakeScript =
    "local v = tonumber(redis.call('GET', KEYS[1])) if v >= tonumber(ARGV[1]) then "
    "return redis.call('DECRBY', KEYS[1], ARGV[1]) end return -1";
constexpr const char* kServeReadyPrefix = "flashstock serve: ready on ";
// How long a server may take to start answering.
constexpr std::chrono::milliseconds kStartTimeout{15'000};
// Commands in flight per write while loading and reading levels.
constexpr int kSetupBatch = 512;

enum class Protocol { kFlashstock, kRedisLua };

std::string SkuName(std::uint32_t sku) { return "sku-" + std::to_string(sku); }

// Owns one reply.
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;
struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

std::string Describe(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_ERROR: return "error reply '" + std::string(r->str, r->len) + "'";
    case REDIS_REPLY_STATUS: return "status reply '" + std::string(r->str, r->len) + "'";
    case REDIS_REPLY_STRING: return "bulk reply '" + std::string(r->str, r->len) + "'";
    case REDIS_REPLY_INTEGER: return "integer reply " + std::to_string(r->integer);
    case REDIS_REPLY_ARRAY: return "array reply of " + std::to_string(r->elements);
    case REDIS_REPLY_NIL: return "nil reply";
  }
  return "reply of type " + std::to_string(r->type);
}

absl::StatusOr<Context> Dial(int port) {
  Context c(redisConnect("127.0.0.1", port));
  if (c == nullptr) return absl::ResourceExhaustedError("hiredis: cannot allocate a context");
  if (c->err != 0) {
    return absl::UnavailableError("connect 127.0.0.1:" + std::to_string(port) + ": " + c->errstr);
  }
  return c;
}

// Sends every command (argv lists) in batches of kSetupBatch and returns the
// replies in order; fails on a connection error (reply errors are returned).
absl::StatusOr<std::vector<Reply>> Pipeline(redisContext* c,
                                            const std::vector<std::vector<std::string>>& commands) {
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (std::size_t start = 0; start < commands.size(); start += kSetupBatch) {
    const std::size_t end = std::min(commands.size(), start + kSetupBatch);
    for (std::size_t i = start; i < end; ++i) {
      std::vector<const char*> argv;
      std::vector<std::size_t> lens;
      for (const std::string& a : commands[i]) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
          REDIS_OK) {
        return absl::UnavailableError(std::string("hiredis: ") + c->errstr);
      }
    }
    for (std::size_t i = start; i < end; ++i) {
      void* r = nullptr;
      if (redisGetReply(c, &r) != REDIS_OK) {
        return absl::UnavailableError(std::string("hiredis: ") + c->errstr);
      }
      replies.emplace_back(static_cast<redisReply*>(r));
    }
  }
  return replies;
}

class NetworkClient : public BackendClient {
 public:
  // keys[sku] is the SKU's name; `sha` the script (redis-lua only).
  NetworkClient(Context c, Protocol protocol, const std::vector<std::string>* keys,
                std::string sha)
      : c_(std::move(c)), protocol_(protocol), keys_(keys), sha_(std::move(sha)) {}

  TakeStatus Take(std::uint32_t sku, std::int64_t units) override {
    if (!Append(sku, units)) return Fail();
    return Read();
  }

  void TakeBatch(const std::uint32_t* skus, int count, std::int64_t units,
                 TakeStatus* statuses) override {
    int sent = 0;
    while (sent < count && Append(skus[sent], units)) ++sent;
    for (int i = 0; i < count; ++i) statuses[i] = i < sent ? Read() : Fail();
  }

  std::string last_error() const override { return error_; }

 private:
  bool Append(std::uint32_t sku, std::int64_t units) {
    char n[24];
    const int n_len = std::snprintf(n, sizeof n, "%lld", static_cast<long long>(units));
    const std::string& key = (*keys_)[sku];
    if (protocol_ == Protocol::kFlashstock) {
      const char* argv[3] = {"TAKE", key.data(), n};
      const std::size_t lens[3] = {4, key.size(), static_cast<std::size_t>(n_len)};
      return redisAppendCommandArgv(c_.get(), 3, argv, lens) == REDIS_OK;
    }
    const char* argv[5] = {"EVALSHA", sha_.data(), "1", key.data(), n};
    const std::size_t lens[5] = {7, sha_.size(), 1, key.size(), static_cast<std::size_t>(n_len)};
    return redisAppendCommandArgv(c_.get(), 5, argv, lens) == REDIS_OK;
  }

  TakeStatus Read() {
    void* raw = nullptr;
    if (redisGetReply(c_.get(), &raw) != REDIS_OK) return Fail();
    const Reply r(static_cast<redisReply*>(raw));
    if (protocol_ == Protocol::kFlashstock) {
      if (r->type == REDIS_REPLY_INTEGER) return TakeStatus::kAccepted;
      if (r->type == REDIS_REPLY_ERROR && std::strncmp(r->str, "INSUFFICIENT", 12) == 0) {
        return TakeStatus::kRefused;
      }
    } else if (r->type == REDIS_REPLY_INTEGER) {
      if (r->integer == -1) return TakeStatus::kRefused;
      if (r->integer >= 0) return TakeStatus::kAccepted;
    }
    error_ = "take: " + Describe(r.get());
    return TakeStatus::kError;
  }

  TakeStatus Fail() {
    error_ = std::string("hiredis: ") + (c_->err != 0 ? c_->errstr : "unknown error");
    return TakeStatus::kError;
  }

  Context c_;
  Protocol protocol_;
  const std::vector<std::string>* keys_;
  std::string sha_;
  std::string error_;
};

class NetworkBackend : public Backend {
 public:
  NetworkBackend(Protocol protocol, std::string system, std::string variant, std::string program,
                 std::string work_dir)
      : protocol_(protocol),
        system_(std::move(system)),
        variant_(std::move(variant)),
        program_(std::move(program)),
        dir_(std::move(work_dir) + "/" + system_ + "-" + variant_) {}
  ~NetworkBackend() override { Unload(); }

  std::string system() const override { return system_; }
  std::string variant() const override { return variant_; }
  bool pipelines() const override { return true; }
  double ServerCpuSeconds() const override { return server_ ? server_->CpuSeconds() : -1; }

  absl::Status Load(std::uint32_t sku_count, std::int64_t stock_per_sku) override {
    Unload();
    // A fresh directory (journal, AOF) per row: each row starts from its own catalogue.
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    std::filesystem::create_directories(dir_, ec);
    if (ec) return absl::InternalError("create " + dir_ + ": " + ec.message());
    absl::Status started = protocol_ == Protocol::kFlashstock ? StartServe(sku_count) : StartRedis();
    if (!started.ok()) {
      Unload();
      return started;
    }
    absl::StatusOr<Context> control = Dial(port_);
    if (!control.ok()) return control.status();
    control_ = *std::move(control);

    keys_.clear();
    for (std::uint32_t i = 0; i < sku_count; ++i) keys_.push_back(SkuName(i));
    const std::string qty = std::to_string(stock_per_sku);
    std::vector<std::vector<std::string>> commands;
    for (const std::string& key : keys_) {
      commands.push_back({protocol_ == Protocol::kFlashstock ? "DEFINE" : "SET", key, qty});
    }
    absl::StatusOr<std::vector<Reply>> replies = Pipeline(control_.get(), commands);
    if (!replies.ok()) return replies.status();
    for (std::size_t i = 0; i < replies->size(); ++i) {
      const redisReply* r = (*replies)[i].get();
      const bool ok = protocol_ == Protocol::kFlashstock ? r->type == REDIS_REPLY_INTEGER
                                                         : r->type == REDIS_REPLY_STATUS;
      if (!ok) return absl::InternalError(system_ + ": define " + keys_[i] + ": " + Describe(r));
    }
    if (protocol_ == Protocol::kRedisLua) {
      absl::StatusOr<std::vector<Reply>> sha = Pipeline(control_.get(), {{"SCRIPT", "LOAD", kTakeScript}});
      if (!sha.ok()) return sha.status();
      const redisReply* r = (*sha)[0].get();
      if (r->type != REDIS_REPLY_STRING) return absl::InternalError("SCRIPT LOAD: " + Describe(r));
      sha_.assign(r->str, r->len);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<BackendClient>> Connect() override {
    absl::StatusOr<Context> c = Dial(port_);
    if (!c.ok()) return c.status();
    return std::unique_ptr<BackendClient>(new NetworkClient(*std::move(c), protocol_, &keys_, sha_));
  }

  absl::StatusOr<std::vector<std::int64_t>> Levels() override {
    std::vector<std::vector<std::string>> commands;
    for (const std::string& key : keys_) {
      commands.push_back({protocol_ == Protocol::kFlashstock ? "LEVEL" : "GET", key});
    }
    absl::StatusOr<std::vector<Reply>> replies = Pipeline(control_.get(), commands);
    if (!replies.ok()) return replies.status();
    std::vector<std::int64_t> levels;
    for (std::size_t i = 0; i < replies->size(); ++i) {
      const redisReply* r = (*replies)[i].get();
      if (protocol_ == Protocol::kFlashstock) {
        // available, held, sold. Held units are neither sold nor back in
        // stock: count them against the level, as the in-process row does.
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
            r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER) {
          return absl::InternalError("LEVEL " + keys_[i] + ": " + Describe(r));
        }
        levels.push_back(r->element[0]->integer + r->element[1]->integer);
      } else {
        if (r->type != REDIS_REPLY_STRING) return absl::InternalError("GET " + keys_[i] + ": " + Describe(r));
        levels.push_back(std::strtoll(std::string(r->str, r->len).c_str(), nullptr, 10));
      }
    }
    return levels;
  }

  // Stops the server by PID (SIGTERM, then wait): the next row gets a fresh one.
  void Unload() override {
    control_.reset();
    server_.reset();
  }

 private:
  absl::Status StartServe(std::uint32_t sku_count) {
    std::vector<std::string> argv = {program_, "serve", "--bind", "127.0.0.1", "--port", "0",
                                     "--skus-max", std::to_string(sku_count)};
    if (variant_ != "none") {
      argv.insert(argv.end(), {"--journal", dir_ + "/journal", "--durability", variant_});
    }
    absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Spawn(argv, dir_ + "/log");
    if (!child.ok()) return child.status();
    server_ = *std::move(child);
    absl::StatusOr<std::string> addr = server_->WaitForLogLine(kServeReadyPrefix, kStartTimeout);
    if (!addr.ok()) return addr.status();
    const std::size_t colon = addr->rfind(':');
    port_ = colon == std::string::npos ? 0 : std::atoi(addr->c_str() + colon + 1);
    if (port_ <= 0) return absl::InternalError("flashstock serve: cannot read a port in '" + *addr + "'");
    return absl::OkStatus();
  }

  absl::Status StartRedis() {
    absl::StatusOr<int> port = FreeLoopbackPort();
    if (!port.ok()) return port.status();
    port_ = *port;
    std::vector<std::string> argv = {program_, "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                     "--save", "", "--dir", dir_, "--daemonize", "no"};
    if (variant_ == "aof") argv.insert(argv.end(), {"--appendonly", "yes", "--appendfsync", "always"});
    absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Spawn(argv, dir_ + "/log");
    if (!child.ok()) return child.status();
    server_ = *std::move(child);
    // redis-server cannot print a port it picked: poll with PING until it answers.
    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    for (;;) {
      absl::StatusOr<Context> c = Dial(port_);
      if (c.ok()) {
        Reply r(static_cast<redisReply*>(redisCommand(c->get(), "PING")));
        if (r != nullptr && r->type == REDIS_REPLY_STATUS) return absl::OkStatus();
      }
      if (!server_->Running()) return absl::UnavailableError("redis-server exited: " + server_->Log());
      if (std::chrono::steady_clock::now() >= deadline) {
        return absl::DeadlineExceededError("redis-server did not answer PING on port " +
                                           std::to_string(port_) + ": " + server_->Log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  const Protocol protocol_;
  const std::string system_, variant_, program_, dir_;
  std::unique_ptr<ChildProcess> server_;
  int port_ = 0;
  Context control_;
  std::vector<std::string> keys_;
  std::string sha_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> MakeFlashstockServeBackend(const std::string& variant,
                                                                    const std::string& flashstock_bin,
                                                                    const std::string& work_dir) {
  if (flashstock_bin.empty() || !Executable(flashstock_bin)) {
    return absl::NotFoundError("no flashstock binary at '" + flashstock_bin +
                               "' (build the flashstock target or give --flashstock-bin)");
  }
  return std::unique_ptr<Backend>(
      new NetworkBackend(Protocol::kFlashstock, "flashstock-serve", variant, flashstock_bin, work_dir));
}

absl::StatusOr<std::unique_ptr<Backend>> MakeRedisLuaBackend(const std::string& variant,
                                                             const std::string& redis_bin,
                                                             const std::string& work_dir) {
  if (!Executable(redis_bin)) {
    return absl::NotFoundError("no redis-server at '" + redis_bin +
                               "' (apt-get install redis-server, or give --redis-bin)");
  }
  return std::unique_ptr<Backend>(
      new NetworkBackend(Protocol::kRedisLua, "redis-lua", variant, redis_bin, work_dir));
}

}  // namespace flashsale
#else  // !FLASHSALE_HAVE_HIREDIS

namespace flashsale {

absl::StatusOr<std::unique_ptr<Backend>> MakeFlashstockServeBackend(const std::string&,
                                                                    const std::string&,
                                                                    const std::string&) {
  return absl::UnimplementedError("built without hiredis (apt-get install libhiredis-dev)");
}

absl::StatusOr<std::unique_ptr<Backend>> MakeRedisLuaBackend(const std::string&, const std::string&,
                                                             const std::string&) {
  return absl::UnimplementedError("built without hiredis (apt-get install libhiredis-dev)");
}

}  // namespace flashsale

#endif  // FLASHSALE_HAVE_HIREDIS
