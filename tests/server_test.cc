// `flashstock serve` in-process, driven through hiredis (a real Redis client
// library) and, where hiredis cannot speak it (inline commands, RESP3,
// broken frames), through a raw socket. Every server listens on 127.0.0.1
// on a port the kernel picks.
#include "server/server.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "base/file.h"
#include "journal_test_util.h"
#include "server_test_util.h"

namespace flashstock::server {
namespace {

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// A hiredis connection with a 5 s timeout on every call.
class Client {
 public:
  explicit Client(std::uint16_t port) {
    const timeval tv{5, 0};
    c_ = redisConnectWithTimeout("127.0.0.1", port, tv);
    EXPECT_TRUE(c_ != nullptr && c_->err == 0) << (c_ ? c_->errstr : "no context");
    if (c_ != nullptr) redisSetTimeout(c_, tv);
  }
  ~Client() {
    if (c_ != nullptr) redisFree(c_);
  }
  // Sends argv as one multibulk command and reads its reply.
  Reply Call(const std::vector<std::string>& argv) {
    Append(argv);
    return Get();
  }
  void Append(const std::vector<std::string>& argv) {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const std::string& a : argv) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
    ASSERT_EQ(redisAppendCommandArgv(c_, static_cast<int>(argv.size()), ptrs.data(), lens.data()), REDIS_OK);
  }
  Reply Get() {
    void* r = nullptr;
    if (redisGetReply(c_, &r) != REDIS_OK) return nullptr;
    return Reply(static_cast<redisReply*>(r));
  }
  redisContext* context() { return c_; }

 private:
  redisContext* c_ = nullptr;
};

ServerOptions LoopbackOptions() {
  ServerOptions o;
  o.bind = {"127.0.0.1"};
  o.port = 0;
  o.threads = 2;
  return o;
}

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = LoopbackOptions()) {
    server_ = std::make_unique<Server>(engine_.get(), options);
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
  }
  void TearDown() override {
    if (server_) {
      server_->Stop();
      server_->Wait();
    }
  }
  std::unique_ptr<Engine> engine_ = std::make_unique<Engine>(EngineOptions{.skus_max = 64});
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
};

void ExpectStatus(const Reply& r, const std::string& s) {
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, REDIS_REPLY_STATUS);
  EXPECT_EQ(std::string(r->str, r->len), s);
}
void ExpectInt(const Reply& r, long long n) {
  ASSERT_TRUE(r);
  ASSERT_EQ(r->type, REDIS_REPLY_INTEGER) << (r->type == REDIS_REPLY_ERROR ? r->str : "");
  EXPECT_EQ(r->integer, n);
}
void ExpectError(const Reply& r, const std::string& s) {
  ASSERT_TRUE(r);
  ASSERT_EQ(r->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(std::string(r->str, r->len), s);
}
void ExpectInts(const Reply& r, const std::vector<long long>& ns) {
  ASSERT_TRUE(r);
  ASSERT_EQ(r->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(r->elements, ns.size());
  for (std::size_t i = 0; i < ns.size(); ++i) {
    ASSERT_EQ(r->element[i]->type, REDIS_REPLY_INTEGER);
    EXPECT_EQ(r->element[i]->integer, ns[i]) << i;
  }
}
void ExpectBulk(const redisReply* r, const std::string& s) {
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(r->str, r->len), s);
}

TEST_F(ServerTest, EveryVerbTyped) {
  StartServer();
  Client c(port_);
  ExpectInt(c.Call({"DEFINE", "tee", "10"}), 10);
  ExpectInt(c.Call({"define", "123", "5"}), 5);  // a name that looks like a number
  ExpectInt(c.Call({"TAKE", "tee", "3"}), 7);
  ExpectError(c.Call({"take", "tee", "8"}), "INSUFFICIENT 7");
  ExpectInts(c.Call({"TakeUpTo", "tee", "9"}), {7, 0});
  ExpectInt(c.Call({"RESTOCK", "tee", "5"}), 5);
  ExpectInts(c.Call({"LEVEL", "tee"}), {5, 0, 0});
  ExpectInt(c.Call({"FLOOR", "tee", "-2"}), 5);
  ExpectStatus(c.Call({"RESERVE", "42", "60000", "tee", "2", "123", "1"}), "OK");
  Reply order = c.Call({"ORDER", "42"});
  ASSERT_TRUE(order);
  ASSERT_EQ(order->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(order->elements, 5u);
  ExpectBulk(order->element[0], "HELD");
  ExpectBulk(order->element[1], "tee");
  EXPECT_EQ(order->element[2]->integer, 2);
  ExpectBulk(order->element[3], "123");  // a SKU name is always a bulk string
  EXPECT_EQ(order->element[4]->integer, 1);
  ExpectStatus(c.Call({"COMMIT", "42"}), "OK");
  ExpectInts(c.Call({"LEVEL", "tee"}), {3, 0, 2});
  ExpectStatus(c.Call({"RETURN", "42"}), "OK");
  ExpectError(c.Call({"CANCEL", "42"}), "ORDER_CLOSED RETURNED");
  ExpectError(c.Call({"COMMIT", "99"}), "UNKNOWN_ORDER");
  ExpectError(c.Call({"TAKE", "ghost", "1"}), "UNKNOWN_SKU no SKU named 'ghost'");
  ExpectError(c.Call({"TAKE", "tee", "x"}), "BAD_COMMAND 'x' is not an integer in the int64 range");
  // No journal: CHECKPOINT answers the engine's refusal, typed as an error.
  Reply cp = c.Call({"CHECKPOINT"});
  ASSERT_TRUE(cp);
  EXPECT_EQ(cp->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(std::string(cp->str).rfind("CHECKPOINT ", 0), 0u);
  ExpectInt(c.Call({"DBSIZE"}), 2);
}

TEST_F(ServerTest, RedisErrorTexts) {
  StartServer();
  Client c(port_);
  ExpectError(c.Call({"TAKE", "tee"}), "ERR wrong number of arguments for 'take' command");
  ExpectError(c.Call({"reserve", "1", "100", "tee"}), "ERR wrong number of arguments for 'reserve' command");
  ExpectError(c.Call({"ECHO"}), "ERR wrong number of arguments for 'echo' command");
  ExpectError(c.Call({"FROB", "a", "b"}), "ERR unknown command 'FROB', with args beginning with: 'a' 'b' ");
  ExpectError(c.Call({"SELECT", "1"}), "ERR DB index is out of range");
  ExpectError(c.Call({"WATCH", "x"}),
              "ERR WATCH is not supported: flashstock has no keys to watch. Each command is atomic on its own; "
              "RESERVE is all-or-nothing across SKUs");
  ExpectError(c.Call({"AUTH", "pw"}),
              "ERR AUTH <password> called without any password configured for the default user. Are you sure your "
              "configuration is correct?");
}

TEST_F(ServerTest, HandshakeCommands) {
  StartServer();
  Client c(port_);
  ExpectStatus(c.Call({"PING"}), "PONG");
  ExpectBulk(c.Call({"PING", "hi"}).get(), "hi");
  ExpectBulk(c.Call({"ECHO", "a b"}).get(), "a b");
  Reply hello = c.Call({"HELLO", "2", "SETNAME", "cart"});
  ASSERT_TRUE(hello);
  ASSERT_EQ(hello->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(hello->elements, 14u);
  ExpectBulk(hello->element[0], "server");
  ExpectBulk(hello->element[1], "flashstock");
  ExpectBulk(hello->element[4], "proto");
  EXPECT_EQ(hello->element[5]->integer, 2);
  ExpectBulk(c.Call({"CLIENT", "GETNAME"}).get(), "cart");
  ExpectStatus(c.Call({"CLIENT", "SETNAME", "web1"}), "OK");
  ExpectBulk(c.Call({"CLIENT", "GETNAME"}).get(), "web1");
  ExpectStatus(c.Call({"CLIENT", "SETINFO", "lib-name", "redis-py"}), "OK");
  Reply id = c.Call({"CLIENT", "ID"});
  ASSERT_TRUE(id);
  EXPECT_EQ(id->type, REDIS_REPLY_INTEGER);
  ExpectStatus(c.Call({"SELECT", "0"}), "OK");
  Reply save = c.Call({"CONFIG", "GET", "save"});
  ASSERT_TRUE(save);
  ASSERT_EQ(save->elements, 2u);
  ExpectBulk(save->element[0], "save");
  ExpectBulk(save->element[1], "");
  Reply aof = c.Call({"CONFIG", "GET", "appendonly"});
  ASSERT_TRUE(aof);
  ASSERT_EQ(aof->elements, 2u);
  ExpectBulk(aof->element[1], "no");
  Reply unknown = c.Call({"CONFIG", "GET", "no-such-thing"});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(unknown->elements, 0u);
  Reply count = c.Call({"COMMAND", "COUNT"});
  ASSERT_TRUE(count);
  EXPECT_EQ(count->type, REDIS_REPLY_INTEGER);
  Reply all = c.Call({"COMMAND"});
  ASSERT_TRUE(all);
  EXPECT_EQ(static_cast<long long>(all->elements), count->integer);
  Reply docs = c.Call({"COMMAND", "DOCS"});
  ASSERT_TRUE(docs);
  EXPECT_EQ(docs->type, REDIS_REPLY_ARRAY);
  Reply info = c.Call({"INFO"});
  ASSERT_TRUE(info);
  ASSERT_EQ(info->type, REDIS_REPLY_STRING);
  const std::string text(info->str, info->len);
  for (const char* want : {"# Server", "# Clients", "# Stats", "# Persistence", "loading:0", "connected_clients:1",
                           "total_commands_processed:", "skus_defined:0", "journal_durable_sequence:0",
                           "last_durable_wait_us:"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want;
  }
  Reply persistence = c.Call({"INFO", "persistence"});
  ASSERT_TRUE(persistence);
  EXPECT_EQ(std::string(persistence->str).find("# Server"), std::string::npos);
  ExpectStatus(c.Call({"RESET"}), "RESET");
  ExpectStatus(c.Call({"QUIT"}), "OK");
  EXPECT_FALSE(c.Call({"PING"}));  // closed
}

TEST_F(ServerTest, Resp3AfterHello3) {
  StartServer();
  Raw r(port_);
  r.Send("HELLO 3\r\nPING\r\n");
  const std::string hello = r.ReadUntil("+PONG\r\n");
  EXPECT_EQ(hello.rfind("%7\r\n$6\r\nserver\r\n$10\r\nflashstock\r\n", 0), 0u) << hello;
  EXPECT_NE(hello.find("$5\r\nproto\r\n:3\r\n"), std::string::npos) << hello;
  r.Send("CLIENT GETNAME\r\nDEFINE a 1\r\nLEVEL a\r\n");
  EXPECT_EQ(r.ReadUntil("*3\r\n:1\r\n:0\r\n:0\r\n"), "_\r\n:1\r\n*3\r\n:1\r\n:0\r\n:0\r\n");
}

TEST_F(ServerTest, PipelineAnswersInOrder) {
  StartServer();
  Client c(port_);
  ExpectInt(c.Call({"DEFINE", "tee", "1000"}), 1000);
  constexpr int kCommands = 500;
  for (int i = 0; i < kCommands; ++i) c.Append({"TAKE", "tee", "1"});
  for (int i = 0; i < kCommands; ++i) ExpectInt(c.Get(), 999 - i);
  // Inline commands, several in one write, some with \n only.
  Raw r(port_);
  r.Send("PING\r\nTAKE tee 1\nLEVEL   tee\r\n\r\nECHO x\n");
  EXPECT_EQ(r.Read(33), "+PONG\r\n:499\r\n*3\r\n:499\r\n:0\r\n:0\r\n$1\r\nx\r\n");
}

TEST_F(ServerTest, MultiExecDiscard) {
  StartServer();
  Client c(port_);
  ExpectInt(c.Call({"DEFINE", "tee", "5"}), 5);
  ExpectStatus(c.Call({"MULTI"}), "OK");
  ExpectError(c.Call({"MULTI"}), "ERR MULTI calls can not be nested");
  ExpectStatus(c.Call({"TAKE", "tee", "2"}), "QUEUED");
  ExpectStatus(c.Call({"TAKE", "tee", "9"}), "QUEUED");
  ExpectStatus(c.Call({"LEVEL", "tee"}), "QUEUED");
  Reply exec = c.Call({"EXEC"});
  ASSERT_TRUE(exec);
  ASSERT_EQ(exec->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(exec->elements, 3u);
  EXPECT_EQ(exec->element[0]->integer, 3);
  EXPECT_EQ(exec->element[1]->type, REDIS_REPLY_ERROR);  // in place, no rollback
  EXPECT_EQ(std::string(exec->element[1]->str), "INSUFFICIENT 3");
  EXPECT_EQ(exec->element[2]->elements, 3u);
  ExpectError(c.Call({"EXEC"}), "ERR EXEC without MULTI");
  ExpectError(c.Call({"DISCARD"}), "ERR DISCARD without MULTI");
  ExpectStatus(c.Call({"MULTI"}), "OK");
  ExpectStatus(c.Call({"TAKE", "tee", "1"}), "QUEUED");
  ExpectStatus(c.Call({"DISCARD"}), "OK");
  ExpectInts(c.Call({"LEVEL", "tee"}), {3, 0, 0});
  ExpectStatus(c.Call({"MULTI"}), "OK");
  ExpectError(c.Call({"TAKE", "tee"}), "ERR wrong number of arguments for 'take' command");
  ExpectStatus(c.Call({"TAKE", "tee", "1"}), "QUEUED");
  ExpectError(c.Call({"EXEC"}), "EXECABORT Transaction discarded because of previous errors.");
  ExpectInts(c.Call({"LEVEL", "tee"}), {3, 0, 0});
}

TEST_F(ServerTest, BadFramesCloseOnlyThatConnection) {
  StartServer();
  Client good(port_);
  ExpectInt(good.Call({"DEFINE", "tee", "5"}), 5);
  const std::pair<std::string, std::string> cases[] = {
      {"*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
      {"*1\r\n$100000\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
      {"*99999999\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
      {"*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"},
      {std::string(70 * 1024, 'a'), "-ERR Protocol error: too big inline request\r\n"},
  };
  for (const auto& [frame, error] : cases) {
    Raw bad(port_);
    bad.Send("PING\r\n" + frame);
    EXPECT_EQ(bad.Read(7 + error.size()), "+PONG\r\n" + error);
    EXPECT_TRUE(bad.Closed());
    ExpectInt(good.Call({"TAKE", "tee", "1"}), 4);
    ExpectInt(good.Call({"RESTOCK", "tee", "1"}), 5);
  }
  // A frame that never ends: bounded, then refused.
  Raw endless(port_);
  endless.Send("*2\r\n$4\r\nECHO\r\n$60000\r\n");
  for (int i = 0; i < 40; ++i) endless.Send(std::string(60000, 'x').substr(0, 1500));
  ExpectStatus(good.Call({"PING"}), "PONG");
}

// A client that pipelines without ever reading: once its answers fill the
// socket and 256 KiB wait in the server, the server stops reading from it
// (memory per connection stays bounded; it is not closed), and everyone else
// is served as before.
TEST_F(ServerTest, ClientThatNeverReadsIsBoundedAndOthersAreServed) {
  StartServer();
  Client good(port_);
  ExpectInt(good.Call({"DEFINE", "tee", "1000000"}), 1000000);
  Raw hog(port_);
  std::string chunk;
  for (int i = 0; i < 1000; ++i) chunk += "TAKE tee 1\r\n";
  constexpr std::size_t kOffered = 64 << 20;
  const std::size_t sent = hog.SendUntilFull(chunk, kOffered);
  EXPECT_LT(sent, kOffered) << "the server kept reading from a client that never reads";
  // What the server read it ran (its answers fill the kernel's buffers); then
  // it stopped reading: the count stays put (what piles up more is in the
  // kernel's receive buffer, not in the server).
  auto taken = [&] {
    Reply level = good.Call({"LEVEL", "tee"});
    return level && level->type == REDIS_REPLY_ARRAY ? 1000000 - level->element[0]->integer : -1;
  };
  long long first = -2;
  bool stable = false;
  for (int i = 0; i < 50 && !stable; ++i) {  // at most 10 s, on a loaded machine
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const long long now = taken();
    stable = now == first;
    first = now;
  }
  EXPECT_TRUE(stable) << "the server kept running the hog's commands";
  EXPECT_GT(first, 0);
  EXPECT_LE(first, static_cast<long long>(sent / 12));
  for (int i = 0; i < 20; ++i) ExpectStatus(good.Call({"PING"}), "PONG");
}

// Past the output limit, a client that leaves its answers unread for the
// stall limit is closed, counted and logged; what it had not sent yet is
// never run; everyone else is served throughout.
TEST_F(ServerTest, ClientThatNeverReadsIsClosedAfterTheStallLimit) {
  ServerOptions o = LoopbackOptions();
  o.output_stall = std::chrono::milliseconds(300);
  StartServer(o);
  Client good(port_);
  ExpectInt(good.Call({"DEFINE", "tee", "1000000"}), 1000000);
  Raw hog(port_);
  std::string chunk;
  for (int i = 0; i < 1000; ++i) chunk += "TAKE tee 1\r\n";
  auto closes = [&] {
    Reply info = good.Call({"INFO", "stats"});
    if (!info || info->type != REDIS_REPLY_STRING) return -1L;
    const std::string text(info->str, info->len);
    const std::string key = "client_output_buffer_limit_disconnections:";
    const std::size_t at = text.find(key);
    return at == std::string::npos ? -1L : std::stol(text.substr(at + key.size()));
  };
  // The hog keeps offering commands until the server's own counter shows the
  // close: once the server stops reading, its answers fill the kernel's
  // buffers and its write stays pending. No quiet window is guessed (a loaded
  // machine can pause the server longer than any), and while the server still
  // reads, more bytes are what push it into the stall. Bounded: 20 s.
  constexpr std::size_t kOfferedMax = std::size_t{512} << 20;
  std::size_t sent = 0;
  long closed = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((closed = closes()) == 0 && std::chrono::steady_clock::now() < deadline) {
    sent += hog.SendUntilFull(chunk, kOfferedMax - sent);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(closed, 1);
  EXPECT_TRUE(hog.Closed());
  Reply level = good.Call({"LEVEL", "tee"});
  ASSERT_TRUE(level && level->type == REDIS_REPLY_ARRAY);
  const long long taken = 1000000 - level->element[0]->integer;
  EXPECT_GT(taken, 0);
  EXPECT_LT(taken, static_cast<long long>(sent / 12)) << "commands sent after the stall were run";
  for (int i = 0; i < 20; ++i) ExpectStatus(good.Call({"PING"}), "PONG");
}

TEST_F(ServerTest, HttpIsClosedWithoutAnswer) {
  StartServer();
  for (const char* request : {"POST / HTTP/1.1\r\n", "GET / HTTP/1.1\r\n", "Host: example.com\r\n"}) {
    Raw r(port_);
    r.Send(request);
    EXPECT_EQ(r.Read(1), "");
    EXPECT_TRUE(r.Closed()) << request;
  }
  Client c(port_);
  ExpectStatus(c.Call({"PING"}), "PONG");
}

TEST_F(ServerTest, PasswordGatesEverythingButAuth) {
  ServerOptions o = LoopbackOptions();
  o.password = "s3cret";
  StartServer(o);
  Client c(port_);
  ExpectError(c.Call({"PING"}), "NOAUTH Authentication required.");
  ExpectError(c.Call({"TAKE", "tee", "1"}), "NOAUTH Authentication required.");
  ExpectError(c.Call({"AUTH", "wrong"}), "WRONGPASS invalid username-password pair or user is disabled.");
  ExpectError(c.Call({"AUTH", "alice", "s3cret"}), "WRONGPASS invalid username-password pair or user is disabled.");
  ExpectStatus(c.Call({"AUTH", "s3cret"}), "OK");
  ExpectStatus(c.Call({"PING"}), "PONG");
  Client h(port_);
  Reply hello = h.Call({"HELLO", "2", "AUTH", "default", "s3cret"});
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->type, REDIS_REPLY_ARRAY);
  ExpectStatus(h.Call({"PING"}), "PONG");
  // Before AUTH, only small frames.
  Raw big(port_);
  big.Send("*11\r\n");
  EXPECT_EQ(big.Read(100), "-ERR Protocol error: unauthenticated multibulk length\r\n");
  Raw bulk(port_);
  bulk.Send("*2\r\n$4\r\nAUTH\r\n$20000\r\n");
  EXPECT_EQ(bulk.Read(100), "-ERR Protocol error: unauthenticated bulk length\r\n");
  Reply info = c.Call({"INFO"});
  ASSERT_TRUE(info);
  EXPECT_EQ(std::string(info->str, info->len).find("s3cret"), std::string::npos);
}

TEST_F(ServerTest, ProtectedModeRefusesPublicBindWithoutPassword) {
  ServerOptions o = LoopbackOptions();
  o.bind = {"0.0.0.0"};
  Server refused(engine_.get(), o);
  const absl::Status s = refused.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("protected mode"), absl::string_view::npos) << s;
}

TEST_F(ServerTest, MaxClientsRefusedAtAccept) {
  ServerOptions o = LoopbackOptions();
  o.max_clients = 2;
  StartServer(o);
  auto a = std::make_unique<Client>(port_);
  Client b(port_);
  ExpectStatus(a->Call({"PING"}), "PONG");
  ExpectStatus(b.Call({"PING"}), "PONG");
  Raw third(port_);
  EXPECT_EQ(third.Read(100), "-ERR max number of clients reached\r\n");
  EXPECT_TRUE(third.Closed());
  ExpectStatus(b.Call({"PING"}), "PONG");
  a.reset();
  // The slot frees once the server sees the close.
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    Client d(port_);
    Reply r = d.Call({"PING"});
    served = r && r->type == REDIS_REPLY_STATUS;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(served);
}

TEST_F(ServerTest, ManyClientsEachServed) {
  StartServer();
  Client setup(port_);
  ExpectInt(setup.Call({"DEFINE", "hot", "100000"}), 100000);
  constexpr int kClients = 200;
  constexpr int kTakes = 20;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<Client>(port_));
  for (auto& c : clients) {
    for (int t = 0; t < kTakes; ++t) c->Append({"TAKE", "hot", "1"});
  }
  long long last = 100000;
  for (auto& c : clients) {
    for (int t = 0; t < kTakes; ++t) {
      Reply r = c->Get();
      ASSERT_TRUE(r);
      ASSERT_EQ(r->type, REDIS_REPLY_INTEGER);
      last = std::min(last, r->integer);
    }
  }
  EXPECT_EQ(last, 100000 - kClients * kTakes);
  ExpectInts(setup.Call({"LEVEL", "hot"}), {100000 - kClients * kTakes, 0, 0});
}

TEST_F(ServerTest, PrometheusMetrics) {
  ServerOptions o = LoopbackOptions();
  o.metrics = "127.0.0.1:0";
  StartServer(o);
  ASSERT_GT(server_->metrics_port(), 0);
  Client c(port_);
  ExpectInt(c.Call({"DEFINE", "tee", "2"}), 2);
  ExpectInt(c.Call({"TAKE", "tee", "1"}), 1);
  ExpectInt(c.Call({"TAKE", "tee", "1"}), 0);
  ExpectError(c.Call({"TAKE", "tee", "1"}), "INSUFFICIENT 0");
  ExpectStatus(c.Call({"PING"}), "PONG");
  Raw http(static_cast<std::uint16_t>(server_->metrics_port()));
  http.Send("GET /metrics HTTP/1.0\r\n\r\n");
  std::string page;
  for (int i = 0; i < 50 && page.find("flashstock_order_expiries_total") == std::string::npos; ++i) {
    page += http.Read(1);
  }
  page += http.Read(1 << 20);
  for (const char* want : {"flashstock_commands_total{result=\"ok\",verb=\"take\"} 2",
                           "flashstock_commands_total{result=\"error\",verb=\"take\"} 1",
                           "flashstock_commands_total{result=\"ok\",verb=\"ping\"} 1",
                           "flashstock_command_duration_seconds_count{verb=\"take\"} 3",
                           "flashstock_connected_clients 1", "flashstock_skus_defined 1",
                           "flashstock_journal_fsyncs_total", "flashstock_reply_durable_wait_seconds_bucket",
                           "flashstock_rejected_connections_total 0"}) {
    EXPECT_NE(page.find(want), std::string::npos) << want << "\n" << page;
  }
}

TEST_F(ServerTest, ShutdownCommandStops) {
  StartServer();
  Client c(port_);
  EXPECT_FALSE(c.Call({"SHUTDOWN"}));  // no reply: the connection closes
  server_->Wait();
}

// Sync replies: a change is answered only after Flush covered it; an fsync
// failure turns every answer of the waiting batch into READONLY.
TEST(ServerDurabilityTest, SyncRepliesWaitForTheDiskAndFailAsReadOnly) {
  flashstock::testing::TempDir dir;
  internal::FaultInjectingFileSystem fs;
  EngineOptions eo = flashstock::testing::JournalOptions(dir.path(), Durability::kAsync);
  eo.file_system = &fs;
  std::unique_ptr<Engine> engine = flashstock::testing::OpenOrDie(eo);
  ServerOptions o = LoopbackOptions();
  o.sync_replies = true;
  Server server(engine.get(), o);
  ASSERT_TRUE(server.Start().ok());
  {
    Client c(server.port());
    ExpectInt(c.Call({"DEFINE", "tee", "10"}), 10);
    for (int i = 0; i < 10; ++i) c.Append({"TAKE", "tee", "1"});
    for (int i = 0; i < 10; ++i) ExpectInt(c.Get(), 9 - i);
    ExpectError(c.Call({"TAKE", "tee", "1"}), "INSUFFICIENT 0");
  }
  engine->Flush().IgnoreError();
  const std::uint64_t durable = engine->durable_sequence();
  fs.Arm(internal::FaultInjectingFileSystem::Fault::kSyncIo, fs.syncs() + 1);
  {
    Client c(server.port());
    Reply r = c.Call({"RESTOCK", "tee", "5"});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->type, REDIS_REPLY_ERROR);
    EXPECT_EQ(std::string(r->str).rfind("READONLY ", 0), 0u) << r->str;
    Reply t = c.Call({"TAKE", "tee", "1"});
    ASSERT_TRUE(t);
    EXPECT_EQ(t->type, REDIS_REPLY_ERROR);
  }
  EXPECT_TRUE(fs.fired());
  EXPECT_EQ(engine->durable_sequence(), durable);
  server.Stop();
  server.Wait();
}

}  // namespace
}  // namespace flashstock::server
