// SIGKILL `flashstock serve` (sync durability) while clients sell over RESP,
// many times: after every restart each acknowledged take and reserve is
// there, and nothing is oversold. The binary comes from FLASHSTOCK_BIN.
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "journal_test_util.h"

namespace flashstock {
namespace {

constexpr int kRounds = 6;
constexpr int kClients = 4;
constexpr int kPipeline = 8;
constexpr long long kInitial = 1000000;  // never sells out: every round sells
constexpr auto kRunBeforeKill = std::chrono::milliseconds(150);

struct Child {
  pid_t pid = -1;
  int port = 0;
};

Child StartServer(const std::string& bin, const std::string& dir, const std::string& log) {
  Child c;
  c.pid = fork();
  if (c.pid == 0) {
    std::freopen(log.c_str(), "w", stderr);
    execl(bin.c_str(), bin.c_str(), "serve", "--port", "0", "--bind", "127.0.0.1", "--threads", "2", "--journal",
          dir.c_str(), "--durability", "sync", static_cast<char*>(nullptr));
    _exit(127);
  }
  // No std::regex: g++ 12 under ASan warns inside <regex> (-Werror).
  const std::string ready = "flashstock serve: ready on 127.0.0.1:";
  for (int i = 0; i < 200 && c.port == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::ifstream in(log);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(ready, 0) == 0) c.port = std::atoi(line.c_str() + ready.size());
    }
  }
  return c;
}

redisContext* Connect(int port) {
  const timeval tv{5, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c != nullptr && c->err == 0) redisSetTimeout(c, tv);
  return c;
}

redisReply* Command(redisContext* c, const std::vector<std::string>& argv) {
  std::vector<const char*> p;
  std::vector<size_t> l;
  for (const auto& a : argv) {
    p.push_back(a.c_str());
    l.push_back(a.size());
  }
  return static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), p.data(), l.data()));
}

TEST(ServerKillTest, AcknowledgedChangesSurviveSigkill) {
  const char* bin = std::getenv("FLASHSTOCK_BIN");
  if (bin == nullptr) GTEST_SKIP() << "FLASHSTOCK_BIN not set";
  flashstock::testing::TempDir tmp;
  const std::string dir = tmp / "journal";
  const std::string log = tmp / "serve.log";
  std::atomic<long long> acked_takes{0};
  std::atomic<long long> sent_takes{0};
  std::vector<std::uint64_t> acked_orders;
  std::mutex orders_mu;
  std::uint64_t next_order = 1;

  for (int round = 0; round <= kRounds; ++round) {
    Child server = StartServer(bin, dir, log);
    // A failed ASSERT returns early: the child must not outlive the test.
    struct Reaper {
      pid_t pid;
      ~Reaper() {
        if (pid > 0 && kill(pid, SIGKILL) == 0) waitpid(pid, nullptr, 0);
      }
    } reaper{server.pid};
    ASSERT_GT(server.port, 0) << "round " << round;
    redisContext* check = Connect(server.port);
    ASSERT_TRUE(check != nullptr && check->err == 0);
    if (round == 0) {
      redisReply* r = Command(check, {"DEFINE", "hot", std::to_string(kInitial)});
      ASSERT_EQ(r->type, REDIS_REPLY_INTEGER);
      freeReplyObject(r);
    }
    // After the restart: everything acknowledged so far is there.
    redisReply* level = Command(check, {"LEVEL", "hot"});
    ASSERT_EQ(level->type, REDIS_REPLY_ARRAY) << round;
    const long long available = level->element[0]->integer;
    const long long held = level->element[1]->integer;
    freeReplyObject(level);
    EXPECT_GE(available, 0) << "oversold, round " << round;
    EXPECT_LE(acked_takes.load() + static_cast<long long>(acked_orders.size()), kInitial - available)
        << "an acknowledged change was lost, round " << round;
    EXPECT_GE(sent_takes.load() + static_cast<long long>(next_order - 1), kInitial - available) << round;
    EXPECT_GE(held, static_cast<long long>(acked_orders.size())) << round;
    for (std::uint64_t id : acked_orders) {
      redisReply* o = Command(check, {"ORDER", std::to_string(id)});
      ASSERT_EQ(o->type, REDIS_REPLY_ARRAY) << "order " << id << " lost, round " << round;
      EXPECT_EQ(std::string(o->element[0]->str), "HELD");
      freeReplyObject(o);
    }
    redisFree(check);
    if (round == kRounds) {
      kill(server.pid, SIGTERM);
      int status = 0;
      waitpid(server.pid, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
      reaper.pid = -1;
      break;
    }

    // Sell until killed.
    std::atomic<bool> go{false};
    std::vector<std::thread> clients;
    for (int t = 0; t < kClients; ++t) {
      const std::uint64_t first_order = next_order + static_cast<std::uint64_t>(t) * 1000;
      clients.emplace_back([&, t, first_order] {
        redisContext* c = Connect(server.port);
        if (c == nullptr || c->err != 0) return;
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        for (std::uint64_t batch = 0;; ++batch) {
          for (int i = 0; i < kPipeline; ++i) redisAppendCommand(c, "TAKE hot 1");
          sent_takes.fetch_add(kPipeline);
          const bool reserve = t == 0;
          const std::uint64_t id = first_order + batch;
          if (reserve) {
            redisAppendCommand(c, "RESERVE %llu 3600000 hot 1", static_cast<unsigned long long>(id));
          }
          int ok = 0;
          bool dead = false;
          for (int i = 0; i < kPipeline; ++i) {
            void* r = nullptr;
            if (redisGetReply(c, &r) != REDIS_OK) {
              dead = true;
              break;
            }
            if (static_cast<redisReply*>(r)->type == REDIS_REPLY_INTEGER) ++ok;
            freeReplyObject(r);
          }
          acked_takes.fetch_add(ok);
          if (!dead && reserve) {
            void* r = nullptr;
            if (redisGetReply(c, &r) != REDIS_OK) {
              dead = true;
            } else {
              if (static_cast<redisReply*>(r)->type == REDIS_REPLY_STATUS) {
                std::lock_guard<std::mutex> lock(orders_mu);
                acked_orders.push_back(id);
              }
              freeReplyObject(r);
            }
          }
          if (dead || batch >= 999) break;
        }
        redisFree(c);
      });
    }
    go.store(true, std::memory_order_release);
    std::this_thread::sleep_for(kRunBeforeKill);
    kill(server.pid, SIGKILL);
    int status = 0;
    waitpid(server.pid, &status, 0);
    reaper.pid = -1;
    for (auto& c : clients) c.join();
    next_order += kClients * 1000;
  }
  EXPECT_GT(acked_takes.load(), 0);
  std::printf("takes acknowledged %lld of %lld sent, reserves acknowledged %zu, %d kills\n", acked_takes.load(),
              sent_takes.load(), acked_orders.size(), kRounds);
}

}  // namespace
}  // namespace flashstock
