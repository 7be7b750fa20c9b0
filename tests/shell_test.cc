#include "shell.h"

#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace flashstock {
namespace {

class ShellTest : public ::testing::Test {
 protected:
  std::string Run(const std::string& line) {
    std::optional<std::string> answer = shell_.Execute(line);
    return answer.value_or("<none>");
  }
  Engine engine_{EngineOptions{.skus_max = 4}};
  Shell shell_{&engine_};
};

TEST_F(ShellTest, Verbs) {
  EXPECT_EQ(Run("DEFINE tee 10"), "OK 10");
  EXPECT_EQ(Run("define pre 0 -2"), "OK 0");
  EXPECT_EQ(Run("TAKE tee 3"), "OK 7");
  EXPECT_EQ(Run("take tee 8"), "ERR INSUFFICIENT 7");
  EXPECT_EQ(Run("TakeUpTo tee 9"), "OK 7 0");
  EXPECT_EQ(Run("TAKEUPTO tee 9"), "OK 0 0");
  EXPECT_EQ(Run("RESTOCK tee 5"), "OK 5");
  EXPECT_EQ(Run("LEVEL tee"), "OK 5");
  EXPECT_EQ(Run("TAKE pre 2"), "OK -2");
  EXPECT_EQ(Run("FLOOR pre 0"), "OK -2");
  EXPECT_EQ(Run("TAKE pre 1"), "ERR INSUFFICIENT -2");
}

TEST_F(ShellTest, SkipsBlankAndComments) {
  EXPECT_EQ(shell_.Execute(""), std::nullopt);
  EXPECT_EQ(shell_.Execute("   \t "), std::nullopt);
  EXPECT_EQ(shell_.Execute("# DEFINE x 1"), std::nullopt);
}

TEST_F(ShellTest, EngineErrors) {
  EXPECT_EQ(Run("DEFINE tee 1"), "OK 1");
  EXPECT_EQ(Run("DEFINE tee 1").rfind("ERR ALREADY_DEFINED ", 0), 0u);
  EXPECT_EQ(Run("TAKE ghost 1").rfind("ERR UNKNOWN_SKU ", 0), 0u);
  EXPECT_EQ(Run("TAKE tee 0").rfind("ERR INVALID_QUANTITY ", 0), 0u);
  EXPECT_EQ(Run("TAKE tee -4").rfind("ERR INVALID_QUANTITY ", 0), 0u);
  EXPECT_EQ(Run("RESTOCK tee 9223372036854775807").rfind("ERR INVALID_QUANTITY ", 0), 0u);
  EXPECT_EQ(Run("DEFINE " + std::string(65, 'x') + " 1").rfind("ERR INVALID_NAME ", 0), 0u);
  EXPECT_EQ(Run("DEFINE b 1"), "OK 1");
  EXPECT_EQ(Run("DEFINE c 1"), "OK 1");
  EXPECT_EQ(Run("DEFINE d 1"), "OK 1");
  EXPECT_EQ(Run("DEFINE e 1").rfind("ERR CATALOG_FULL ", 0), 0u);
  EXPECT_EQ(Run("LEVEL tee"), "OK 1");
}

TEST_F(ShellTest, MalformedLinesAreBadCommands) {
  EXPECT_EQ(Run("DEFINE tee 10"), "OK 10");
  for (const char* line : {"TAKE", "TAKE tee", "TAKE tee 1 2", "TAKE tee one", "TAKE tee 1x",
                           "TAKE tee 99999999999999999999", "LEVEL", "LEVEL tee extra",
                           "DEFINE x", "DEFINE x 1 2 3", "DEFINE x 1 y", "FROB tee 1", "TAKE tee 0x10",
                           "TAKE tee 1.5"}) {
    EXPECT_EQ(Run(line).rfind("ERR BAD_COMMAND ", 0), 0u) << line;
  }
  EXPECT_EQ(Run("LEVEL tee"), "OK 10");
}

TEST_F(ShellTest, RunAnswersEveryCommandAndSurvivesLongLines) {
  std::string input = "DEFINE tee 5\n\n# comment\nTAKE tee 2\n";
  input += "TAKE " + std::string(kShellLineBytesMax * 3, 'z') + " 1\n";
  input += "LEVEL tee\nTAKE tee 1";  // no final newline
  std::istringstream in(input);
  std::ostringstream out;
  EXPECT_EQ(shell_.Run(in, out), 5u);
  const std::string expected_prefix = "OK 5\nOK 3\nERR BAD_COMMAND line longer than 4096 bytes\nOK 3\nOK 2\n";
  EXPECT_EQ(out.str(), expected_prefix);
}

}  // namespace
}  // namespace flashstock
