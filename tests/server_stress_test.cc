// The server's threads under load (run under ThreadSanitizer in CI): four
// pipelining clients take, take-up-to and restock three SKUs over RESP while
// a fifth reads INFO; replies are held until the journal listener reports
// them durable (sync replies over an async journal). Ends on conservation per SKU: initial +
// restocked - taken == available, never below the floor.
#include <hiredis/hiredis.h>

#include <array>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "journal_test_util.h"
#include "server/server.h"

namespace flashstock::server {
namespace {

constexpr int kClients = 4;
constexpr int kBatches = 150;
constexpr int kPipeline = 8;
constexpr long long kInitial = 500;
const char* const kSkus[] = {"a", "b", "c"};
constexpr int kSkuCount = 3;

TEST(ServerStressTest, ConservationUnderConcurrentPipelinedClients) {
  flashstock::testing::TempDir dir;
  std::unique_ptr<Engine> engine =
      flashstock::testing::OpenOrDie(flashstock::testing::JournalOptions(dir.path(), Durability::kAsync));
  for (const char* sku : kSkus) ASSERT_TRUE(engine->Define(sku, kInitial).ok());
  ServerOptions o;
  o.bind = {"127.0.0.1"};
  o.port = 0;
  o.threads = 2;
  o.sync_replies = true;
  Server server(engine.get(), o);
  ASSERT_TRUE(server.Start().ok());

  std::atomic<bool> go{false};
  std::atomic<int> finished{0};
  std::vector<std::array<long long, kSkuCount>> taken(kClients), restocked(kClients);
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      taken[t].fill(0);
      restocked[t].fill(0);
      const timeval tv{10, 0};
      redisContext* c = redisConnectWithTimeout("127.0.0.1", server.port(), tv);
      ASSERT_TRUE(c != nullptr && c->err == 0);
      redisSetTimeout(c, tv);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (int b = 0; b < kBatches; ++b) {
        int kinds[kPipeline];
        int skus[kPipeline];
        for (int i = 0; i < kPipeline; ++i) {
          skus[i] = (t + b + i) % kSkuCount;
          kinds[i] = (b * kPipeline + i + t) % 5;  // 0-2 take, 3 take-up-to, 4 restock
          const char* sku = kSkus[skus[i]];
          if (kinds[i] <= 2) redisAppendCommand(c, "TAKE %s 3", sku);
          if (kinds[i] == 3) redisAppendCommand(c, "TAKEUPTO %s 4", sku);
          if (kinds[i] == 4) redisAppendCommand(c, "RESTOCK %s 2", sku);
        }
        for (int i = 0; i < kPipeline; ++i) {
          void* raw = nullptr;
          ASSERT_EQ(redisGetReply(c, &raw), REDIS_OK);
          redisReply* r = static_cast<redisReply*>(raw);
          if (kinds[i] <= 2 && r->type == REDIS_REPLY_INTEGER) taken[t][skus[i]] += 3;
          if (kinds[i] == 3) {
            EXPECT_EQ(r->type, REDIS_REPLY_ARRAY);
            if (r->type == REDIS_REPLY_ARRAY) taken[t][skus[i]] += r->element[0]->integer;
          }
          if (kinds[i] == 4) {
            EXPECT_EQ(r->type, REDIS_REPLY_INTEGER);
            restocked[t][skus[i]] += 2;
          }
          if (kinds[i] <= 2 && r->type != REDIS_REPLY_INTEGER) {
            EXPECT_EQ(std::string(r->str).rfind("INSUFFICIENT ", 0), 0u) << r->str;
          }
          freeReplyObject(r);
        }
      }
      redisFree(c);
      finished.fetch_add(1);
    });
  }
  // A reader of the per-thread figures while they change.
  threads.emplace_back([&] {
    const timeval tv{10, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", server.port(), tv);
    ASSERT_TRUE(c != nullptr && c->err == 0);
    redisSetTimeout(c, tv);
    while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
    for (int i = 0; i < 200 && finished.load() < kClients; ++i) {
      redisReply* r = static_cast<redisReply*>(redisCommand(c, "INFO"));
      ASSERT_NE(r, nullptr);
      EXPECT_EQ(r->type, REDIS_REPLY_STRING);
      freeReplyObject(r);
    }
    redisFree(c);
  });
  go.store(true, std::memory_order_release);
  for (auto& th : threads) th.join();
  server.Stop();
  server.Wait();
  ASSERT_TRUE(engine->Flush().ok());
  for (int s = 0; s < kSkuCount; ++s) {
    long long t_sum = 0, r_sum = 0;
    for (int t = 0; t < kClients; ++t) {
      t_sum += taken[t][s];
      r_sum += restocked[t][s];
    }
    const StockLevels level = engine->Levels(kSkus[s]);
    EXPECT_EQ(level.available, kInitial + r_sum - t_sum) << kSkus[s];
    EXPECT_GE(level.available, 0) << kSkus[s];
  }
}

}  // namespace
}  // namespace flashstock::server
