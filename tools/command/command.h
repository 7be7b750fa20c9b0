// The flashstock command language, shared by every transport: the shell
// (one text line in, one text line out) and the RESP server (frames in,
// typed replies out). A transport splits its input into fields, calls
// Execute, and renders the Answer: ShellText() for the shell, RespWriter for
// the server (tools/server/resp.h). A verb is added here and nowhere else.
//
// Allocation: an Answer reused across calls keeps its storage, so a
// successful TAKE, TAKEUPTO, RESTOCK, FLOOR or LEVEL allocates nothing (its
// fields fit inline, names point into the engine). Errors build a message
// and may allocate: they are off the hot path.
#ifndef FLASHSTOCK_TOOLS_COMMAND_COMMAND_H_
#define FLASHSTOCK_TOOLS_COMMAND_COMMAND_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "flashstock/engine.h"

namespace flashstock::command {

// One field of a successful answer: a number, or text (an order's state, a
// SKU name). Text points into static storage or into the engine (SKU names
// live as long as the engine).
struct Field {
  std::int64_t number = 0;
  std::string_view text{};
  bool is_text = false;
};

enum class AnswerKind : std::uint8_t {
  kOk,           // fields (maybe none)
  kError,        // error = "CODE message"
  kWrongArity,   // error = "BAD_COMMAND usage: ..."; verb_name says which verb
  kUnknownVerb,  // not a verb of this language
};

// Fields inline before an Answer spills to the heap: LEVEL needs 3.
// ORDER needs 1 + 2 * kOrderLinesMax and may allocate (once per reused Answer).
inline constexpr std::size_t kAnswerFieldsInline = 4;

struct Answer {
  AnswerKind kind = AnswerKind::kOk;
  absl::InlinedVector<Field, kAnswerFieldsInline> fields;
  std::string error;
  // Lower-case verb name for a kWrongArity answer ("take"), as Redis names
  // commands in its arity error.
  std::string_view verb_name{};
  // The command may have changed the engine: with a journal, its answer is
  // only final once the change is durable.
  bool changes = false;
  // Index of the verb in Verbs(), or -1 when the verb is unknown (metrics).
  int verb_index = -1;

  void Clear() {
    kind = AnswerKind::kOk;
    fields.clear();
    error.clear();
    verb_name = {};
    changes = false;
    verb_index = -1;
  }
  // The shell's answer line: "OK", "OK a b ...", "ERR CODE message".
  // `verb` is the verb as typed (for the unknown-verb message).
  std::string ShellText(std::string_view verb) const;
};

// What a verb accepts, without executing it (MULTI queues by this).
enum class VerbCheck : std::uint8_t { kOk, kWrongArity, kUnknownVerb };
VerbCheck Check(std::span<const std::string_view> args);

// Executes one command: args[0] is the verb (any case), then its fields.
// REQUIRES: !args.empty(). Never throws; every outcome is in *answer, which
// is cleared first.
void Execute(Engine* engine, std::span<const std::string_view> args, Answer* answer);

// Every verb, upper case, in docs order (COMMAND lists them).
std::span<const std::string_view> Verbs();

// Opens the engine for a front end (`flashstock shell`, `serve`, `load`):
// on failure prints "flashstock <tool>: <why>" on stderr and returns null;
// with a journal, prints what recovery did. One place, so every front end
// reports an open the same way.
std::unique_ptr<Engine> OpenForTool(const EngineOptions& options, std::string_view tool);

}  // namespace flashstock::command

#endif  // FLASHSTOCK_TOOLS_COMMAND_COMMAND_H_
