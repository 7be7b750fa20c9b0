#include "shell.h"

#include <istream>
#include <ostream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace flashstock {
namespace {

// Debian's Abseil is built with its own absl::string_view (not an alias of
// std::string_view); convert at the boundary.
absl::string_view A(std::string_view s) { return {s.data(), s.size()}; }
std::string_view S(absl::string_view s) { return {s.data(), s.size()}; }

std::string Ok(std::int64_t value) { return absl::StrCat("OK ", value); }

std::string BadCommand(absl::string_view why) { return absl::StrCat("ERR BAD_COMMAND ", why); }

// The error line for a refused stock operation, with a message naming the value.
std::string Error(const Engine& engine, const StockResult& r, absl::string_view sku, std::int64_t quantity) {
  const absl::string_view code = A(OutcomeCode(r.outcome));
  switch (r.outcome) {
    case Outcome::kReadOnly: {
      const std::string why = engine.read_only_reason();
      return absl::StrCat("ERR ", code, " ", why.empty() ? "the journal failed" : why);
    }
    case Outcome::kBackpressure:
      return absl::StrCat("ERR ", code, " the journal queue is full; nothing changed, retry");
    case Outcome::kInsufficient: return absl::StrCat("ERR ", code, " ", r.available);
    case Outcome::kUnknownSku: return absl::StrCat("ERR ", code, " no SKU named '", sku, "'");
    case Outcome::kInvalidName:
      return absl::StrCat("ERR ", code, " SKU names are ", kNameBytesMin, " to ", kNameBytesMax,
                          " bytes, got ", sku.size());
    case Outcome::kInvalidQuantity:
      return absl::StrCat("ERR ", code, " quantity ", quantity,
                          " refused (must be > 0 and keep the level <= INT64_MAX; floors <= 0)");
    case Outcome::kAlreadyDefined:
      return absl::StrCat("ERR ", code, " '", sku, "' exists; use RESTOCK");
    case Outcome::kCatalogFull:
      return absl::StrCat("ERR ", code, " the catalog holds at most its capacity of SKUs");
    default: return absl::StrCat("ERR ", code, " ", sku);
  }
}

bool ParseInt(absl::string_view text, std::int64_t* value) {
  // SimpleAtoi also rejects out-of-range numbers; fields have no spaces here.
  return !text.empty() && absl::SimpleAtoi(text, value);
}

}  // namespace

std::optional<std::string> Shell::Execute(std::string_view whole_line) {
  const absl::string_view line = absl::StripAsciiWhitespace(A(whole_line));
  if (line.empty() || line.front() == '#') return std::nullopt;
  if (line.size() > kShellLineBytesMax) {
    return BadCommand(absl::StrCat("line longer than ", kShellLineBytesMax, " bytes"));
  }
  std::vector<absl::string_view> f = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  const std::string verb = absl::AsciiStrToUpper(f[0]);
  const std::size_t args = f.size() - 1;

  auto want = [&](std::size_t lo, std::size_t hi, absl::string_view usage) -> std::optional<std::string> {
    if (args < lo || args > hi) return BadCommand(absl::StrCat("usage: ", usage));
    return std::nullopt;
  };
  auto number = [&](std::size_t i, std::int64_t* v) -> std::optional<std::string> {
    if (!ParseInt(f[i], v)) {
      return BadCommand(absl::StrCat("'", f[i], "' is not an integer in the int64 range"));
    }
    return std::nullopt;
  };

  std::int64_t a = 0;
  std::int64_t b = 0;
  if (verb == "DEFINE") {
    if (auto e = want(2, 3, "DEFINE sku qty [floor]")) return e;
    if (auto e = number(2, &a)) return e;
    if (args == 3) {
      if (auto e = number(3, &b)) return e;
    }
    const StockResult r = engine_->Define(S(f[1]), a, b);
    return r.ok() ? Ok(r.available) : Error(*engine_, r, f[1], a);
  }
  if (verb == "RESTOCK" || verb == "TAKE" || verb == "TAKEUPTO" || verb == "FLOOR") {
    if (auto e = want(2, 2, absl::StrCat(verb, " sku n"))) return e;
    if (auto e = number(2, &a)) return e;
    if (verb == "TAKEUPTO") {
      const StockResult r = engine_->TakeUpTo(S(f[1]), a);
      return r.ok() ? absl::StrCat("OK ", r.taken, " ", r.available) : Error(*engine_, r, f[1], a);
    }
    const StockResult r = verb == "RESTOCK" ? engine_->Restock(S(f[1]), a)
                          : verb == "TAKE"  ? engine_->Take(S(f[1]), a)
                                            : engine_->SetFloor(S(f[1]), a);
    return r.ok() ? Ok(r.available) : Error(*engine_, r, f[1], a);
  }
  if (verb == "CHECKPOINT") {
    if (auto e = want(0, 0, "CHECKPOINT")) return e;
    const absl::Status st = engine_->Checkpoint();
    if (st.ok()) return absl::StrCat("OK ", engine_->durable_sequence());
    return absl::StrCat("ERR CHECKPOINT ", st.message());
  }
  if (verb == "LEVEL") {
    if (auto e = want(1, 1, "LEVEL sku")) return e;
    const StockResult r = engine_->Level(S(f[1]));
    return r.ok() ? Ok(r.available) : Error(*engine_, r, f[1], 0);
  }
  return BadCommand(absl::StrCat("unknown verb '", f[0], "'"));
}

std::size_t Shell::Run(std::istream& in, std::ostream& out) {
  std::size_t answered = 0;
  std::string line;
  while (true) {
    // Read one line, keeping at most kShellLineBytesMax + 1 bytes of it.
    line.clear();
    bool too_long = false;
    bool any = false;
    int c;
    while ((c = in.get()) != std::char_traits<char>::eof()) {
      any = true;
      if (c == '\n') break;
      if (line.size() <= kShellLineBytesMax) {
        line.push_back(static_cast<char>(c));
      } else {
        too_long = true;
      }
    }
    if (!any) break;
    std::optional<std::string> answer =
        too_long ? BadCommand(absl::StrCat("line longer than ", kShellLineBytesMax, " bytes"))
                 : Execute(line);
    if (answer.has_value()) {
      out << *answer << '\n';
      out.flush();
      ++answered;
    }
    if (c == std::char_traits<char>::eof()) break;
  }
  return answered;
}

}  // namespace flashstock
