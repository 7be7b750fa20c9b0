// A raw TCP client for the server tests: bytes in, bytes out, bounded waits.
#ifndef FLASHSTOCK_TESTS_SERVER_TEST_UTIL_H_
#define FLASHSTOCK_TESTS_SERVER_TEST_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace flashstock::server {

// A raw TCP connection: bytes in, bytes out.
class Raw {
 public:
  explicit Raw(std::uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  }
  ~Raw() { close(fd_); }
  void Send(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;  // the server may close on a bad frame mid-send
      done += static_cast<std::size_t>(n);
    }
  }
  // Sends `chunk` over and over without blocking until `bytes_max` went out
  // or the socket is full (the server stopped reading); returns the bytes
  // sent. A partial send resumes mid-chunk, so no command is ever cut.
  std::size_t SendUntilFull(const std::string& chunk, std::size_t bytes_max) {
    std::size_t sent = 0;
    while (sent < bytes_max) {
      const std::size_t at = chunk_offset_;
      const ssize_t n = send(fd_, chunk.data() + at, chunk.size() - at, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
      chunk_offset_ = (at + static_cast<std::size_t>(n)) % chunk.size();
    }
    return sent;
  }
  // Reads until `want` bytes, EOF, or 5 s; sets eof() when the server closed.
  std::string Read(std::size_t want) {
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        eof_ = true;
        break;
      }
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }
  // Reads until the bytes end with `suffix` (or 5 s pass).
  std::string ReadUntil(const std::string& suffix) {
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!got.ends_with(suffix) && !eof_ && std::chrono::steady_clock::now() < deadline) got += Read(1);
    return got;
  }
  // True once the server closed this connection (waits up to 5 s).
  bool Closed() {
    while (!eof_) {
      if (Read(1 << 20).empty() && !eof_) return false;
    }
    return true;
  }

 private:
  int fd_ = -1;
  bool eof_ = false;
  std::size_t chunk_offset_ = 0;  // where SendUntilFull resumes its chunk
};

}  // namespace flashstock::server

#endif  // FLASHSTOCK_TESTS_SERVER_TEST_UTIL_H_
