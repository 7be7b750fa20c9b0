#include "command/command.h"

#include <array>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace flashstock::command {
namespace {

// Debian's Abseil is built with its own absl::string_view (not an alias of
// std::string_view); convert at the boundary.
absl::string_view A(std::string_view s) { return {s.data(), s.size()}; }

enum class Verb : std::uint8_t {
  kDefine, kRestock, kTake, kTakeUpTo, kLevel, kFloor, kReserve, kCommit, kCancel, kReturn,
  kOrder, kCheckpoint, kEscrow,
};

struct VerbSpec {
  Verb verb;
  std::string_view name;        // upper case, as documented
  std::string_view lower_name;  // as Redis names commands in errors
  std::size_t args_min;
  std::size_t args_max;  // SIZE_MAX: no upper bound
  bool pairs;            // RESERVE: the arguments after order and ttl come in pairs
  bool changes;
  std::string_view usage;
};

constexpr std::size_t kNoMax = static_cast<std::size_t>(-1);

constexpr std::array<VerbSpec, 13> kVerbSpecs = {{
    {Verb::kDefine, "DEFINE", "define", 2, 3, false, true, "DEFINE sku qty [floor]"},
    {Verb::kRestock, "RESTOCK", "restock", 2, 2, false, true, "RESTOCK sku n"},
    {Verb::kTake, "TAKE", "take", 2, 2, false, true, "TAKE sku n"},
    {Verb::kTakeUpTo, "TAKEUPTO", "takeupto", 2, 2, false, true, "TAKEUPTO sku n"},
    {Verb::kLevel, "LEVEL", "level", 1, 1, false, false, "LEVEL sku"},
    {Verb::kFloor, "FLOOR", "floor", 2, 2, false, true, "FLOOR sku n"},
    {Verb::kReserve, "RESERVE", "reserve", 4, kNoMax, true, true, "RESERVE order ttl_ms sku n [sku n ...]"},
    {Verb::kCommit, "COMMIT", "commit", 1, 1, false, true, "COMMIT order"},
    {Verb::kCancel, "CANCEL", "cancel", 1, 1, false, true, "CANCEL order"},
    {Verb::kReturn, "RETURN", "return", 1, 1, false, true, "RETURN order"},
    {Verb::kOrder, "ORDER", "order", 1, 1, false, false, "ORDER order"},
    {Verb::kCheckpoint, "CHECKPOINT", "checkpoint", 0, 0, false, false, "CHECKPOINT"},
    // Escrow is not journaled (a runtime setting): nothing to wait for.
    {Verb::kEscrow, "ESCROW", "escrow", 1, 2, false, false, "ESCROW sku [ON|OFF|AUTO]"},
}};

constexpr std::array<std::string_view, kVerbSpecs.size()> kVerbNames = [] {
  std::array<std::string_view, kVerbSpecs.size()> names{};
  for (std::size_t i = 0; i < kVerbSpecs.size(); ++i) names[i] = kVerbSpecs[i].name;
  return names;
}();

const VerbSpec* Find(std::string_view verb) {
  for (const VerbSpec& spec : kVerbSpecs) {
    if (absl::EqualsIgnoreCase(A(spec.name), A(verb))) return &spec;
  }
  return nullptr;
}

bool ArityOk(const VerbSpec& spec, std::size_t args) {
  if (args < spec.args_min || args > spec.args_max) return false;
  return !spec.pairs || args % 2 == 0;
}

void Fail(Answer* answer, std::string message) {
  answer->kind = AnswerKind::kError;
  answer->error = std::move(message);
}

void BadCommand(Answer* answer, absl::string_view why) { Fail(answer, absl::StrCat("BAD_COMMAND ", why)); }

void Number(Answer* answer, std::int64_t n) { answer->fields.push_back(Field{n, {}, false}); }
void Text(Answer* answer, std::string_view text) { answer->fields.push_back(Field{0, text, true}); }

// The error for a refused stock operation, with a message naming the value.
void StockError(Answer* answer, const Engine& engine, const StockResult& r, std::string_view sku,
                std::int64_t quantity) {
  const absl::string_view code = A(OutcomeCode(r.outcome));
  switch (r.outcome) {
    case Outcome::kReadOnly: {
      const std::string why = engine.read_only_reason();
      return Fail(answer, absl::StrCat(code, " ", why.empty() ? "the journal failed" : why));
    }
    case Outcome::kBackpressure:
      return Fail(answer, absl::StrCat(code, " the journal queue is full; nothing changed, retry"));
    case Outcome::kInsufficient: return Fail(answer, absl::StrCat(code, " ", r.available));
    case Outcome::kUnknownSku: return Fail(answer, absl::StrCat(code, " no SKU named '", A(sku), "'"));
    case Outcome::kInvalidName:
      return Fail(answer, absl::StrCat(code, " SKU names are ", kNameBytesMin, " to ", kNameBytesMax,
                                       " bytes, got ", sku.size()));
    case Outcome::kInvalidQuantity:
      return Fail(answer, absl::StrCat(code, " quantity ", quantity, " refused (must be > 0 and keep the level <= ",
                                       kLevelMax, "; floors <= 0)"));
    case Outcome::kAlreadyDefined: return Fail(answer, absl::StrCat(code, " '", A(sku), "' exists; use RESTOCK"));
    case Outcome::kCatalogFull:
      return Fail(answer, absl::StrCat(code, " the catalog holds at most its capacity of SKUs"));
    default: return Fail(answer, absl::StrCat(code, " ", A(sku)));
  }
}

void OrderError(Answer* answer, const OrderResult& r) {
  const absl::string_view code = A(OutcomeCode(r.outcome));
  switch (r.outcome) {
    case Outcome::kOrderClosed:
    case Outcome::kOrderOpen: return Fail(answer, absl::StrCat(code, " ", A(OrderStateName(r.state))));
    case Outcome::kUnknownOrder:
    case Outcome::kOrderConflict: return Fail(answer, std::string(code));
    case Outcome::kOrdersFull:
      return Fail(answer, absl::StrCat(code, " every order slot is open or remembered; retry later"));
    case Outcome::kInvalidOrder:
      return Fail(answer, absl::StrCat(code, " ttl_ms must be ", kHoldTtlMsMin, "..", kHoldTtlMsMax,
                                       " and an order names 1..", kOrderLinesMax, " distinct SKUs"));
    case Outcome::kInvalidQuantity:
      return Fail(answer, absl::StrCat(code, " line quantities must be 1..", kOrderLineQuantityMax,
                                       ", also after summing lines of one SKU"));
    default: return Fail(answer, std::string(code));
  }
}

// SimpleAtoi also rejects out-of-range numbers.
bool ParseInt(std::string_view text, std::int64_t* value) {
  return !text.empty() && absl::SimpleAtoi(A(text), value);
}

// Parses args[i] as an int64, or answers BAD_COMMAND naming it.
bool IntArg(std::span<const std::string_view> args, std::size_t i, std::int64_t* value, Answer* answer) {
  if (ParseInt(args[i], value)) return true;
  BadCommand(answer, absl::StrCat("'", A(args[i]), "' is not an integer in the int64 range"));
  return false;
}

// Order ids are decimal integers in [1, 2^64 - 1]; anything else (0, a sign,
// a non-number) is a BAD_COMMAND, like any other malformed field.
bool OrderIdArg(std::string_view text, OrderId* id, Answer* answer) {
  if (!text.empty() && text.front() >= '0' && text.front() <= '9' && absl::SimpleAtoi(A(text), id) && *id != 0) {
    return true;
  }
  BadCommand(answer, absl::StrCat("'", A(text), "' is not an order id (a decimal integer 1..2^64-1)"));
  return false;
}

void StockAnswer(Answer* answer, const Engine& engine, const StockResult& r, std::string_view sku,
                 std::int64_t quantity) {
  if (r.ok()) return Number(answer, r.available);
  StockError(answer, engine, r, sku, quantity);
}

void ExecuteOrderVerb(Engine* engine, Verb verb, std::span<const std::string_view> args, Answer* answer) {
  OrderId id = 0;
  if (!OrderIdArg(args[1], &id, answer)) return;
  switch (verb) {
    case Verb::kReserve: {
      std::int64_t ttl_ms = 0;
      if (!IntArg(args, 2, &ttl_ms, answer)) return;
      absl::InlinedVector<OrderLine, kOrderLinesMax> lines;
      for (std::size_t i = 3; i + 1 < args.size(); i += 2) {
        std::int64_t n = 0;
        if (!IntArg(args, i + 1, &n, answer)) return;
        const StockResult level = engine->Level(args[i]);  // resolves and validates the name
        if (!level.ok()) return StockError(answer, *engine, level, args[i], n);
        lines.push_back({*engine->Resolve(args[i]), n});
      }
      const OrderResult r = engine->Reserve(id, lines, ttl_ms);
      if (r.ok()) return;
      if (r.outcome == Outcome::kInsufficient) {
        return Fail(answer, absl::StrCat("INSUFFICIENT ", A(engine->Name(r.short_sku)), " ", r.available));
      }
      return OrderError(answer, r);
    }
    case Verb::kOrder: {
      const std::optional<OrderInfo> info = engine->GetOrder(id);
      if (!info.has_value()) return OrderError(answer, {Outcome::kUnknownOrder});
      Text(answer, OrderStateName(info->state));
      for (const OrderLine& line : info->Lines()) {
        Text(answer, engine->Name(line.sku));
        Number(answer, line.quantity);
      }
      return;
    }
    default: {
      const OrderResult r = verb == Verb::kCommit   ? engine->Commit(id)
                            : verb == Verb::kCancel ? engine->Cancel(id)
                                                    : engine->Return(id);
      if (!r.ok()) OrderError(answer, r);
    }
  }
}

}  // namespace

std::string Answer::ShellText(std::string_view verb) const {
  switch (kind) {
    case AnswerKind::kOk: {
      std::string text = "OK";
      for (const Field& f : fields) {
        if (f.is_text) {
          absl::StrAppend(&text, " ", A(f.text));
        } else {
          absl::StrAppend(&text, " ", f.number);
        }
      }
      return text;
    }
    case AnswerKind::kError:
    case AnswerKind::kWrongArity: return absl::StrCat("ERR ", error);
    case AnswerKind::kUnknownVerb: return absl::StrCat("ERR BAD_COMMAND unknown verb '", A(verb), "'");
  }
  return "ERR BAD_COMMAND";
}

VerbCheck Check(std::span<const std::string_view> args) {
  const VerbSpec* spec = Find(args[0]);
  if (spec == nullptr) return VerbCheck::kUnknownVerb;
  return ArityOk(*spec, args.size() - 1) ? VerbCheck::kOk : VerbCheck::kWrongArity;
}

std::span<const std::string_view> Verbs() { return kVerbNames; }

void Execute(Engine* engine, std::span<const std::string_view> args, Answer* answer) {
  answer->Clear();
  const VerbSpec* spec = Find(args[0]);
  if (spec == nullptr) {
    answer->kind = AnswerKind::kUnknownVerb;
    return;
  }
  answer->verb_index = static_cast<int>(spec - kVerbSpecs.data());
  if (!ArityOk(*spec, args.size() - 1)) {
    answer->kind = AnswerKind::kWrongArity;
    answer->error = absl::StrCat("BAD_COMMAND usage: ", A(spec->usage));
    answer->verb_name = spec->lower_name;
    return;
  }
  answer->changes = spec->changes;
  std::int64_t a = 0;
  std::int64_t b = 0;
  switch (spec->verb) {
    case Verb::kDefine: {
      if (!IntArg(args, 2, &a, answer)) return;
      if (args.size() == 4 && !IntArg(args, 3, &b, answer)) return;
      return StockAnswer(answer, *engine, engine->Define(args[1], a, b), args[1], a);
    }
    case Verb::kRestock:
    case Verb::kTake:
    case Verb::kTakeUpTo:
    case Verb::kFloor: {
      if (!IntArg(args, 2, &a, answer)) return;
      if (spec->verb == Verb::kTakeUpTo) {
        const StockResult r = engine->TakeUpTo(args[1], a);
        if (!r.ok()) return StockError(answer, *engine, r, args[1], a);
        Number(answer, r.taken);
        return Number(answer, r.available);
      }
      const StockResult r = spec->verb == Verb::kRestock ? engine->Restock(args[1], a)
                            : spec->verb == Verb::kTake  ? engine->Take(args[1], a)
                                                         : engine->SetFloor(args[1], a);
      return StockAnswer(answer, *engine, r, args[1], a);
    }
    case Verb::kLevel: {
      const StockLevels r = engine->Levels(args[1]);
      if (!r.ok()) return StockError(answer, *engine, {r.outcome, 0, 0}, args[1], 0);
      Number(answer, r.available);
      Number(answer, r.held);
      return Number(answer, r.sold);
    }
    case Verb::kEscrow: {
      if (args.size() == 3) {
        EscrowMode mode;
        if (absl::EqualsIgnoreCase(A(args[2]), "on")) {
          mode = EscrowMode::kOn;
        } else if (absl::EqualsIgnoreCase(A(args[2]), "off")) {
          mode = EscrowMode::kOff;
        } else if (absl::EqualsIgnoreCase(A(args[2]), "auto")) {
          mode = EscrowMode::kAuto;
        } else {
          return BadCommand(answer, absl::StrCat("'", A(args[2]), "' is not ON, OFF or AUTO"));
        }
        const StockResult r = engine->SetEscrow(args[1], mode);
        if (r.outcome == Outcome::kEscrowFull) {
          return Fail(answer, absl::StrCat(A(OutcomeCode(r.outcome)), " at most ", kEscrowSkusMax,
                                           " SKUs can be in escrow"));
        }
        if (!r.ok()) return StockError(answer, *engine, r, args[1], 0);
      }
      const StockResult level = engine->Level(args[1]);  // resolves and validates the name
      if (!level.ok()) return StockError(answer, *engine, level, args[1], 0);
      const Engine::EscrowStatus status = *engine->GetEscrow(*engine->Resolve(args[1]));
      Text(answer, status.mode == EscrowMode::kOn ? "on" : status.mode == EscrowMode::kAuto ? "auto" : "off");
      return Text(answer, status.split ? "split" : "joined");
    }
    case Verb::kCheckpoint: {
      const absl::Status st = engine->Checkpoint();
      if (!st.ok()) return Fail(answer, absl::StrCat("CHECKPOINT ", st.message()));
      return Number(answer, static_cast<std::int64_t>(engine->durable_sequence()));
    }
    default: return ExecuteOrderVerb(engine, spec->verb, args, answer);
  }
}

std::unique_ptr<Engine> OpenForTool(const EngineOptions& options, std::string_view tool) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(options);
  if (!engine.ok()) {
    std::fprintf(stderr, "flashstock %s: %s\n", std::string(tool).c_str(),
                 std::string(engine.status().message()).c_str());
    return nullptr;
  }
  if (!options.journal_dir.empty()) {
    std::fprintf(stderr, "flashstock %s: recovered %s: %s\n", std::string(tool).c_str(), options.journal_dir.c_str(),
                 (*engine)->recovery_summary().c_str());
  }
  return std::move(*engine);
}

}  // namespace flashstock::command
