// The `flashstock shell` command language: one command per line in, one
// answer line per command out. See docs/commands.md.
#ifndef FLASHSTOCK_TOOLS_SHELL_H_
#define FLASHSTOCK_TOOLS_SHELL_H_

#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "flashstock/engine.h"

namespace flashstock {

// Longest command line accepted; a longer one is answered BAD_COMMAND and
// skipped without being held in memory whole.
inline constexpr std::size_t kShellLineBytesMax = 4096;

class Shell {
 public:
  explicit Shell(Engine* engine) : engine_(engine) {}

  // The answer to one line, or nullopt for a blank or comment line.
  std::optional<std::string> Execute(std::string_view line);

  // Reads lines from `in` until EOF, writing and flushing one answer per
  // command to `out`. Returns the number of commands answered.
  std::size_t Run(std::istream& in, std::ostream& out);

 private:
  Engine* engine_;
};

}  // namespace flashstock

#endif  // FLASHSTOCK_TOOLS_SHELL_H_
