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
                          " refused (must be > 0 and keep the level <= ", kLevelMax, "; floors <= 0)");
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

// ---- Orders (issue 4) ----------------------------------------------------------

// Order ids are decimal integers in [1, 2^64 - 1]; anything else (0, a sign,
// a non-number) is a BAD_COMMAND, like any other malformed field.
bool ParseOrderId(absl::string_view text, OrderId* id) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return false;
  return absl::SimpleAtoi(text, id) && *id != 0;
}

std::string OrderError(const OrderResult& r) {
  const absl::string_view code = A(OutcomeCode(r.outcome));
  switch (r.outcome) {
    case Outcome::kOrderClosed:
    case Outcome::kOrderOpen: return absl::StrCat("ERR ", code, " ", A(OrderStateName(r.state)));
    case Outcome::kUnknownOrder:
    case Outcome::kOrderConflict: return absl::StrCat("ERR ", code);
    case Outcome::kOrdersFull:
      return absl::StrCat("ERR ", code, " every order slot is open or remembered; retry later");
    case Outcome::kInvalidOrder:
      return absl::StrCat("ERR ", code, " ttl_ms must be ", kHoldTtlMsMin, "..", kHoldTtlMsMax,
                          " and an order names 1..", kOrderLinesMax, " distinct SKUs");
    case Outcome::kInvalidQuantity:
      return absl::StrCat("ERR ", code, " line quantities must be 1..", kOrderLineQuantityMax,
                          ", also after summing lines of one SKU");
    default: return absl::StrCat("ERR ", code);
  }
}

// Verbs for orders; nullopt when `verb` is not one of them.
std::optional<std::string> ExecuteOrderVerb(Engine* engine, const std::string& verb,
                                            const std::vector<absl::string_view>& f) {
  const std::size_t args = f.size() - 1;
  const bool reserve = verb == "RESERVE";
  if (!reserve && verb != "COMMIT" && verb != "CANCEL" && verb != "RETURN" && verb != "ORDER") {
    return std::nullopt;
  }
  if (reserve ? (args < 4 || args % 2 != 0) : args != 1) {
    return BadCommand(reserve ? "usage: RESERVE order ttl_ms sku n [sku n ...]"
                              : absl::StrCat("usage: ", verb, " order"));
  }
  OrderId id = 0;
  if (!ParseOrderId(f[1], &id)) {
    return BadCommand(absl::StrCat("'", f[1], "' is not an order id (a decimal integer 1..2^64-1)"));
  }
  if (reserve) {
    std::int64_t ttl_ms = 0;
    if (!ParseInt(f[2], &ttl_ms)) {
      return BadCommand(absl::StrCat("'", f[2], "' is not an integer in the int64 range"));
    }
    std::vector<OrderLine> lines;
    for (std::size_t i = 3; i + 1 < f.size(); i += 2) {
      std::int64_t n = 0;
      if (!ParseInt(f[i + 1], &n)) {
        return BadCommand(absl::StrCat("'", f[i + 1], "' is not an integer in the int64 range"));
      }
      const StockResult level = engine->Level(S(f[i]));  // resolves and validates the name
      if (!level.ok()) return Error(*engine, level, f[i], n);
      lines.push_back({*engine->Resolve(S(f[i])), n});
    }
    const OrderResult r = engine->Reserve(id, lines, ttl_ms);
    if (r.ok()) return std::string("OK");
    if (r.outcome == Outcome::kInsufficient) {
      return absl::StrCat("ERR INSUFFICIENT ", A(engine->Name(r.short_sku)), " ", r.available);
    }
    return OrderError(r);
  }
  if (verb == "ORDER") {
    const std::optional<OrderInfo> info = engine->GetOrder(id);
    if (!info.has_value()) return OrderError({Outcome::kUnknownOrder});
    std::string answer = absl::StrCat("OK ", A(OrderStateName(info->state)));
    for (const OrderLine& line : info->Lines()) {
      absl::StrAppend(&answer, " ", A(engine->Name(line.sku)), " ", line.quantity);
    }
    return answer;
  }
  const OrderResult r = verb == "COMMIT" ? engine->Commit(id)
                        : verb == "CANCEL" ? engine->Cancel(id)
                                           : engine->Return(id);
  return r.ok() ? std::string("OK") : OrderError(r);
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
    const StockLevels r = engine_->Levels(S(f[1]));
    return r.ok() ? absl::StrCat("OK ", r.available, " ", r.held, " ", r.sold)
                  : Error(*engine_, {r.outcome, 0, 0}, f[1], 0);
  }
  if (auto answer = ExecuteOrderVerb(engine_, verb, f)) return answer;
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
