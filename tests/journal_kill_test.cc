// Crash test: a child process takes load in sync mode and reports every
// change on a pipe (an intent before, an acknowledgement after); the parent
// SIGKILLs it at a random moment, reopens the journal and checks that every
// acknowledged change is in the recovered state, that only a change still
// unacknowledged at the kill may be present or absent, that no SKU is below
// its floor, and so that stock is conserved.
//
// FLASHSTOCK_KILL_ITERATIONS=N runs N kills (default 200; the long mode is
// e.g. 5000).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "flashstock/engine.h"
#include "gtest/gtest.h"
#include "journal_test_util.h"

namespace flashstock {
namespace {

using testing::JournalOptions;
using testing::OpenOrDie;
using testing::ForkAndKill;
using testing::TempDir;

constexpr int kSkus = 6;
constexpr int kChildThreads = 2;
constexpr std::int64_t kInitial = 1000;
constexpr std::int64_t kFloor = -5;

struct Note {
  std::uint8_t kind;    // 1 intent, 2 ack
  std::uint8_t thread;
  std::uint16_t sku;
  std::uint32_t pad;
  std::int64_t delta;
};
static_assert(sizeof(Note) == 16 && sizeof(Note) <= PIPE_BUF, "one atomic pipe write per note");

std::string SkuName(int i) { return "sku" + std::to_string(i); }

[[noreturn]] void Child(const std::string& dir, int fd, std::uint64_t seed) {
  EngineOptions o = JournalOptions(dir, Durability::kSync);
  o.checkpoint_bytes = 16 << 10;  // background checkpoints get killed too
  absl::StatusOr<std::unique_ptr<Engine>> opened = Engine::Open(o);
  if (!opened.ok()) _exit(3);
  Engine& e = **opened;
  for (int i = 0; i < kSkus; ++i) {
    if (!e.Resolve(SkuName(i)).has_value()) {
      Note n{1, 0, static_cast<std::uint16_t>(i), 0, kInitial};
      (void)!write(fd, &n, sizeof(n));
      if (!e.Define(SkuName(i), kInitial, kFloor).ok()) _exit(4);
      n.kind = 2;
      (void)!write(fd, &n, sizeof(n));
    }
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kChildThreads; ++t) {
    threads.emplace_back([&e, fd, t, seed] {
      std::mt19937_64 rng(seed * 31 + static_cast<std::uint64_t>(t));
      while (true) {
        const int sku = static_cast<int>(rng() % kSkus);
        const SkuHandle h = *e.Resolve(SkuName(sku));
        const bool restock = rng() % 4 == 0;
        const std::int64_t q = 1 + static_cast<std::int64_t>(rng() % 5);
        Note n{1, static_cast<std::uint8_t>(t), static_cast<std::uint16_t>(sku), 0, restock ? q : -q};
        (void)!write(fd, &n, sizeof(n));
        const StockResult r = restock ? e.Restock(h, q) : e.Take(h, q);
        if (r.outcome == Outcome::kInsufficient) {
          n.delta = 0;  // nothing changed: acknowledge a zero change
        } else if (!r.ok()) {
          _exit(5);
        }
        n.kind = 2;
        (void)!write(fd, &n, sizeof(n));
      }
    });
  }
  for (auto& t : threads) t.join();
  _exit(0);
}

int Iterations() {
  const char* env = std::getenv("FLASHSTOCK_KILL_ITERATIONS");
  return env != nullptr ? std::atoi(env) : 200;
}

TEST(JournalKillTest, AcknowledgedChangesSurviveSigkill) {
  TempDir dir;
  std::mt19937_64 rng(12345);
  std::array<std::int64_t, kSkus> known{};  // levels verified after the previous kill
  std::array<bool, kSkus> defined{};
  const int iterations = Iterations();
  int killed_mid_load = 0;
  for (int it = 0; it < iterations; ++it) {
    // Kill after a random number of notes (0 = while it is still opening).
    const int kill_after = static_cast<int>(rng() % 48);
    const std::uint64_t seed = rng();
    std::vector<Note> notes;
    ASSERT_TRUE(ForkAndKill<Note>([&](int fd) { Child(dir.path(), fd, seed); }, kill_after, &notes));
    if (!notes.empty()) ++killed_mid_load;

    // What must be there, and what may be.
    std::array<std::int64_t, kSkus> expect = known;
    std::array<bool, kSkus> must_define{};
    struct Pending {
      bool open = false;
      Note note;
    };
    std::array<Pending, kChildThreads + 1> pending{};  // slot kChildThreads: defines
    for (const Note& note : notes) {
      // Restocks move at most 5 units: a note of kInitial is a define.
      const bool is_define = note.delta == kInitial;
      Pending& p = pending[is_define ? kChildThreads : note.thread];
      if (note.kind == 1) {
        p = {true, note};
      } else {
        p.open = false;
        if (is_define) {
          must_define[note.sku] = true;
          expect[note.sku] = kInitial;
        } else {
          expect[note.sku] += note.delta;
        }
      }
    }
    auto e = OpenOrDie(JournalOptions(dir.path(), Durability::kSync));
    std::array<std::int64_t, kSkus> got{};
    for (int i = 0; i < kSkus; ++i) {
      const std::optional<SkuHandle> h = e->Resolve(SkuName(i));
      if (!h.has_value()) {
        ASSERT_FALSE(defined[i] || must_define[i]) << "acknowledged define of " << SkuName(i) << " lost";
        continue;
      }
      got[i] = e->Level(*h).available;
      ASSERT_GE(got[i], kFloor) << SkuName(i) << " below its floor";
      ASSERT_EQ(*e->Floor(*h), kFloor);
    }
    // got - expect must be a sum of a subset of the pending (unacknowledged)
    // changes: at most one per child thread plus one define.
    bool explained = false;
    for (int mask = 0; mask < (1 << (kChildThreads + 1)) && !explained; ++mask) {
      std::array<std::int64_t, kSkus> want = expect;
      std::array<bool, kSkus> exists{};
      for (int i = 0; i < kSkus; ++i) exists[i] = defined[i] || must_define[i];
      bool valid = true;
      for (int t = 0; t <= kChildThreads; ++t) {
        if (!(mask & (1 << t))) continue;
        if (!pending[t].open) {
          valid = false;
          break;
        }
        const Note& pn = pending[t].note;
        if (t == kChildThreads) {
          want[pn.sku] = kInitial;
          exists[pn.sku] = true;
        } else {
          want[pn.sku] += pn.delta;
        }
      }
      if (!valid) continue;
      bool same = true;
      for (int i = 0; i < kSkus; ++i) {
        const bool present = e->Resolve(SkuName(i)).has_value();
        same = same && present == exists[i] && (!present || got[i] == want[i]);
      }
      explained = same;
    }
    ASSERT_TRUE(explained) << "iteration " << it << ": recovered state is not the acknowledged state plus "
                           << "a subset of the unacknowledged changes; " << e->recovery_summary();
    for (int i = 0; i < kSkus; ++i) {
      defined[i] = e->Resolve(SkuName(i)).has_value();
      known[i] = got[i];
    }
  }
  EXPECT_GT(killed_mid_load, iterations / 2);
}

}  // namespace
}  // namespace flashstock
