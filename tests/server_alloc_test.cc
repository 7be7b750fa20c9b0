// The TAKE path allocates nothing per command: after a warm-up, a pipelined
// batch of TAKEs over one connection costs (almost) no heap allocations in the
// whole process. Counted by replacing the global operator new; the client is
// a raw socket that reuses its buffers.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

#include "gtest/gtest.h"
#include "server/server.h"
#include "server_test_util.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace flashstock::server {
namespace {

constexpr int kTakes = 2000;

TEST(ServerAllocTest, PipelinedTakesAllocateNothingPerCommand) {
  Engine engine(EngineOptions{.skus_max = 8});
  ASSERT_TRUE(engine.Define("hot", 1000000).ok());
  ServerOptions o;
  o.bind = {"127.0.0.1"};
  o.port = 0;
  o.threads = 1;
  Server server(&engine, o);
  ASSERT_TRUE(server.Start().ok());
  Raw client(server.port());
  std::string batch;
  for (int i = 0; i < kTakes; ++i) batch += "*3\r\n$4\r\nTAKE\r\n$3\r\nhot\r\n$1\r\n1\r\n";
  // Warm up: buffers reach their working size, Asio's handler memory is cached.
  client.Send(batch);
  ASSERT_EQ(client.ReadUntil(":998000\r\n").size(), static_cast<std::size_t>(kTakes) * 9);
  const long before = g_allocations.load();
  client.Send(batch);
  const std::string replies = client.ReadUntil(":996000\r\n");
  const long allocations = g_allocations.load() - before;
  EXPECT_EQ(replies.size(), static_cast<std::size_t>(kTakes) * 9);
  // The client's reply string grows by doubling (~15 times); the server adds
  // nothing per command.
  std::printf("%ld heap allocations in the process for %d pipelined takes\n", allocations, kTakes);
  EXPECT_LT(allocations, 40) << allocations << " allocations for " << kTakes << " takes";
  server.Stop();
  server.Wait();
}

}  // namespace
}  // namespace flashstock::server
