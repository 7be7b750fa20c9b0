// libFuzzer target for the RESP parser (tools/server/resp.h): whatever the
// bytes, ParseCommand never reads outside them, consumes a command only
// whole, keeps every limit, and what it parsed re-encodes (RespWriter) and
// parses back to the same arguments. Run by tests/fuzz/run_resp_fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "server/resp.h"

namespace {

void Require(bool ok) {
  if (!ok) std::abort();
}

void ParseAll(std::string_view input, const flashstock::server::ParseLimits& limits) {
  using flashstock::server::ParseStatus;
  std::vector<std::string_view> args;
  std::vector<std::string_view> again;
  std::size_t pos = 0;
  while (pos < input.size()) {
    const std::string_view rest = input.substr(pos);
    const flashstock::server::ParseResult r = flashstock::server::ParseCommand(rest, limits, &args);
    if (r.status != ParseStatus::kCommand) {
      Require(r.status == ParseStatus::kIncomplete || !r.error.empty());
      return;
    }
    Require(r.consumed > 0 && r.consumed <= rest.size());
    Require(args.size() <= limits.args_max || r.is_inline);
    Require(args.size() <= flashstock::server::kMultibulkArgsMax);
    for (std::string_view a : args) {
      Require(a.data() >= rest.data() && a.data() + a.size() <= rest.data() + r.consumed);
      Require(r.is_inline || a.size() <= limits.bulk_bytes_max);
    }
    if (!args.empty()) {
      std::string encoded;
      flashstock::server::RespWriter w(&encoded);
      w.ArrayHeader(args.size());
      for (std::string_view a : args) w.Bulk(a);
      const flashstock::server::ParseResult back =
          flashstock::server::ParseCommand(encoded, flashstock::server::ParseLimits{}, &again);
      if (args.size() <= flashstock::server::kMultibulkArgsMax) {
        Require(back.status == ParseStatus::kCommand && back.consumed == encoded.size());
        Require(again == args);
      }
    }
    pos += r.consumed;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  ParseAll(input, flashstock::server::ParseLimits{});
  ParseAll(input, flashstock::server::ParseLimits{flashstock::server::kUnauthArgsMax,
                                                  flashstock::server::kUnauthBulkBytesMax});
  return 0;
}
