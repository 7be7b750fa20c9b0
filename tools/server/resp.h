// RESP (the Redis protocol) framing for `flashstock serve`: a parser that
// reads one command at a time in place over the connection's read buffer,
// and a writer that appends typed replies to the send buffer. No Asio here,
// so the parser can be fuzzed alone (tests/fuzz/resp_parser_fuzz.cc).
//
// Input forms, as Redis accepts them (networking.c):
//   multibulk  *<n>\r\n then n times $<len>\r\n<bytes>\r\n
//   inline     a plain line ending in \n (or \r\n), fields split on blanks;
//              what nc or telnet sends. Quotes are not interpreted.
// A frame that breaks a limit or the grammar gets one error (Redis's text)
// and the connection is closed after it.
#ifndef FLASHSTOCK_TOOLS_SERVER_RESP_H_
#define FLASHSTOCK_TOOLS_SERVER_RESP_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flashstock::server {

// Redis's PROTO_INLINE_MAX_SIZE: a line without a newline past this many
// bytes is refused.
inline constexpr std::size_t kInlineBytesMax = 64 * 1024;
// Arguments per command. RESERVE needs 3 + 2 * kOrderLinesMax (23); the rest
// is room for clients that send long ECHO/CLIENT lines. Redis allows 1M.
inline constexpr std::size_t kMultibulkArgsMax = 1024;
// One argument. SKU names are at most 64 bytes; 64 KiB bounds ECHO. Redis
// allows 512 MiB, which a stock engine has no use for.
inline constexpr std::size_t kBulkBytesMax = 64 * 1024;
// Before AUTH, as Redis: at most 10 arguments of at most 16 KiB each.
inline constexpr std::size_t kUnauthArgsMax = 10;
inline constexpr std::size_t kUnauthBulkBytesMax = 16 * 1024;
// Digits in a length line ("*1024\r\n"): Redis refuses longer count strings.
inline constexpr std::size_t kLengthLineBytesMax = 32;

struct ParseLimits {
  std::size_t args_max = kMultibulkArgsMax;
  std::size_t bulk_bytes_max = kBulkBytesMax;
};

enum class ParseStatus : std::uint8_t {
  kCommand,     // *args holds one command (maybe empty: a blank inline line)
  kIncomplete,  // need more bytes; nothing consumed
  kError,       // protocol error: answer `error` and close
};

struct ParseResult {
  ParseStatus status = ParseStatus::kIncomplete;
  std::size_t consumed = 0;     // bytes of input the command used (kCommand)
  std::string error{};          // Redis's text, without "-ERR " (kError)
  bool is_inline = false;
};

// Parses the first command in `input`. On kCommand, *args points into
// `input` (valid while the bytes stay where they are); `args` keeps its
// capacity across calls, so a reused vector allocates nothing.
ParseResult ParseCommand(std::string_view input, const ParseLimits& limits, std::vector<std::string_view>* args);

// Appends typed replies to a send buffer. RESP2 unless resp3 (HELLO 3):
// maps and nulls differ, the rest is the same.
class RespWriter {
 public:
  explicit RespWriter(std::string* out) : out_(out) {}
  void set_resp3(bool resp3) { resp3_ = resp3; }
  bool resp3() const { return resp3_; }

  void Simple(std::string_view s);         // +s
  void Error(std::string_view s);          // -s (s starts with its code)
  void Error(std::string_view code, std::string_view message);
  void Integer(std::int64_t n);            // :n
  void Bulk(std::string_view s);           // $len s
  void Null();                             // $-1 or _
  void ArrayHeader(std::size_t n);         // *n
  void MapHeader(std::size_t pairs);       // *2n or %n

 private:
  void Length(char type, std::size_t n);
  std::string* out_;
  bool resp3_ = false;
};

}  // namespace flashstock::server

#endif  // FLASHSTOCK_TOOLS_SERVER_RESP_H_
