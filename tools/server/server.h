// `flashstock serve`: the RESP (Redis protocol) front end. See docs/server.md.
//
// Threads: one Boost.Asio io_context per io thread; a connection belongs to
// one thread for its life and its commands run inline on that thread, parsed
// in place over the connection's read buffer, answers written straight into
// its send buffer, one write per read batch. When replies must wait for the
// disk, a batch's answers are held on its io thread with a durable point;
// the journal thread's listener posts a drain to an io thread once a commit
// (one fdatasync for every thread's waiting batches) covers its oldest.
//
// Metrics: per io thread, commands by verb and result and a latency
// histogram by verb, written only by that thread (no lock, no shared line
// per command) and summed when Prometheus scrapes.
//
// Lifetime: Start() binds and starts the threads; Stop() (any thread, also
// from SHUTDOWN or a signal) stops accepting, lets every connection finish
// the batch it read and write what is durable, then lets Wait() return.
// REQUIRES: the engine outlives the server.
#ifndef FLASHSTOCK_TOOLS_SERVER_SERVER_H_
#define FLASHSTOCK_TOOLS_SERVER_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "flashstock/engine.h"

namespace flashstock::server {

inline constexpr std::uint16_t kDefaultPort = 7379;
inline constexpr std::size_t kDefaultMaxClients = 10000;
// --client-output-stall-ms: default, and the bounds the flag accepts.
inline constexpr std::int64_t kDefaultOutputStallMs = 30'000;
inline constexpr std::int64_t kOutputStallMsMin = 100;
inline constexpr std::int64_t kOutputStallMsMax = 3'600'000;

struct ServerOptions {
  // Addresses to listen on; the default is loopback only, as Redis.
  std::vector<std::string> bind = {"127.0.0.1", "::1"};
  // 0 picks a free port (the same one on every address).
  std::uint16_t port = kDefaultPort;
  // io threads; 0 = std::thread::hardware_concurrency().
  int threads = 0;
  // Empty: no password. Otherwise every command but AUTH, HELLO and QUIT
  // answers NOAUTH until the client authenticates.
  std::string password{};
  // Refuse to listen on a non-loopback address without a password.
  bool protected_mode = true;
  std::size_t max_clients = kDefaultMaxClients;
  // Hold every reply to a change until the change is durable (the server's
  // "sync" durability; the engine then runs in async mode, see docs/server.md).
  bool sync_replies = false;
  // Stop on SIGTERM and SIGINT.
  bool handle_signals = false;
  // "ADDR:PORT" to serve GET /metrics (Prometheus text format) on, from
  // prometheus-cpp's own HTTP threads; empty for none. Port 0 picks one.
  std::string metrics{};
  // A client whose answers reach the output limit (kOutputBytesSoftMax in
  // server.cc) and stay unread this long is closed.
  std::chrono::milliseconds output_stall{kDefaultOutputStallMs};
  // What INFO and CONFIG GET report as the durability mode.
  std::string durability_name = "none";
};

class ServerImpl;

class Server {
 public:
  Server(Engine* engine, ServerOptions options);
  ~Server();  // stops and waits
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every address and starts the io threads. InvalidArgument for a bad
  // address or protected mode refusing a public address without a password;
  // the bind error otherwise.
  absl::Status Start();
  // The port bound (useful with port 0), and "ADDR:PORT" for each address.
  std::uint16_t port() const;
  std::vector<std::string> listening() const;
  // The metrics port bound (0 without --metrics).
  int metrics_port() const;
  // Asks the server to stop; returns at once. Thread-safe, idempotent.
  void Stop();
  // Blocks until the server has stopped (after Stop, SHUTDOWN or a signal).
  void Wait();

 private:
  std::unique_ptr<ServerImpl> impl_;
};

}  // namespace flashstock::server

#endif  // FLASHSTOCK_TOOLS_SERVER_SERVER_H_
