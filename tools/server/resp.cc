#include "server/resp.h"

#include <charconv>
#include <cstring>

namespace flashstock::server {
namespace {

// The decimal number in [begin, end), as Redis's string2ll reads a length:
// an optional '-', then digits, nothing else.
bool ParseLength(const char* begin, const char* end, std::int64_t* value) {
  if (begin == end) return false;
  const auto [ptr, ec] = std::from_chars(begin, end, *value);
  return ec == std::errc() && ptr == end;
}

ParseResult Error(std::string text) {
  ParseResult r;
  r.status = ParseStatus::kError;
  r.error = std::move(text);
  return r;
}

ParseResult ParseInline(std::string_view input, std::vector<std::string_view>* args) {
  const std::size_t newline = input.find('\n');
  if (newline == std::string_view::npos) {
    if (input.size() > kInlineBytesMax) return Error("Protocol error: too big inline request");
    return {};
  }
  if (newline > kInlineBytesMax) return Error("Protocol error: too big inline request");
  std::string_view line = input.substr(0, newline);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) {
      if (args->size() >= kMultibulkArgsMax) return Error("Protocol error: invalid multibulk length");
      args->push_back(line.substr(start, i - start));
    }
  }
  ParseResult r;
  r.status = ParseStatus::kCommand;
  r.consumed = newline + 1;
  r.is_inline = true;
  return r;
}

}  // namespace

ParseResult ParseCommand(std::string_view input, const ParseLimits& limits, std::vector<std::string_view>* args) {
  args->clear();
  if (input.empty()) return {};
  if (input[0] != '*') return ParseInline(input, args);

  const char* const base = input.data();
  const char* const end = base + input.size();
  // The count line.
  const char* cr = static_cast<const char*>(std::memchr(base, '\r', input.size()));
  if (cr == nullptr) {
    if (input.size() > kInlineBytesMax) return Error("Protocol error: too big mbulk count string");
    return {};
  }
  if (cr + 1 >= end) return {};  // the '\n' has not arrived
  std::int64_t count = 0;
  if (static_cast<std::size_t>(cr - base) > kLengthLineBytesMax || !ParseLength(base + 1, cr, &count) ||
      count > static_cast<std::int64_t>(kMultibulkArgsMax)) {
    return Error("Protocol error: invalid multibulk length");
  }
  if (count > static_cast<std::int64_t>(limits.args_max)) {
    return Error("Protocol error: unauthenticated multibulk length");
  }
  const char* p = cr + 2;
  for (std::int64_t i = 0; i < count; ++i) {
    if (p >= end) return {};
    if (*p != '$') return Error(std::string("Protocol error: expected '$', got '") + *p + "'");
    cr = static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(end - p)));
    if (cr == nullptr) {
      if (static_cast<std::size_t>(end - p) > kInlineBytesMax) {
        return Error("Protocol error: too big bulk count string");
      }
      return {};
    }
    if (cr + 1 >= end) return {};
    std::int64_t length = 0;
    if (static_cast<std::size_t>(cr - p) > kLengthLineBytesMax || !ParseLength(p + 1, cr, &length) ||
        length < 0 || length > static_cast<std::int64_t>(kBulkBytesMax)) {
      return Error("Protocol error: invalid bulk length");
    }
    if (length > static_cast<std::int64_t>(limits.bulk_bytes_max)) {
      return Error("Protocol error: unauthenticated bulk length");
    }
    p = cr + 2;
    // The bytes and their "\r\n" (not checked, as Redis skips them).
    if (end - p < length + 2) return {};
    args->emplace_back(p, static_cast<std::size_t>(length));
    p += length + 2;
  }
  ParseResult r;
  r.status = ParseStatus::kCommand;
  r.consumed = static_cast<std::size_t>(p - base);
  return r;
}

void RespWriter::Length(char type, std::size_t n) {
  char buf[24];
  buf[0] = type;
  const auto [ptr, ec] = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n);
  (void)ec;
  char* q = ptr;
  *q++ = '\r';
  *q++ = '\n';
  out_->append(buf, static_cast<std::size_t>(q - buf));
}

void RespWriter::Simple(std::string_view s) {
  out_->push_back('+');
  out_->append(s);
  out_->append("\r\n");
}

void RespWriter::Error(std::string_view s) {
  out_->push_back('-');
  out_->append(s);
  out_->append("\r\n");
}

void RespWriter::Error(std::string_view code, std::string_view message) {
  out_->push_back('-');
  out_->append(code);
  out_->push_back(' ');
  out_->append(message);
  out_->append("\r\n");
}

void RespWriter::Integer(std::int64_t n) {
  char buf[24];
  buf[0] = ':';
  const auto [ptr, ec] = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n);
  (void)ec;
  char* q = ptr;
  *q++ = '\r';
  *q++ = '\n';
  out_->append(buf, static_cast<std::size_t>(q - buf));
}

void RespWriter::Bulk(std::string_view s) {
  Length('$', s.size());
  out_->append(s);
  out_->append("\r\n");
}

void RespWriter::Null() { out_->append(resp3_ ? "_\r\n" : "$-1\r\n"); }

void RespWriter::ArrayHeader(std::size_t n) { Length('*', n); }

void RespWriter::MapHeader(std::size_t pairs) {
  if (resp3_) {
    Length('%', pairs);
  } else {
    Length('*', 2 * pairs);
  }
}

}  // namespace flashstock::server
