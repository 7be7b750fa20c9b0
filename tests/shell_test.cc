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
  EXPECT_EQ(Run("LEVEL tee"), "OK 5 0 0");
  EXPECT_EQ(Run("TAKE pre 2"), "OK -2");
  EXPECT_EQ(Run("FLOOR pre 0"), "OK -2");
  EXPECT_EQ(Run("TAKE pre 1"), "ERR INSUFFICIENT -2");
}

TEST_F(ShellTest, Escrow) {
  EXPECT_EQ(Run("DEFINE hot 1000"), "OK 1000");
  EXPECT_EQ(Run("DEFINE thin 5"), "OK 5");
  EXPECT_EQ(Run("ESCROW hot"), "OK off joined");
  EXPECT_EQ(Run("escrow hot on"), "OK on split");
  EXPECT_EQ(Run("ESCROW thin ON"), "OK on joined");  // too few units to split
  EXPECT_EQ(Run("TAKE hot 3"), "OK 997");             // the pool plus this thread's lease: exact here
  EXPECT_EQ(Run("LEVEL hot"), "OK 997 0 0");
  EXPECT_EQ(Run("TAKE thin 6"), "ERR INSUFFICIENT 5");
  EXPECT_EQ(Run("ESCROW hot OFF"), "OK off joined");
  EXPECT_EQ(Run("LEVEL hot"), "OK 997 0 0");
  // Auto: split only when buyers contend (one shell thread never does).
  EXPECT_EQ(Run("ESCROW hot auto"), "OK auto joined");
  EXPECT_EQ(Run("ESCROW thin AUTO"), "OK auto joined");
  EXPECT_EQ(Run("TAKE hot 7"), "OK 990");
  EXPECT_EQ(Run("ESCROW hot"), "OK auto joined");
  EXPECT_EQ(Run("ESCROW hot maybe"), "ERR BAD_COMMAND 'maybe' is not ON, OFF or AUTO");
  EXPECT_EQ(Run("ESCROW nope on"), "ERR UNKNOWN_SKU no SKU named 'nope'");
  EXPECT_EQ(Run("ESCROW"), "ERR BAD_COMMAND usage: ESCROW sku [ON|OFF|AUTO]");
  EXPECT_EQ(Run("ESCROW hot on off"), "ERR BAD_COMMAND usage: ESCROW sku [ON|OFF|AUTO]");
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
  EXPECT_EQ(Run("LEVEL tee"), "OK 1 0 0");
}

TEST_F(ShellTest, MalformedLinesAreBadCommands) {
  EXPECT_EQ(Run("DEFINE tee 10"), "OK 10");
  for (const char* line : {"TAKE", "TAKE tee", "TAKE tee 1 2", "TAKE tee one", "TAKE tee 1x",
                           "TAKE tee 99999999999999999999", "LEVEL", "LEVEL tee extra",
                           "DEFINE x", "DEFINE x 1 2 3", "DEFINE x 1 y", "FROB tee 1", "TAKE tee 0x10",
                           "TAKE tee 1.5"}) {
    EXPECT_EQ(Run(line).rfind("ERR BAD_COMMAND ", 0), 0u) << line;
  }
  EXPECT_EQ(Run("LEVEL tee"), "OK 10 0 0");
}

TEST_F(ShellTest, RunAnswersEveryCommandAndSurvivesLongLines) {
  std::string input = "DEFINE tee 5\n\n# comment\nTAKE tee 2\n";
  input += "TAKE " + std::string(kShellLineBytesMax * 3, 'z') + " 1\n";
  input += "LEVEL tee\nTAKE tee 1";  // no final newline
  std::istringstream in(input);
  std::ostringstream out;
  EXPECT_EQ(shell_.Run(in, out), 5u);
  const std::string expected_prefix = "OK 5\nOK 3\nERR BAD_COMMAND line longer than 4096 bytes\nOK 3 0 0\nOK 2\n";
  EXPECT_EQ(out.str(), expected_prefix);
}

// ---- Orders -------------------------------------------------------------------

class ShellOrdersTest : public ::testing::Test {
 protected:
  static EngineOptions Options(const Clock* clock) {
    EngineOptions o;
    o.skus_max = 4;
    o.clock = clock;
    o.orders_max = 8;
    o.expiry_thread = false;
    return o;
  }
  std::string Run(const std::string& line) { return shell_.Execute(line).value_or("<none>"); }
  ManualClock clock_{1'000'000'000};
  Engine engine_{Options(&clock_)};
  Shell shell_{&engine_};
};

TEST_F(ShellOrdersTest, Verbs) {
  EXPECT_EQ(Run("DEFINE tee 10"), "OK 10");
  EXPECT_EQ(Run("DEFINE cap 2"), "OK 2");
  EXPECT_EQ(Run("RESERVE 1 60000 tee 2 cap 1 tee 1"), "OK");
  EXPECT_EQ(Run("LEVEL tee"), "OK 7 3 0");
  EXPECT_EQ(Run("ORDER 1"), "OK HELD tee 3 cap 1");
  EXPECT_EQ(Run("reserve 1 60000 cap 1 tee 3"), "OK");  // same lines, reordered: a retry
  EXPECT_EQ(Run("RESERVE 1 60000 tee 3"), "ERR ORDER_CONFLICT");
  EXPECT_EQ(Run("RESERVE 2 60000 tee 1 cap 2"), "ERR INSUFFICIENT cap 1");
  EXPECT_EQ(Run("RESERVE 2 60000 tee 1 cap 2"), "ERR INSUFFICIENT cap 1");
  EXPECT_EQ(Run("ORDER 2"), "OK FAILED tee 1 cap 2");
  EXPECT_EQ(Run("LEVEL tee"), "OK 7 3 0");
  EXPECT_EQ(Run("COMMIT 1"), "OK");
  EXPECT_EQ(Run("LEVEL tee"), "OK 7 0 3");
  EXPECT_EQ(Run("CANCEL 1"), "ERR ORDER_CLOSED COMMITTED");
  EXPECT_EQ(Run("COMMIT 1"), "ERR ORDER_CLOSED COMMITTED");
  EXPECT_EQ(Run("RETURN 1"), "OK");
  EXPECT_EQ(Run("RETURN 1"), "ERR ORDER_CLOSED RETURNED");
  EXPECT_EQ(Run("LEVEL tee"), "OK 10 0 0");
  EXPECT_EQ(Run("LEVEL cap"), "OK 2 0 0");
  EXPECT_EQ(Run("RESERVE 3 100 cap 2"), "OK");
  EXPECT_EQ(Run("RETURN 3"), "ERR ORDER_OPEN HELD");
  EXPECT_EQ(Run("CANCEL 3"), "OK");
  EXPECT_EQ(Run("CANCEL 3"), "ERR ORDER_CLOSED CANCELLED");
  EXPECT_EQ(Run("RESERVE 4 100 cap 2"), "OK");
  clock_.AdvanceMs(100);
  EXPECT_EQ(engine_.SweepExpired(), 1u);
  EXPECT_EQ(Run("COMMIT 4"), "ERR ORDER_CLOSED EXPIRED");
  EXPECT_EQ(Run("ORDER 4"), "OK EXPIRED cap 2");
  EXPECT_EQ(Run("LEVEL cap"), "OK 2 0 0");
  EXPECT_EQ(Run("COMMIT 2"), "ERR ORDER_CLOSED FAILED");
  EXPECT_EQ(Run("COMMIT 99"), "ERR UNKNOWN_ORDER");
  EXPECT_EQ(Run("ORDER 99"), "ERR UNKNOWN_ORDER");
  EXPECT_EQ(Run("RETURN 18446744073709551615"), "ERR UNKNOWN_ORDER");
}

TEST_F(ShellOrdersTest, ErrorsAndMalformedOrderLines) {
  EXPECT_EQ(Run("DEFINE tee 10"), "OK 10");
  EXPECT_EQ(Run("RESERVE 1 0 tee 1").rfind("ERR INVALID_ORDER ", 0), 0u);
  EXPECT_EQ(Run("RESERVE 1 86400001 tee 1").rfind("ERR INVALID_ORDER ", 0), 0u);
  EXPECT_EQ(Run("RESERVE 1 1000 tee 0").rfind("ERR INVALID_QUANTITY ", 0), 0u);
  EXPECT_EQ(Run("RESERVE 1 1000 tee 1000000001").rfind("ERR INVALID_QUANTITY ", 0), 0u);
  EXPECT_EQ(Run("RESERVE 1 1000 ghost 1").rfind("ERR UNKNOWN_SKU ", 0), 0u);
  for (const char* line : {"RESERVE", "RESERVE 1", "RESERVE 1 1000", "RESERVE 1 1000 tee",
                           "RESERVE 1 1000 tee 1 tee", "RESERVE 0 1000 tee 1", "RESERVE -1 1000 tee 1",
                           "RESERVE +1 1000 tee 1", "RESERVE x 1000 tee 1", "RESERVE 1 x tee 1",
                           "RESERVE 1 1000 tee x", "RESERVE 18446744073709551616 1000 tee 1",
                           "COMMIT", "COMMIT 0", "COMMIT 1 2", "CANCEL x", "RETURN -3", "ORDER",
                           "ORDER 1.5"}) {
    EXPECT_EQ(Run(line).rfind("ERR BAD_COMMAND ", 0), 0u) << line;
  }
  EXPECT_EQ(Run("LEVEL tee"), "OK 10 0 0");
  EXPECT_EQ(Run("ORDER 1"), "ERR UNKNOWN_ORDER");  // nothing above was remembered
  // orders_max = 8: the ninth remembered order is refused.
  for (int i = 1; i <= 8; ++i) EXPECT_EQ(Run("RESERVE " + std::to_string(i) + " 1000 tee 1"), "OK");
  EXPECT_EQ(Run("RESERVE 9 1000 tee 1").rfind("ERR ORDERS_FULL ", 0), 0u);
}

}  // namespace
}  // namespace flashstock
