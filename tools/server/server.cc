#include "server/server.h"

#include <fnmatch.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include <boost/asio.hpp>
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "command/command.h"
#include "server/resp.h"

namespace flashstock::server {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

absl::string_view A(std::string_view s) { return {s.data(), s.size()}; }
bool Is(std::string_view a, std::string_view b) { return absl::EqualsIgnoreCase(A(a), A(b)); }

constexpr std::string_view kVersion = "0.1.0";
// First read buffer per connection; it doubles up to kFrameBytesMax for a
// frame that does not fit.
constexpr std::size_t kReadBufferBytes = 16 * 1024;
// An unfinished frame past this many bytes closes the connection: memory
// per connection is bounded by it (plus the send buffer below).
constexpr std::size_t kFrameBytesMax = 1024 * 1024;
static_assert(kFrameBytesMax >= kInlineBytesMax + 2, "an inline line at its limit fits");
static_assert(kFrameBytesMax >= 2 * kBulkBytesMax, "a command with the largest bulk fits");
// Stop running a read batch's commands once this much output is waiting;
// the rest runs after the write. Bounds the send buffer of a client that
// pipelines without reading: it is never read from while a write is pending.
constexpr std::size_t kOutputBytesSoftMax = 256 * 1024;
// How long a stopping server lets connections finish writing their answers.
constexpr auto kStopGrace = std::chrono::seconds(5);

// Redis's errors, word for word (clients match on them).
constexpr std::string_view kNoAuth = "NOAUTH Authentication required.";
constexpr std::string_view kWrongPass = "WRONGPASS invalid username-password pair or user is disabled.";
constexpr std::string_view kMaxClients = "-ERR max number of clients reached\r\n";

// The server's own commands (the engine's verbs are in the command module).
enum class Cmd : std::uint8_t {
  kPing, kEcho, kHello, kAuth, kClient, kSelect, kQuit, kReset, kInfo, kConfig, kCommand, kDbsize,
  kShutdown, kMulti, kExec, kDiscard, kWatch, kUnwatch,
};
struct CmdSpec {
  Cmd cmd;
  std::string_view name;  // lower case
  int arity;              // Redis's: n exact (with the name), -n at least n
  std::string_view flags;
};
constexpr CmdSpec kCmds[] = {
    {Cmd::kPing, "ping", -1, "fast"},        {Cmd::kEcho, "echo", 2, "fast"},
    {Cmd::kHello, "hello", -1, "fast"},      {Cmd::kAuth, "auth", -2, "fast"},
    {Cmd::kClient, "client", -2, "admin"},   {Cmd::kSelect, "select", 2, "fast"},
    {Cmd::kQuit, "quit", -1, "fast"},        {Cmd::kReset, "reset", 1, "fast"},
    {Cmd::kInfo, "info", -1, "admin"},       {Cmd::kConfig, "config", -2, "admin"},
    {Cmd::kCommand, "command", -1, "admin"}, {Cmd::kDbsize, "dbsize", 1, "readonly"},
    {Cmd::kShutdown, "shutdown", -1, "admin"}, {Cmd::kMulti, "multi", 1, "fast"},
    {Cmd::kExec, "exec", 1, "write"},        {Cmd::kDiscard, "discard", 1, "fast"},
    {Cmd::kWatch, "watch", -2, "fast"},      {Cmd::kUnwatch, "unwatch", 1, "fast"},
};

// Metrics label commands by verb: the engine's verbs, then the server's
// commands, then "other" (unknown commands): a fixed, small label set.
constexpr std::size_t kServerCmds = std::size(kCmds);
constexpr std::size_t kEngineVerbs = 12;
constexpr std::size_t kMetricVerbs = kEngineVerbs + kServerCmds + 1;
constexpr std::size_t kMetricOther = kMetricVerbs - 1;
// Command latency buckets (upper bounds, nanoseconds); one more for +Inf.
constexpr std::uint64_t kLatencyBoundsNanos[] = {1000,   2000,   5000,    10000,   20000,    50000,   100000,
                                                 200000, 500000, 1000000, 5000000, 20000000, 100000000};
constexpr std::size_t kLatencyBuckets = std::size(kLatencyBoundsNanos) + 1;

std::size_t LatencyBucket(std::uint64_t nanos) {
  std::size_t b = 0;
  while (b < std::size(kLatencyBoundsNanos) && nanos > kLatencyBoundsNanos[b]) ++b;
  return b;
}

const CmdSpec* FindCmd(std::string_view name) {
  for (const CmdSpec& c : kCmds) {
    if (Is(c.name, name)) return &c;
  }
  return nullptr;
}

bool ArityOk(int arity, std::size_t argc) {
  return arity >= 0 ? argc == static_cast<std::size_t>(arity) : argc >= static_cast<std::size_t>(-arity);
}

std::string LowerCopy(std::string_view s) { return absl::AsciiStrToLower(A(s)); }

bool IsLoopback(const asio::ip::address& a) { return a.is_loopback(); }

template <typename Duration>
std::uint64_t Nanos(Duration d) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

}  // namespace

class Connection;

// Figures one io thread keeps. Written only by its thread (relaxed load +
// store, no read-modify-write: no shared line bounces per command); read by
// INFO from any thread, relaxed: each figure stands alone.
struct alignas(64) WorkerStats {
  std::atomic<std::uint64_t> commands{0};
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> busy_nanos{0};  // time spent running read batches
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> protocol_errors{0};
  std::atomic<std::uint64_t> output_limit_closes{0};
  // By metric verb: [0] ok, [1] error replies; latency buckets (not
  // cumulative; the last is +Inf) and the sum.
  std::atomic<std::uint64_t> calls[kMetricVerbs][2] = {};
  std::atomic<std::uint64_t> latency[kMetricVerbs][kLatencyBuckets] = {};
  std::atomic<std::uint64_t> latency_sum_nanos[kMetricVerbs] = {};
  // Sync replies: batches held for the journal, and how long they waited.
  std::atomic<std::uint64_t> durable_waits{0};
  std::atomic<std::uint64_t> last_durable_wait_nanos{0};
  std::atomic<std::uint64_t> durable_wait_buckets[kLatencyBuckets] = {};
  std::atomic<std::uint64_t> durable_wait_sum_nanos{0};

  void Record(std::size_t verb, bool error, std::uint64_t nanos) {
    Add(calls[verb][error ? 1 : 0], 1);
    Add(latency[verb][LatencyBucket(nanos)], 1);
    Add(latency_sum_nanos[verb], nanos);
  }

  static void Add(std::atomic<std::uint64_t>& a, std::uint64_t n) {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

struct Worker {
  explicit Worker(int index) : index(index), io(1), guard(asio::make_work_guard(io)) {}
  int index;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::thread thread;
  std::unordered_set<Connection*> connections;  // this thread's
  bool stopping = false;
  // Stopping: connections still writing after kStopGrace are closed (a
  // client that never reads must not hold the shutdown).
  std::optional<asio::steady_timer> stop_timer;
  // Ticks while the worker runs: closes connections whose answers stay
  // unread past the stall limit.
  std::optional<asio::steady_timer> stall_sweep;
  WorkerStats stats;

  // Sync replies held until the journal has them, oldest first. The io
  // thread adds; the journal thread's listener looks at the front and posts
  // one drain. Points only grow along the queue: one io thread is one
  // journal producer, and control records are counted globally.
  struct DurableWait {
    Engine::DurablePoint point;
    std::shared_ptr<Connection> connection;
    std::chrono::steady_clock::time_point since;
    Engine::PointState state = Engine::PointState::kPending;
  };
  std::mutex durable_mu;
  std::deque<DurableWait> durable_waits;  // guarded by durable_mu
  bool drain_posted = false;              // guarded by durable_mu
  std::vector<DurableWait> ready;         // this thread's, reused per drain
};

class ServerImpl final : public Engine::DurableListener {
 public:
  ServerImpl(Engine* engine, ServerOptions options) : engine_(engine), options_(std::move(options)) {}
  ~ServerImpl() {
    Stop();
    Wait();
  }

  absl::Status Start();
  void Stop();
  void Wait();
  std::uint16_t port() const { return port_; }
  std::vector<std::string> listening() const { return listening_; }

  Engine* engine() const { return engine_; }
  const ServerOptions& options() const { return options_; }
  std::uint64_t NextClientId() { return next_client_id_.fetch_add(1, std::memory_order_relaxed) + 1; }
  void ClientClosed() { clients_.fetch_sub(1, std::memory_order_relaxed); }
  // Holds a batch's answers until what this thread changed is durable.
  void AwaitDurable(Worker* w, std::shared_ptr<Connection> c);
  void OnJournalProgress() override;
  std::string Info(std::string_view section) const;
  std::vector<prometheus::MetricFamily> CollectMetrics() const;
  int metrics_port() const { return metrics_port_; }
  void ConfigGet(std::string_view pattern, std::vector<std::pair<std::string, std::string>>* out) const;

 private:
  void Accept(std::size_t acceptor);
  void DrainDurable(Worker* w);
  void SweepStalls(Worker* w);
  absl::Status FailureStatus() const;

  Engine* engine_;
  ServerOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::optional<asio::signal_set> signals_;
  std::uint16_t port_ = 0;
  std::vector<std::string> listening_;
  std::size_t next_worker_ = 0;  // accept loop only (worker 0's thread)
  // Relaxed: a count, changed once per connection, published nothing.
  std::atomic<std::size_t> clients_{0};
  std::atomic<std::uint64_t> next_client_id_{0};
  std::atomic<bool> stop_requested_{false};
  std::mutex wait_mu_;
  bool joined_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

  bool listening_to_journal_ = false;

  // Last: the scrape threads stop first, while everything they read lives.
  int metrics_port_ = 0;
  std::shared_ptr<prometheus::Collectable> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

// Builds the metric families on each scrape, from the per-thread figures.
class MetricsCollector : public prometheus::Collectable {
 public:
  explicit MetricsCollector(const ServerImpl* server) : server_(server) {}
  std::vector<prometheus::MetricFamily> Collect() const override { return server_->CollectMetrics(); }

 private:
  const ServerImpl* server_;
};

// One client. Owned by one worker thread: every member is touched only on
// that thread (a held sync reply's queue entry only holds a reference).
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerImpl* server, Worker* worker, tcp::socket socket)
      : server_(server), worker_(worker), socket_(std::move(socket)), in_(kReadBufferBytes),
        id_(server->NextClientId()), authed_(server->options().password.empty()) {
    out_.reserve(kReadBufferBytes);
    args_.reserve(16);
  }

  void Start() {
    worker_->connections.insert(this);
    boost::system::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
    auto endpoint = socket_.remote_endpoint(ec);
    if (!ec) peer_ = absl::StrCat(endpoint.address().to_string(), ":", endpoint.port());
    Read();
  }

  // Server stopping: an idle connection closes now; one with a batch in
  // hand closes once that batch's (durable) answers are written.
  void ForceClose() {
    boost::system::error_code ec;
    socket_.close(ec);  // a pending write completes with an error, then Close()
  }

  void OnStop() {
    closing_ = true;
    if (state_ == State::kReading) {
      boost::system::error_code ec;
      socket_.cancel(ec);
    }
  }

  asio::io_context& io() { return worker_->io; }

  // On this connection's thread, once its batch is durable (or cannot be).
  void OnDurable(const absl::Status& status) {
    durable_guard_.reset();
    if (!status.ok()) {
      // Nothing in this batch may be answered as done: the journal could not
      // make it durable. Every answer of the batch becomes READONLY.
      out_.clear();
      const std::string reason = absl::StrCat("READONLY ", status.message());
      for (std::size_t i = 0; i < batch_replies_; ++i) writer_.Error(reason);
    }
    Send();
  }

 private:
  enum class State : std::uint8_t { kReading, kBusy, kClosed };

  void Read() {
    if (closing_) return Close();
    state_ = State::kReading;
    if (in_len_ == in_.size()) in_.resize(std::min(in_.size() * 2, kFrameBytesMax + kReadBufferBytes));
    socket_.async_read_some(asio::buffer(in_.data() + in_len_, in_.size() - in_len_),
                            [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                              self->OnRead(ec, n);
                            });
  }

  void OnRead(const boost::system::error_code& ec, std::size_t n) {
    if (ec) return Close();
    state_ = State::kBusy;
    in_len_ += n;
    RunBatch();
  }

  // Runs every complete command in the read buffer (up to the output soft
  // limit), then writes their answers once, after the durable wait if any
  // of them changed the engine.
  void RunBatch() {
    const auto t0 = std::chrono::steady_clock::now();
    batch_replies_ = 0;
    need_durable_ = false;
    more_ = false;
    std::size_t pos = 0;
    std::uint64_t commands = 0;
    auto t_prev = t0;
    while (!closing_) {
      if (out_.size() >= kOutputBytesSoftMax) {
        more_ = true;
        break;
      }
      const ParseLimits limits = authed_ ? ParseLimits{} : ParseLimits{kUnauthArgsMax, kUnauthBulkBytesMax};
      ParseResult r = ParseCommand(std::string_view(in_.data() + pos, in_len_ - pos), limits, &args_);
      if (r.status == ParseStatus::kIncomplete) break;
      if (r.status == ParseStatus::kError) {
        ProtocolError(r.error);
        break;
      }
      pos += r.consumed;
      if (args_.empty()) continue;
      ++commands;
      const std::size_t out_before = out_.size();
      metric_ = kMetricOther;
      Dispatch(args_);
      // One clock read per command: its latency runs from the end of the
      // previous one (so it includes parsing it).
      const auto now = std::chrono::steady_clock::now();
      const bool error = out_.size() > out_before && out_[out_before] == '-';
      worker_->stats.Record(metric_, error, Nanos(now - t_prev));
      t_prev = now;
    }
    if (pos > 0) {
      std::memmove(in_.data(), in_.data() + pos, in_len_ - pos);
      in_len_ -= pos;
    }
    if (!closing_ && !more_ && in_len_ > kFrameBytesMax) {
      ProtocolError(absl::StrCat("Protocol error: a frame longer than ", kFrameBytesMax, " bytes"));
    }
    WorkerStats& s = worker_->stats;
    WorkerStats::Add(s.commands, commands);
    WorkerStats::Add(s.batches, 1);
    WorkerStats::Add(s.busy_nanos, Nanos(t_prev - t0));
    if (need_durable_) {
      durable_guard_.emplace(asio::make_work_guard(worker_->io));
      server_->AwaitDurable(worker_, shared_from_this());
      return;
    }
    Send();
  }

  void Send() {
    if (out_.empty()) return AfterSend();
    // The stall sweep closes a client that leaves this write pending past
    // --client-output-stall-ms (one clock read per batch, no timer per write).
    writing_since_ = std::chrono::steady_clock::now();
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                        self->writing_ = false;
                        if (ec) return self->Close();
                        self->out_.clear();
                        self->AfterSend();
                      });
  }

 public:
  // From the worker's stall sweep: a client that has not taken its answers
  // for the stall limit is not keeping up with what it asks for; close it
  // (Redis's client-output-buffer-limit). Memory was bounded meanwhile: a
  // connection runs no more commands while its answers are unsent.
  void CloseIfStalled(std::chrono::steady_clock::time_point now) {
    const auto limit = server_->options().output_stall;
    if (!writing_ || state_ == State::kClosed || now - writing_since_ < limit) return;
    WorkerStats::Add(worker_->stats.output_limit_closes, 1);
    std::fprintf(stderr, "flashstock serve: closing client %s: %zu bytes of answers unread for %lld ms\n",
                 peer_.c_str(), out_.size(), static_cast<long long>(limit.count()));
    writing_ = false;
    boost::system::error_code ec;
    socket_.close(ec);  // the pending write completes with an error, then Close()
  }

 private:
  void AfterSend() {
    if (closing_) return Close();
    if (more_) return RunBatch();
    Read();
  }

  void ProtocolError(std::string_view error) {
    WorkerStats::Add(worker_->stats.protocol_errors, 1);
    std::fprintf(stderr, "flashstock serve: closing client %s: %.*s\n", peer_.c_str(), static_cast<int>(error.size()),
                 error.data());
    writer_.Error("ERR", error);
    closing_ = true;
  }

  void Close() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    closing_ = true;
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    worker_->connections.erase(this);
    server_->ClientClosed();
    if (worker_->stopping && worker_->connections.empty() && worker_->stop_timer) worker_->stop_timer->cancel();
  }

  void Reply() { ++batch_replies_; }

  void WrongArity(std::string_view name) {
    writer_.Error(absl::StrCat("ERR wrong number of arguments for '", LowerCopy(name), "' command"));
  }

  void UnknownCommand(std::span<const std::string_view> args) {
    std::string text = absl::StrCat("ERR unknown command '", A(args[0].substr(0, 128)), "', with args beginning with: ");
    for (std::size_t i = 1; i < args.size() && text.size() < 512; ++i) {
      absl::StrAppend(&text, "'", A(args[i].substr(0, 128)), "' ");
    }
    writer_.Error(text);
  }

  // Looks like the start of an HTTP request: Redis's cross-protocol guard.
  bool LooksLikeHttp(std::span<const std::string_view> args) const {
    if (Is(args[0], "POST") || Is(args[0], "Host:")) return true;
    return Is(args[0], "GET") && args.size() > 1 && !args[1].empty() && args[1][0] == '/';
  }

  void Dispatch(std::span<const std::string_view> args) {
    Reply();
    if (!in_exec_) {
      const CmdSpec* top = FindCmd(args[0]);
      if (top != nullptr) metric_ = kEngineVerbs + static_cast<std::size_t>(top - kCmds);
    }
    if (LooksLikeHttp(args)) {
      std::fprintf(stderr,
                   "flashstock serve: possible SECURITY ATTACK detected: a client at %s sent what looks like HTTP "
                   "(POST, GET / or Host:) to the RESP port; connection aborted.\n",
                   peer_.c_str());
      --batch_replies_;
      closing_ = true;
      return;
    }
    const CmdSpec* spec = FindCmd(args[0]);
    if (!authed_ && !(spec != nullptr && (spec->cmd == Cmd::kAuth || spec->cmd == Cmd::kHello ||
                                          spec->cmd == Cmd::kQuit))) {
      return writer_.Error(kNoAuth);
    }
    if (in_multi_ && !(spec != nullptr && (spec->cmd == Cmd::kExec || spec->cmd == Cmd::kDiscard ||
                                           spec->cmd == Cmd::kMulti || spec->cmd == Cmd::kWatch ||
                                           spec->cmd == Cmd::kQuit || spec->cmd == Cmd::kReset))) {
      return Queue(args, spec);
    }
    if (spec == nullptr) return ExecuteVerb(args);
    if (!ArityOk(spec->arity, args.size())) return WrongArity(spec->name);
    ExecuteServerCommand(*spec, args);
  }

  void ExecuteVerb(std::span<const std::string_view> args) {
    command::Execute(server_->engine(), args, &answer_);
    if (!in_exec_ && answer_.verb_index >= 0) metric_ = static_cast<std::size_t>(answer_.verb_index);
    switch (answer_.kind) {
      case command::AnswerKind::kOk: {
        const auto& f = answer_.fields;
        if (f.empty()) {
          writer_.Simple("OK");
        } else if (f.size() == 1 && !f[0].is_text) {
          writer_.Integer(f[0].number);
        } else {
          writer_.ArrayHeader(f.size());
          for (const command::Field& field : f) {
            if (field.is_text) {
              writer_.Bulk(field.text);
            } else {
              writer_.Integer(field.number);
            }
          }
        }
        break;
      }
      case command::AnswerKind::kError: writer_.Error(answer_.error); break;
      case command::AnswerKind::kWrongArity: WrongArity(answer_.verb_name); break;
      case command::AnswerKind::kUnknownVerb: UnknownCommand(args); break;
    }
    if (answer_.changes && server_->options().sync_replies) need_durable_ = true;
  }

  // MULTI: checks the command now (as Redis does) and keeps a copy of it;
  // the read buffer it points into moves on.
  void Queue(std::span<const std::string_view> args, const CmdSpec* spec) {
    if (spec == nullptr) {
      const command::VerbCheck check = command::Check(args);
      if (check == command::VerbCheck::kUnknownVerb) {
        multi_failed_ = true;
        return UnknownCommand(args);
      }
      if (check == command::VerbCheck::kWrongArity) {
        multi_failed_ = true;
        return WrongArity(args[0]);
      }
    } else if (!ArityOk(spec->arity, args.size())) {
      multi_failed_ = true;
      return WrongArity(spec->name);
    }
    multi_argc_.push_back(static_cast<std::uint32_t>(args.size()));
    for (std::string_view a : args) {
      multi_arg_ends_.push_back(multi_bytes_.size() + a.size());
      multi_bytes_.append(a);
    }
    writer_.Simple("QUEUED");
  }

  void ClearMulti() {
    in_multi_ = false;
    multi_failed_ = false;
    multi_argc_.clear();
    multi_arg_ends_.clear();
    multi_bytes_.clear();
  }

  void Exec() {
    if (!in_multi_) return writer_.Error("ERR EXEC without MULTI");
    if (multi_failed_) {
      ClearMulti();
      return writer_.Error("EXECABORT Transaction discarded because of previous errors.");
    }
    in_multi_ = false;
    // Move the queue out: a queued command may not start another one.
    std::string bytes = std::move(multi_bytes_);
    std::vector<std::uint32_t> argc = std::move(multi_argc_);
    std::vector<std::size_t> ends = std::move(multi_arg_ends_);
    ClearMulti();
    writer_.ArrayHeader(argc.size());
    std::vector<std::string_view> args;
    std::size_t arg = 0;
    std::size_t start = 0;
    in_exec_ = true;  // metrics count the EXEC, not what it runs
    for (std::uint32_t n : argc) {
      args.clear();
      for (std::uint32_t i = 0; i < n; ++i, ++arg) {
        args.emplace_back(bytes.data() + start, ends[arg] - start);
        start = ends[arg];
      }
      Dispatch(args);
      --batch_replies_;  // one reply (the array) for the whole EXEC
    }
    in_exec_ = false;
  }

  void Hello(std::span<const std::string_view> args) {
    int proto = resp3_ ? 3 : 2;
    std::size_t i = 1;
    if (args.size() > 1) {
      std::int64_t v = 0;
      if (!absl::SimpleAtoi(A(args[1]), &v)) {
        return writer_.Error("ERR Protocol version is not an integer or out of range");
      }
      if (v != 2 && v != 3) return writer_.Error("NOPROTO unsupported protocol version");
      proto = static_cast<int>(v);
      i = 2;
    }
    std::string_view setname{};
    bool has_setname = false;
    for (; i < args.size(); ++i) {
      if (Is(args[i], "AUTH") && i + 2 < args.size()) {
        if (!CheckPassword(args[i + 1], args[i + 2])) return writer_.Error(kWrongPass);
        authed_ = true;
        i += 2;
      } else if (Is(args[i], "SETNAME") && i + 1 < args.size()) {
        setname = args[++i];
        has_setname = true;
      } else {
        return writer_.Error(absl::StrCat("ERR Syntax error in HELLO option '", A(args[i]), "'"));
      }
    }
    if (!authed_) {
      return writer_.Error(
          "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH "
          "<user> <pass> option can be used to authenticate the client and select the RESP protocol version at the "
          "same time");
    }
    if (has_setname) name_.assign(setname);
    resp3_ = proto == 3;
    writer_.set_resp3(resp3_);
    writer_.MapHeader(7);
    writer_.Bulk("server");
    writer_.Bulk("flashstock");
    writer_.Bulk("version");
    writer_.Bulk(kVersion);
    writer_.Bulk("proto");
    writer_.Integer(proto);
    writer_.Bulk("id");
    writer_.Integer(static_cast<std::int64_t>(id_));
    writer_.Bulk("mode");
    writer_.Bulk("standalone");
    writer_.Bulk("role");
    writer_.Bulk("master");
    writer_.Bulk("modules");
    writer_.ArrayHeader(0);
  }

  // Compares without an early exit on the first differing byte.
  bool CheckPassword(std::string_view user, std::string_view password) const {
    if (user != "default") return false;
    const std::string& want = server_->options().password;
    if (want.empty()) return true;  // the default user has no password
    unsigned diff = want.size() == password.size() ? 0 : 1;
    for (std::size_t i = 0; i < password.size(); ++i) {
      diff |= static_cast<unsigned char>(password[i]) ^ static_cast<unsigned char>(want[i % want.size()]);
    }
    return diff == 0;
  }

  void Auth(std::span<const std::string_view> args) {
    if (args.size() > 3) return writer_.Error("ERR syntax error");
    if (server_->options().password.empty()) {
      return writer_.Error(
          "ERR AUTH <password> called without any password configured for the default user. Are you sure your "
          "configuration is correct?");
    }
    const std::string_view user = args.size() == 3 ? args[1] : std::string_view("default");
    if (!CheckPassword(user, args.back())) return writer_.Error(kWrongPass);
    authed_ = true;
    writer_.Simple("OK");
  }

  void Client(std::span<const std::string_view> args) {
    const std::string_view sub = args[1];
    if (Is(sub, "SETNAME") && args.size() == 3) {
      if (args[2].find_first_of(" \n\r") != std::string_view::npos) {
        return writer_.Error("ERR Client names cannot contain spaces, newlines or special characters.");
      }
      name_.assign(args[2]);
      return writer_.Simple("OK");
    }
    if (Is(sub, "GETNAME") && args.size() == 2) return name_.empty() ? writer_.Null() : writer_.Bulk(name_);
    if (Is(sub, "ID") && args.size() == 2) return writer_.Integer(static_cast<std::int64_t>(id_));
    if (Is(sub, "SETINFO") && args.size() == 4) return writer_.Simple("OK");
    if (Is(sub, "SETNAME") || Is(sub, "GETNAME") || Is(sub, "ID") || Is(sub, "SETINFO")) {
      return writer_.Error(absl::StrCat("ERR wrong number of arguments for 'client|", LowerCopy(sub), "' command"));
    }
    writer_.Error(absl::StrCat("ERR unknown subcommand '", A(sub.substr(0, 128)), "'. Try CLIENT HELP."));
  }

  void Config(std::span<const std::string_view> args) {
    if (Is(args[1], "GET")) {
      if (args.size() < 3) return writer_.Error("ERR wrong number of arguments for 'config|get' command");
      std::vector<std::pair<std::string, std::string>> pairs;
      for (std::size_t i = 2; i < args.size(); ++i) server_->ConfigGet(args[i], &pairs);
      writer_.MapHeader(pairs.size());
      for (const auto& [k, v] : pairs) {
        writer_.Bulk(k);
        writer_.Bulk(v);
      }
      return;
    }
    writer_.Error(absl::StrCat("ERR CONFIG ", absl::AsciiStrToUpper(A(args[1])),
                               " is not supported by flashstock (only CONFIG GET)"));
  }

  void Command(std::span<const std::string_view> args) {
    const std::span<const std::string_view> verbs = command::Verbs();
    const std::size_t total = verbs.size() + std::size(kCmds);
    if (args.size() >= 2 && Is(args[1], "COUNT")) return writer_.Integer(static_cast<std::int64_t>(total));
    if (args.size() >= 2 && Is(args[1], "DOCS")) return writer_.MapHeader(0);
    if (args.size() >= 2 && Is(args[1], "LIST")) {
      writer_.ArrayHeader(total);
      for (std::string_view v : verbs) writer_.Bulk(LowerCopy(v));
      for (const CmdSpec& c : kCmds) writer_.Bulk(c.name);
      return;
    }
    if (args.size() >= 2 && !Is(args[1], "INFO")) {
      return writer_.Error(absl::StrCat("ERR unknown subcommand '", A(args[1].substr(0, 128)), "'. Try COMMAND HELP."));
    }
    // COMMAND or COMMAND INFO [name ...]: Redis's first six fields per command.
    auto entry = [this](std::string_view name, int arity, std::string_view flag) {
      writer_.ArrayHeader(6);
      writer_.Bulk(name);
      writer_.Integer(arity);
      writer_.ArrayHeader(1);
      writer_.Simple(flag);
      writer_.Integer(0);
      writer_.Integer(0);
      writer_.Integer(0);
    };
    if (args.size() >= 3) {
      writer_.ArrayHeader(args.size() - 2);
      for (std::size_t i = 2; i < args.size(); ++i) {
        if (const CmdSpec* c = FindCmd(args[i])) {
          entry(c->name, c->arity, c->flags);
        } else if (command::Check(args.subspan(i, 1)) != command::VerbCheck::kUnknownVerb) {
          entry(LowerCopy(args[i]), -1, "write");
        } else {
          writer_.Null();
        }
      }
      return;
    }
    writer_.ArrayHeader(total);
    for (std::string_view v : verbs) entry(LowerCopy(v), -1, "write");
    for (const CmdSpec& c : kCmds) entry(c.name, c.arity, c.flags);
  }

  void ExecuteServerCommand(const CmdSpec& spec, std::span<const std::string_view> args) {
    switch (spec.cmd) {
      case Cmd::kPing:
        if (args.size() > 2) return WrongArity("ping");
        return args.size() == 2 ? writer_.Bulk(args[1]) : writer_.Simple("PONG");
      case Cmd::kEcho: return writer_.Bulk(args[1]);
      case Cmd::kHello: return Hello(args);
      case Cmd::kAuth: return Auth(args);
      case Cmd::kClient: return Client(args);
      case Cmd::kSelect: {
        std::int64_t db = 0;
        if (!absl::SimpleAtoi(A(args[1]), &db)) return writer_.Error("ERR value is not an integer or out of range");
        return db == 0 ? writer_.Simple("OK") : writer_.Error("ERR DB index is out of range");
      }
      case Cmd::kQuit:
        closing_ = true;
        return writer_.Simple("OK");
      case Cmd::kReset:
        ClearMulti();
        resp3_ = false;
        writer_.set_resp3(false);
        name_.clear();
        authed_ = server_->options().password.empty();
        return writer_.Simple("RESET");
      case Cmd::kInfo: return writer_.Bulk(server_->Info(args.size() > 1 ? args[1] : std::string_view()));
      case Cmd::kConfig: return Config(args);
      case Cmd::kCommand: return Command(args);
      case Cmd::kDbsize: return writer_.Integer(server_->engine()->sku_count());
      case Cmd::kShutdown:
        // No reply, as Redis: the connection closes as the server stops.
        --batch_replies_;
        closing_ = true;
        std::fprintf(stderr, "flashstock serve: SHUTDOWN from %s\n", peer_.c_str());
        server_->Stop();
        return;
      case Cmd::kMulti:
        if (in_multi_) return writer_.Error("ERR MULTI calls can not be nested");
        in_multi_ = true;
        return writer_.Simple("OK");
      case Cmd::kExec: return Exec();
      case Cmd::kDiscard:
        if (!in_multi_) return writer_.Error("ERR DISCARD without MULTI");
        ClearMulti();
        return writer_.Simple("OK");
      case Cmd::kWatch:
        if (in_multi_) return writer_.Error("ERR WATCH inside MULTI is not allowed");
        return writer_.Error(
            "ERR WATCH is not supported: flashstock has no keys to watch. Each command is atomic on its own; "
            "RESERVE is all-or-nothing across SKUs");
      case Cmd::kUnwatch: return writer_.Simple("OK");
    }
  }

  ServerImpl* server_;
  Worker* worker_;
  tcp::socket socket_;
  std::vector<char> in_;
  std::size_t in_len_ = 0;
  std::string out_;
  bool writing_ = false;  // a Send is pending
  std::chrono::steady_clock::time_point writing_since_;
  RespWriter writer_{&out_};
  std::vector<std::string_view> args_;
  command::Answer answer_;
  std::uint64_t id_;
  std::string peer_ = "?";
  std::string name_;
  State state_ = State::kBusy;
  bool authed_;
  bool resp3_ = false;
  bool closing_ = false;
  bool more_ = false;           // the batch stopped at the output soft limit
  bool need_durable_ = false;   // the batch changed the engine (sync replies)
  std::size_t batch_replies_ = 0;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> durable_guard_;
  // MULTI's queue: arguments copied end to end, their end offsets, and the
  // argument count of each queued command.
  bool in_multi_ = false;
  bool multi_failed_ = false;
  bool in_exec_ = false;
  std::size_t metric_ = kMetricOther;  // the running command's metric verb
  std::string multi_bytes_;
  std::vector<std::size_t> multi_arg_ends_;
  std::vector<std::uint32_t> multi_argc_;
};

absl::Status ServerImpl::Start() {
  int threads = options_.threads > 0 ? options_.threads : static_cast<int>(std::thread::hardware_concurrency());
  if (threads < 1) threads = 1;
  std::vector<asio::ip::address> addresses;
  for (const std::string& b : options_.bind) {
    boost::system::error_code ec;
    asio::ip::address a = asio::ip::make_address(b, ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat("--bind '", b, "' is not an IP address"));
    if (!IsLoopback(a) && options_.password.empty() && options_.protected_mode) {
      return absl::InvalidArgumentError(absl::StrCat(
          "refusing to listen on ", b,
          " (not a loopback address) without a password: protected mode is on. Give --requirepass-file FILE, "
          "or --protected-mode no if anyone who can reach this address may change stock"));
    }
    addresses.push_back(a);
  }
  for (int i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>(i));
  Worker& first = *workers_[0];
  std::uint16_t port = options_.port;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    auto acceptor = std::make_unique<tcp::acceptor>(first.io);
    const tcp::endpoint endpoint(addresses[i], port);
    boost::system::error_code ec;
    acceptor->open(endpoint.protocol(), ec);
    if (!ec && addresses[i].is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      // The default's ::1 may be missing (IPv6 off): serve IPv4 alone then.
      if (options_.bind.size() == 2 && options_.bind[1] == "::1" && i == 1 && options_.bind[0] == "127.0.0.1") {
        std::fprintf(stderr, "flashstock serve: not listening on [::1]: %s\n", ec.message().c_str());
        continue;
      }
      return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.bind[i], " port ", port, ": ",
                                                 ec.message()));
    }
    port = acceptor->local_endpoint().port();
    listening_.push_back(addresses[i].is_v6() ? absl::StrCat("[", options_.bind[i], "]:", port)
                                              : absl::StrCat(options_.bind[i], ":", port));
    acceptors_.push_back(std::move(acceptor));
  }
  port_ = port;
  if (options_.handle_signals) {
    signals_.emplace(first.io, SIGTERM, SIGINT);
    signals_->async_wait([this](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      std::fprintf(stderr, "flashstock serve: signal %d: stopping\n", signo);
      Stop();
    });
  }
  for (std::size_t i = 0; i < acceptors_.size(); ++i) Accept(i);
  if (!options_.metrics.empty()) {
    try {
      exposer_ = std::make_unique<prometheus::Exposer>(options_.metrics, 1);
    } catch (const std::exception& e) {
      return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", options_.metrics, ": ", e.what()));
    }
    collector_ = std::make_shared<MetricsCollector>(this);
    exposer_->RegisterCollectable(collector_);
    const std::vector<int> ports = exposer_->GetListeningPorts();
    metrics_port_ = ports.empty() ? 0 : ports[0];
  }
  if (options_.sync_replies) {
    engine_->SetDurableListener(this);
    listening_to_journal_ = true;
  }
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->stall_sweep.emplace(worker->io);
    SweepStalls(worker);
    worker->thread = std::thread([worker] { worker->io.run(); });
  }
  return absl::OkStatus();
}

// Every quarter of the stall limit (at most a second): a client is closed
// between 1 and 1.25 stall limits after its answers stopped moving.
void ServerImpl::SweepStalls(Worker* w) {
  const auto tick = std::min<std::chrono::steady_clock::duration>(options_.output_stall / 4, std::chrono::seconds(1));
  w->stall_sweep->expires_after(tick);
  w->stall_sweep->async_wait([this, w](const boost::system::error_code& ec) {
    if (ec || w->stopping) return;
    const auto now = std::chrono::steady_clock::now();
    // CloseIfStalled does not erase (Close runs from the failed write).
    for (Connection* c : w->connections) c->CloseIfStalled(now);
    SweepStalls(w);
  });
}

void ServerImpl::Accept(std::size_t index) {
  tcp::acceptor& acceptor = *acceptors_[index];
  Worker& target = *workers_[next_worker_];
  next_worker_ = (next_worker_ + 1) % workers_.size();
  acceptor.async_accept(target.io, [this, index, &target](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptors_[index]->is_open()) return;
    Worker& acceptor_worker = *workers_[0];
    if (!ec) {
      if (clients_.load(std::memory_order_relaxed) >= options_.max_clients) {
        // Answered before the client sends anything, as Redis; a short write
        // into an empty socket buffer does not block.
        boost::system::error_code wec;
        asio::write(socket, asio::buffer(kMaxClients.data(), kMaxClients.size()), wec);
        socket.close(wec);
        WorkerStats::Add(acceptor_worker.stats.rejected, 1);
      } else {
        clients_.fetch_add(1, std::memory_order_relaxed);
        WorkerStats::Add(acceptor_worker.stats.connections, 1);
        asio::post(target.io, [this, &target, s = std::move(socket)]() mutable {
          if (target.stopping) {
            boost::system::error_code cec;
            s.close(cec);
            ClientClosed();
            return;
          }
          std::make_shared<Connection>(this, &target, std::move(s))->Start();
        });
      }
    } else {
      // EMFILE and the like: wait a moment rather than spin on the error.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Accept(index);
  });
}

void ServerImpl::Stop() {
  if (stop_requested_.exchange(true, std::memory_order_acq_rel)) return;
  if (workers_.empty()) return;
  asio::post(workers_[0]->io, [this] {
    boost::system::error_code ec;
    for (auto& a : acceptors_) a->close(ec);
    if (signals_) signals_->cancel(ec);
  });
  for (auto& w : workers_) {
    Worker* worker = w.get();
    asio::post(worker->io, [worker] {
      worker->stopping = true;
      worker->stall_sweep->cancel();
      // OnStop may close and erase: iterate over a copy.
      std::vector<Connection*> all(worker->connections.begin(), worker->connections.end());
      for (Connection* c : all) c->OnStop();
      worker->guard.reset();
      if (worker->connections.empty()) return;
      worker->stop_timer.emplace(worker->io, kStopGrace);
      worker->stop_timer->async_wait([worker](const boost::system::error_code& ec) {
        if (ec) return;
        std::vector<Connection*> left(worker->connections.begin(), worker->connections.end());
        for (Connection* c : left) c->ForceClose();
      });
    });
  }
}

void ServerImpl::Wait() {
  std::lock_guard<std::mutex> lock(wait_mu_);
  if (joined_) return;
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  // Every held reply was answered before its io thread could end.
  if (listening_to_journal_) engine_->SetDurableListener(nullptr);
  joined_ = true;
}

void ServerImpl::AwaitDurable(Worker* w, std::shared_ptr<Connection> c) {
  const Engine::DurablePoint point = engine_->PointThisThread();
  Engine::PointState state;
  {
    // Checked under the lock the listener takes: either the listener runs
    // after this entry is queued and sees it, or the commit it reports came
    // before this check, which then sees the point durable.
    std::lock_guard<std::mutex> lock(w->durable_mu);
    state = engine_->Check(point);
    if (state == Engine::PointState::kPending) {
      w->durable_waits.push_back({point, std::move(c), std::chrono::steady_clock::now()});
    }
  }
  if (state == Engine::PointState::kPending) {
    engine_->RequestCommit();
    return;
  }
  c->OnDurable(state == Engine::PointState::kDurable ? absl::OkStatus() : FailureStatus());
}

// On the journal thread after each commit: one post per io thread whose
// oldest held reply is now durable (group commit: that one fdatasync answers
// every connection it covers, on every thread).
void ServerImpl::OnJournalProgress() {
  for (auto& w : workers_) {
    std::lock_guard<std::mutex> lock(w->durable_mu);
    if (w->drain_posted || w->durable_waits.empty()) continue;
    if (engine_->Check(w->durable_waits.front().point) == Engine::PointState::kPending) continue;
    w->drain_posted = true;
    asio::post(w->io, [this, worker = w.get()] { DrainDurable(worker); });
  }
}

void ServerImpl::DrainDurable(Worker* w) {
  std::vector<Worker::DurableWait>& ready = w->ready;
  {
    std::lock_guard<std::mutex> lock(w->durable_mu);
    w->drain_posted = false;
    while (!w->durable_waits.empty()) {
      Worker::DurableWait& front = w->durable_waits.front();
      front.state = engine_->Check(front.point);
      if (front.state == Engine::PointState::kPending) break;
      ready.push_back(std::move(front));
      w->durable_waits.pop_front();
    }
  }
  const auto now = std::chrono::steady_clock::now();
  WorkerStats& s = w->stats;
  for (Worker::DurableWait& d : ready) {
    const std::uint64_t waited = Nanos(now - d.since);
    WorkerStats::Add(s.durable_waits, 1);
    s.last_durable_wait_nanos.store(waited, std::memory_order_relaxed);
    WorkerStats::Add(s.durable_wait_buckets[LatencyBucket(waited)], 1);
    WorkerStats::Add(s.durable_wait_sum_nanos, waited);
    d.connection->OnDurable(d.state == Engine::PointState::kDurable ? absl::OkStatus() : FailureStatus());
  }
  ready.clear();
}

absl::Status ServerImpl::FailureStatus() const { return absl::UnavailableError(engine_->read_only_reason()); }

std::string ServerImpl::Info(std::string_view section) const {
  const bool all = section.empty() || Is(section, "all") || Is(section, "default") || Is(section, "everything");
  auto want = [&](std::string_view name) { return all || Is(section, name); };
  WorkerStats sum;
  std::uint64_t last_durable_wait_nanos = 0;
  std::string threads;
  for (const auto& w : workers_) {
    const WorkerStats& s = w->stats;
    const std::uint64_t commands = s.commands.load(std::memory_order_relaxed);
    const std::uint64_t busy = s.busy_nanos.load(std::memory_order_relaxed);
    WorkerStats::Add(sum.commands, commands);
    WorkerStats::Add(sum.connections, s.connections.load(std::memory_order_relaxed));
    WorkerStats::Add(sum.rejected, s.rejected.load(std::memory_order_relaxed));
    WorkerStats::Add(sum.protocol_errors, s.protocol_errors.load(std::memory_order_relaxed));
    WorkerStats::Add(sum.output_limit_closes, s.output_limit_closes.load(std::memory_order_relaxed));
    WorkerStats::Add(sum.durable_waits, s.durable_waits.load(std::memory_order_relaxed));
    last_durable_wait_nanos = std::max(last_durable_wait_nanos, s.last_durable_wait_nanos.load(std::memory_order_relaxed));
    absl::StrAppend(&threads, "io_thread_", w->index, ":commands=", commands,
                    ",batches=", s.batches.load(std::memory_order_relaxed), ",busy_us=", busy / 1000,
                    ",ns_per_command=", commands == 0 ? 0 : busy / commands, "\r\n");
  }
  std::string text;
  if (want("server")) {
    absl::StrAppend(&text, "# Server\r\nredis_version:7.0.0\r\nflashstock_version:", A(kVersion),
                    "\r\nredis_mode:standalone\r\nprocess_id:", static_cast<long>(getpid()),
                    "\r\ntcp_port:", port_, "\r\nio_threads_active:", workers_.size(), "\r\nuptime_in_seconds:",
                    std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_)
                        .count(),
                    "\r\n\r\n");
  }
  if (want("clients")) {
    absl::StrAppend(&text, "# Clients\r\nconnected_clients:", clients_.load(std::memory_order_relaxed),
                    "\r\nmaxclients:", options_.max_clients, "\r\n\r\n");
  }
  if (want("stats")) {
    absl::StrAppend(&text, "# Stats\r\ntotal_connections_received:", sum.connections.load(),
                    "\r\ntotal_commands_processed:", sum.commands.load(), "\r\nrejected_connections:",
                    sum.rejected.load(), "\r\nprotocol_errors:", sum.protocol_errors.load(),
                    "\r\nclient_output_buffer_limit_disconnections:", sum.output_limit_closes.load(), "\r\n", threads,
                    "\r\n");
  }
  if (want("persistence")) {
    const JournalStats j = engine_->journal_stats();
    absl::StrAppend(&text, "# Persistence\r\nloading:0\r\ndurability:", A(options_.durability_name),
                    "\r\naof_enabled:", engine_->durability() == Durability::kNone ? 0 : 1,
                    "\r\njournal_durable_sequence:", engine_->durable_sequence(), "\r\njournal_fsyncs:", j.batches,
                    "\r\njournal_records:", j.records, "\r\njournal_bytes_written:", j.bytes,
                    "\r\njournal_checkpoints:", j.checkpoints,
                    "\r\nreply_durable_waits:", sum.durable_waits.load(std::memory_order_relaxed),
                    "\r\nlast_durable_wait_us:", last_durable_wait_nanos / 1000,
                    "\r\n\r\n");
  }
  if (want("flashstock") || want("keyspace")) {
    const ExpiryStats e = engine_->expiry_stats();
    absl::StrAppend(&text, "# Flashstock\r\nskus_defined:", engine_->sku_count(), "\r\nskus_max:",
                    engine_->skus_max(), "\r\norders_remembered:", e.scheduled, "\r\norders_expired:", e.expired,
                    "\r\n");
  }
  return text;
}

void ServerImpl::ConfigGet(std::string_view pattern, std::vector<std::pair<std::string, std::string>>* out) const {
  const bool journaled = engine_->durability() != Durability::kNone;
  std::string bind;
  for (const std::string& b : options_.bind) absl::StrAppend(&bind, bind.empty() ? "" : " ", b);
  const std::pair<std::string, std::string> params[] = {
      {"save", ""},
      {"appendonly", journaled ? "yes" : "no"},
      {"appendfsync", options_.sync_replies ? "always" : "no"},
      {"maxclients", absl::StrCat(options_.max_clients)},
      {"port", absl::StrCat(port_)},
      {"bind", bind},
      {"protected-mode", options_.protected_mode ? "yes" : "no"},
      {"databases", "1"},
      {"io-threads", absl::StrCat(workers_.size())},
  };
  const std::string p = LowerCopy(pattern);
  for (const auto& kv : params) {
    if (fnmatch(p.c_str(), kv.first.c_str(), 0) == 0) out->push_back(kv);
  }
}

std::vector<prometheus::MetricFamily> ServerImpl::CollectMetrics() const {
  using prometheus::ClientMetric;
  using prometheus::MetricFamily;
  using prometheus::MetricType;
  auto verb_name = [](std::size_t v) -> std::string {
    if (v < kEngineVerbs) return LowerCopy(command::Verbs()[v]);
    if (v < kMetricOther) return std::string(kCmds[v - kEngineVerbs].name);
    return "other";
  };
  auto histogram = [](const std::uint64_t* buckets, std::uint64_t sum_nanos) {
    ClientMetric::Histogram h;
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < kLatencyBuckets; ++b) {
      cumulative += buckets[b];
      h.bucket.push_back({cumulative, b < std::size(kLatencyBoundsNanos) ? kLatencyBoundsNanos[b] / 1e9
                                                                          : std::numeric_limits<double>::infinity()});
    }
    h.sample_count = cumulative;
    h.sample_sum = static_cast<double>(sum_nanos) / 1e9;
    return h;
  };
  auto scalar = [](std::string name, std::string help, MetricType type, double value) {
    MetricFamily f{std::move(name), std::move(help), type, {}};
    ClientMetric m;
    if (type == MetricType::Counter) {
      m.counter.value = value;
    } else {
      m.gauge.value = value;
    }
    f.metric.push_back(std::move(m));
    return f;
  };

  std::uint64_t calls[kMetricVerbs][2] = {};
  std::uint64_t latency[kMetricVerbs][kLatencyBuckets] = {};
  std::uint64_t latency_sum[kMetricVerbs] = {};
  std::uint64_t connections = 0, rejected = 0, protocol_errors = 0;
  for (const auto& w : workers_) {
    const WorkerStats& s = w->stats;
    for (std::size_t v = 0; v < kMetricVerbs; ++v) {
      for (int r = 0; r < 2; ++r) calls[v][r] += s.calls[v][r].load(std::memory_order_relaxed);
      for (std::size_t b = 0; b < kLatencyBuckets; ++b) latency[v][b] += s.latency[v][b].load(std::memory_order_relaxed);
      latency_sum[v] += s.latency_sum_nanos[v].load(std::memory_order_relaxed);
    }
    connections += s.connections.load(std::memory_order_relaxed);
    rejected += s.rejected.load(std::memory_order_relaxed);
    protocol_errors += s.protocol_errors.load(std::memory_order_relaxed);
  }
  std::vector<MetricFamily> out;
  MetricFamily commands{"flashstock_commands_total", "Commands answered, by verb and result (ok or error reply)",
                        MetricType::Counter, {}};
  MetricFamily durations{"flashstock_command_duration_seconds",
                         "Time on the io thread per command (parse, execute, answer; not the durable wait)",
                         MetricType::Histogram, {}};
  for (std::size_t v = 0; v < kMetricVerbs; ++v) {
    if (calls[v][0] + calls[v][1] == 0) continue;
    for (int r = 0; r < 2; ++r) {
      ClientMetric m;
      m.label = {{"result", r == 0 ? "ok" : "error"}, {"verb", verb_name(v)}};
      m.counter.value = static_cast<double>(calls[v][r]);
      commands.metric.push_back(std::move(m));
    }
    ClientMetric m;
    m.label = {{"verb", verb_name(v)}};
    m.histogram = histogram(latency[v], latency_sum[v]);
    durations.metric.push_back(std::move(m));
  }
  out.push_back(std::move(commands));
  out.push_back(std::move(durations));
  out.push_back(scalar("flashstock_connected_clients", "Open client connections", MetricType::Gauge,
                       static_cast<double>(clients_.load(std::memory_order_relaxed))));
  out.push_back(scalar("flashstock_connections_total", "Connections accepted", MetricType::Counter,
                       static_cast<double>(connections)));
  out.push_back(scalar("flashstock_rejected_connections_total", "Connections refused past --max-clients",
                       MetricType::Counter, static_cast<double>(rejected)));
  out.push_back(scalar("flashstock_protocol_errors_total", "Connections closed for a malformed frame",
                       MetricType::Counter, static_cast<double>(protocol_errors)));
  const JournalStats j = engine_->journal_stats();
  out.push_back(scalar("flashstock_journal_fsyncs_total", "Journal group commits (one fdatasync each)",
                       MetricType::Counter, static_cast<double>(j.batches)));
  out.push_back(scalar("flashstock_journal_bytes_written_total", "Journal bytes written", MetricType::Counter,
                       static_cast<double>(j.bytes)));
  out.push_back(scalar("flashstock_journal_durable_sequence", "Last journal sequence on disk", MetricType::Gauge,
                       static_cast<double>(engine_->durable_sequence())));
  std::uint64_t waits[kLatencyBuckets] = {};
  std::uint64_t waits_sum_nanos = 0;
  for (const auto& w : workers_) {
    for (std::size_t b = 0; b < kLatencyBuckets; ++b) {
      waits[b] += w->stats.durable_wait_buckets[b].load(std::memory_order_relaxed);
    }
    waits_sum_nanos += w->stats.durable_wait_sum_nanos.load(std::memory_order_relaxed);
  }
  MetricFamily wait{"flashstock_reply_durable_wait_seconds",
                    "Sync replies: from a batch's end until the journal has every change it made (write + fdatasync)",
                    MetricType::Histogram, {}};
  ClientMetric wm;
  wm.histogram = histogram(waits, waits_sum_nanos);
  wait.metric.push_back(std::move(wm));
  out.push_back(std::move(wait));
  const ExpiryStats e = engine_->expiry_stats();
  out.push_back(scalar("flashstock_skus_defined", "SKUs defined", MetricType::Gauge,
                       static_cast<double>(engine_->sku_count())));
  out.push_back(scalar("flashstock_orders_remembered", "Orders open or remembered within retention",
                       MetricType::Gauge, static_cast<double>(e.scheduled)));
  out.push_back(scalar("flashstock_order_expiries_total", "Holds expired by the expiry driver", MetricType::Counter,
                       static_cast<double>(e.expired)));
  return out;
}

Server::Server(Engine* engine, ServerOptions options)
    : impl_(std::make_unique<ServerImpl>(engine, std::move(options))) {}
Server::~Server() = default;
absl::Status Server::Start() { return impl_->Start(); }
std::uint16_t Server::port() const { return impl_->port(); }
std::vector<std::string> Server::listening() const { return impl_->listening(); }
void Server::Stop() { impl_->Stop(); }
void Server::Wait() { impl_->Wait(); }
int Server::metrics_port() const { return impl_->metrics_port(); }

}  // namespace flashstock::server
