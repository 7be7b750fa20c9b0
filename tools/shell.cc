#include "shell.h"

#include <istream>
#include <ostream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "command/command.h"

namespace flashstock {
namespace {

// Debian's Abseil is built with its own absl::string_view (not an alias of
// std::string_view); convert at the boundary.
absl::string_view A(std::string_view s) { return {s.data(), s.size()}; }

std::string BadCommand(absl::string_view why) { return absl::StrCat("ERR BAD_COMMAND ", why); }

}  // namespace

// The shell only frames lines into fields; the verbs live in the command
// module (tools/command/command.h), shared with the RESP server.
std::optional<std::string> Shell::Execute(std::string_view whole_line) {
  const absl::string_view line = absl::StripAsciiWhitespace(A(whole_line));
  if (line.empty() || line.front() == '#') return std::nullopt;
  if (line.size() > kShellLineBytesMax) {
    return BadCommand(absl::StrCat("line longer than ", kShellLineBytesMax, " bytes"));
  }
  std::vector<std::string_view> fields;
  for (absl::string_view f : absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
    fields.emplace_back(f.data(), f.size());
  }
  command::Answer answer;
  command::Execute(engine_, fields, &answer);
  return answer.ShellText(fields[0]);
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
