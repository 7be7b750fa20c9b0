// `flashstock load`: see load.h. Each worker thread builds command lines,
// has its own flashstock::Shell answer them (the shell is stateless apart
// from the engine, which is thread-safe), tracks the orders it holds and
// has committed so that commits, cancels and returns usually find an order
// in the right state, and counts answers in its own cache line.
#include "load.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "command/command.h"
#include "shell.h"

namespace flashstock {
namespace {

// Orders a worker keeps track of (held, to commit or cancel; committed, to
// return). Older ones drop off: a forgotten hold simply expires.
constexpr std::size_t kTrackedOrdersMax = 32;
// Largest quantity of one take, restock or order line: small against
// kLoadInitialUnits, so a few operations empty or refill a SKU.
constexpr std::int64_t kLoadQuantityMax = 3;
constexpr std::int64_t kLoadRestockMax = 5;
constexpr int kLoadOrderLinesMax = 3;

// Answers to change commands, per thread. The progress line reads `ops`
// and `refused` from another thread: relaxed, they publish nothing else.
struct alignas(kCacheLineSize) WorkerCounters {
  std::atomic<std::uint64_t> ops{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> open_orders{0};
  // "<VERB> <OK | ERR code>" -> count; read only after the thread is joined.
  std::map<std::string, std::uint64_t> answers;
  bool read_only = false;
};

// The acks file: one write(2) per line on an O_APPEND descriptor, so a line
// is in the file (page cache) the moment write returns and survives a
// SIGKILL of this process, and lines of different threads never interleave.
class AckLog {
 public:
  explicit AckLog(int fd) : fd_(fd) {}
  ~AckLog() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool enabled() const { return fd_ >= 0; }
  void Write(std::string_view thread, std::string_view command, std::string_view answer) {
    if (fd_ < 0) return;
    // std::string_view is not absl::string_view in Debian's Abseil: append by hand.
    std::string line;
    line.reserve(thread.size() + command.size() + answer.size() + 6);
    line.append(thread).append(" ").append(command).append(" -> ").append(answer).append("\n");
    const ssize_t n = ::write(fd_, line.data(), line.size());
    if (n != static_cast<ssize_t>(line.size())) failed_.store(true, std::memory_order_relaxed);
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }

 private:
  int fd_;
  std::atomic<bool> failed_{false};
};

// Blocks `signals` in this thread for its lifetime, then restores the mask.
class SignalMaskGuard {
 public:
  explicit SignalMaskGuard(const sigset_t& signals) { pthread_sigmask(SIG_BLOCK, &signals, &old_); }
  ~SignalMaskGuard() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalMaskGuard(const SignalMaskGuard&) = delete;
  SignalMaskGuard& operator=(const SignalMaskGuard&) = delete;

 private:
  sigset_t old_;
};

std::string SkuName(int i) { return absl::StrCat("load-", i); }

// Splits "OK ..." / "ERR CODE ..." into the summary key's answer part.
std::string AnswerKind(const std::string& answer) {
  if (answer.rfind("OK", 0) == 0) return "OK";
  const std::size_t end = answer.find(' ', 4);
  return answer.substr(0, end);
}

struct Shared {
  Engine* engine;
  const LoadOptions* options;
  AckLog* acks;
  std::uint32_t nonce;
  std::atomic<bool>* stop;
  // Each worker's newest held order, so another worker sometimes closes it
  // (a reserve and its close in different journal rings). Relaxed: an id
  // publishes nothing; a stale one is answered ORDER_CLOSED, which is fine.
  std::vector<std::atomic<std::uint64_t>>* latest_held;
};

class Worker {
 public:
  Worker(const Shared& shared, int thread, WorkerCounters* counters)
      : s_(shared), thread_(thread), name_(std::to_string(thread)), counters_(counters), shell_(shared.engine),
        rng_(shared.options->seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(thread)) {}

  void Run() {
    while (!s_.stop->load(std::memory_order_relaxed)) {
      Step();
      counters_->open_orders.store(held_.size(), std::memory_order_relaxed);
      if (counters_->read_only) return;
    }
  }

 private:
  std::int64_t Uniform(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(rng_() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  std::string Sku() { return SkuName(static_cast<int>(Uniform(0, s_.options->skus - 1))); }

  // Sends one change, records its answer, returns it.
  std::string Send(const std::string& verb, const std::string& command) {
    const std::optional<std::string> answer = shell_.Execute(command);
    const std::string text = answer.value_or("ERR NO_ANSWER");
    s_.acks->Write(name_, command, text);
    const std::string kind = AnswerKind(text);
    ++counters_->answers[absl::StrCat(verb, " ", kind)];
    counters_->ops.fetch_add(1, std::memory_order_relaxed);
    if (kind != "OK") counters_->refused.fetch_add(1, std::memory_order_relaxed);
    if (kind == "ERR READONLY") counters_->read_only = true;
    return text;
  }

  std::uint64_t NextOrderId() {
    while (true) {
      const std::uint64_t id = LoadOrderId(s_.nonce, thread_, ++counter_);
      if (!s_.engine->GetOrder(id).has_value()) return id;  // not remembered from an earlier run
    }
  }

  static void Track(std::vector<std::uint64_t>* list, std::uint64_t id) {
    if (list->size() == kTrackedOrdersMax) list->erase(list->begin());
    list->push_back(id);
  }
  std::uint64_t TakeTracked(std::vector<std::uint64_t>* list) {
    const std::size_t i = static_cast<std::size_t>(rng_() % list->size());
    const std::uint64_t id = (*list)[i];
    list->erase(list->begin() + static_cast<std::ptrdiff_t>(i));
    return id;
  }

  void Reserve() {
    const std::uint64_t id = NextOrderId();
    std::string command = absl::StrCat("RESERVE ", id, " ", Uniform(kLoadTtlMsMin, kLoadTtlMsMax));
    const int lines = static_cast<int>(Uniform(1, kLoadOrderLinesMax));
    for (int l = 0; l < lines; ++l) absl::StrAppend(&command, " ", Sku(), " ", Uniform(1, kLoadQuantityMax));
    if (Send("RESERVE", command) == "OK") {
      Track(&held_, id);
      (*s_.latest_held)[thread_].store(id, std::memory_order_relaxed);
    }
  }

  void Close(bool commit) {
    const std::string verb = commit ? "COMMIT" : "CANCEL";
    std::uint64_t id = 0;
    const int threads = s_.options->threads;
    if (threads > 1 && rng_() % 4 == 0) {  // another worker's newest hold
      id = (*s_.latest_held)[Uniform(0, threads - 1)].load(std::memory_order_relaxed);
    } else if (!held_.empty()) {
      id = TakeTracked(&held_);
    }
    if (id == 0) return Reserve();
    if (Send(verb, absl::StrCat(verb, " ", id)) == "OK" && commit) Track(&committed_, id);
  }

  void Step() {
    const int pick = static_cast<int>(rng_() % 100);
    if (pick < 22) {
      Send("TAKE", absl::StrCat("TAKE ", Sku(), " ", Uniform(1, kLoadQuantityMax)));
    } else if (pick < 30) {
      Send("TAKEUPTO", absl::StrCat("TAKEUPTO ", Sku(), " ", Uniform(1, kLoadQuantityMax)));
    } else if (pick < 48) {
      Send("RESTOCK", absl::StrCat("RESTOCK ", Sku(), " ", Uniform(1, kLoadRestockMax)));
    } else if (pick < 52) {
      Send("FLOOR", absl::StrCat("FLOOR ", Sku(), " ", Uniform(kLoadFloorMin, 0)));
    } else if (pick < 76) {
      Reserve();
    } else if (pick < 86) {
      Close(/*commit=*/true);
    } else if (pick < 93) {
      Close(/*commit=*/false);
    } else if (!committed_.empty()) {
      Send("RETURN", absl::StrCat("RETURN ", TakeTracked(&committed_)));
    } else {
      Reserve();
    }
  }

  const Shared& s_;
  const int thread_;
  const std::string name_;
  WorkerCounters* const counters_;
  Shell shell_;
  std::mt19937_64 rng_;
  std::uint32_t counter_ = 0;
  std::vector<std::uint64_t> held_;
  std::vector<std::uint64_t> committed_;
};

std::uint32_t RunNonce(std::uint64_t seed) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  std::uint64_t x = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  x ^= seed * 0xBF58476D1CE4E5B9ull;
  x ^= x >> 31;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 29;
  const std::uint32_t nonce = static_cast<std::uint32_t>(x) & 0xFFFFFF;
  return nonce == 0 ? 1 : nonce;  // a nonce of 0 could make id 0
}

// Defines the load SKUs the journal does not hold yet (reusing the others);
// with escrow, tops them up and puts them in escrow (not journaled: again
// at every start).
bool PrepareSkus(Engine* engine, int skus, EscrowMode mode, AckLog* acks) {
  const bool escrow = mode != EscrowMode::kOff;
  Shell shell(engine);
  auto run = [&](const std::string& command) {
    const std::string answer = shell.Execute(command).value_or("ERR NO_ANSWER");
    acks->Write("main", command, answer);
    if (answer.rfind("OK", 0) == 0) return true;
    std::fprintf(stderr, "flashstock load: %s -> %s\n", command.c_str(), answer.c_str());
    return false;
  };
  const std::int64_t units = escrow ? kLoadEscrowUnits : kLoadInitialUnits;
  for (int i = 0; i < skus; ++i) {
    const std::string name = SkuName(i);
    if (!engine->Resolve(name).has_value()) {
      if (!run(absl::StrCat("DEFINE ", name, " ", units))) return false;
    } else if (escrow && engine->Level(name).available < units / 2) {
      if (!run(absl::StrCat("RESTOCK ", name, " ", units))) return false;
    }
    if (escrow && !run(absl::StrCat("ESCROW ", name, mode == EscrowMode::kOn ? " ON" : " AUTO"))) return false;
  }
  return true;
}

void PrintSummary(const std::vector<std::unique_ptr<WorkerCounters>>& counters, double seconds) {
  std::map<std::string, std::uint64_t> total;
  std::uint64_t ops = 0;
  for (const auto& c : counters) {
    for (const auto& [key, n] : c->answers) total[key] += n;
    ops += c->ops.load(std::memory_order_relaxed);
  }
  std::fprintf(stderr, "flashstock load: %llu changes in %.1f s (%.0f/s)\n", (unsigned long long)ops, seconds,
               seconds > 0 ? static_cast<double>(ops) / seconds : 0.0);
  std::fprintf(stderr, "%-10s %-22s %12s\n", "command", "answer", "count");
  for (const auto& [key, n] : total) {
    const std::size_t space = key.find(' ');
    std::fprintf(stderr, "%-10s %-22s %12llu\n", key.substr(0, space).c_str(), key.substr(space + 1).c_str(),
                 (unsigned long long)n);
  }
}

}  // namespace

std::uint64_t LoadOrderId(std::uint32_t nonce, int thread, std::uint32_t counter) {
  return (std::uint64_t{nonce & 0xFFFFFF} << 40) | (std::uint64_t(thread & 0xFF) << 32) | counter;
}

int RunLoad(const LoadOptions& options) {
  int acks_fd = -1;
  if (!options.acks_path.empty()) {
    acks_fd = ::open(options.acks_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (acks_fd < 0) {
      std::fprintf(stderr, "flashstock load: cannot open --acks %s: %s\n", options.acks_path.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }
  AckLog acks(acks_fd);

  // SIGINT and SIGTERM are taken by sigtimedwait in the main thread only:
  // blocked here, before any thread starts, so every thread inherits the
  // mask; the caller's mask comes back on return (tests run this in-process).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  SignalMaskGuard mask(stop_signals);

  EngineOptions eo;
  eo.journal_dir = options.journal_dir;
  eo.durability = options.durability;
  eo.checkpoint_bytes = options.checkpoint_bytes;
  eo.order_retention_ms = options.order_retention_ms;
  eo.orders_max = options.orders_max;
  eo.skus_max = static_cast<std::uint32_t>(kLoadSkusMax);
  std::unique_ptr<Engine> engine = command::OpenForTool(eo, "load");
  if (engine == nullptr) return 1;
  if (!PrepareSkus(engine.get(), options.skus, options.escrow, &acks)) return 1;

  std::atomic<bool> stop{false};
  std::vector<std::atomic<std::uint64_t>> latest_held(static_cast<std::size_t>(options.threads));
  const Shared shared{engine.get(), &options, &acks, RunNonce(options.seed), &stop, &latest_held};
  std::vector<std::unique_ptr<WorkerCounters>> counters;
  std::vector<std::thread> threads;
  for (int t = 0; t < options.threads; ++t) {
    counters.push_back(std::make_unique<WorkerCounters>());
    threads.emplace_back([&shared, t, c = counters.back().get()] { Worker(shared, t, c).Run(); });
  }

  const auto start = std::chrono::steady_clock::now();
  std::uint64_t last_ops = 0, last_refused = 0;
  int status = 0;
  for (std::int64_t second = 1; options.seconds == 0 || second <= options.seconds; ++second) {
    const timespec one_second{1, 0};
    const int sig = sigtimedwait(&stop_signals, nullptr, &one_second);
    if (sig == SIGINT || sig == SIGTERM) {
      std::fprintf(stderr, "flashstock load: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    std::uint64_t ops = 0, refused = 0, open = 0;
    bool read_only = false;
    for (const auto& c : counters) {
      ops += c->ops.load(std::memory_order_relaxed);
      refused += c->refused.load(std::memory_order_relaxed);
      open += c->open_orders.load(std::memory_order_relaxed);
    }
    read_only = !engine->read_only_reason().empty();
    std::fprintf(stderr, "load: %llds %llu ops/s, %llu refused/s, %llu orders open\n", (long long)second,
                 (unsigned long long)(ops - last_ops), (unsigned long long)(refused - last_refused),
                 (unsigned long long)open);
    last_ops = ops;
    last_refused = refused;
    if (read_only || acks.failed()) {
      std::fprintf(stderr, "flashstock load: %s, stopping\n",
                   read_only ? engine->read_only_reason().c_str() : "writing the acks file failed");
      status = 1;
      break;
    }
  }
  stop.store(true, std::memory_order_relaxed);
  for (std::thread& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  engine.reset();  // a clean close: the journal drains and syncs
  PrintSummary(counters, seconds);
  return status;
}

}  // namespace flashstock
