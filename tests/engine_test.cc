#include "flashstock/engine.h"

#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace flashstock {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

class EngineTest : public ::testing::Test {
 protected:
  Engine engine_{EngineOptions{.skus_max = 16}};
};

TEST_F(EngineTest, TakeByHandleAndByName) {
  ASSERT_EQ(engine_.Define("tee", 10).outcome, Outcome::kOk);
  SkuHandle tee = *engine_.Resolve("tee");
  StockResult r = engine_.Take(tee, 4);
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.available, 6);
  r = engine_.Take("tee", 6);
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.available, 0);
  r = engine_.Take(tee, 1);
  EXPECT_EQ(r.outcome, Outcome::kInsufficient);
  EXPECT_EQ(r.available, 0);
  EXPECT_EQ(engine_.Name(tee), "tee");
}

TEST_F(EngineTest, InvalidQuantitiesChangeNothing) {
  ASSERT_EQ(engine_.Define("tee", 10).outcome, Outcome::kOk);
  SkuHandle tee = *engine_.Resolve("tee");
  for (std::int64_t q : {std::int64_t{0}, std::int64_t{-1}, kMin}) {
    EXPECT_EQ(engine_.Take(tee, q).outcome, Outcome::kInvalidQuantity) << q;
    EXPECT_EQ(engine_.TakeUpTo(tee, q).outcome, Outcome::kInvalidQuantity) << q;
    EXPECT_EQ(engine_.Restock(tee, q).outcome, Outcome::kInvalidQuantity) << q;
    EXPECT_EQ(engine_.Take("tee", q).outcome, Outcome::kInvalidQuantity) << q;
  }
  EXPECT_EQ(engine_.Level(tee).available, 10);
}

TEST_F(EngineTest, RestockOverflowIsRefused) {
  // The ceiling is kLevelMax, kGiveBackHeadroom below INT64_MAX (limits.h).
  EXPECT_EQ(engine_.Define("over", kLevelMax + 1).outcome, Outcome::kInvalidQuantity);
  ASSERT_EQ(engine_.Define("tee", kLevelMax - 5).outcome, Outcome::kOk);
  EXPECT_EQ(engine_.Restock("tee", 6).outcome, Outcome::kInvalidQuantity);
  EXPECT_EQ(engine_.Restock("tee", kMax).outcome, Outcome::kInvalidQuantity);
  EXPECT_EQ(engine_.Level("tee").available, kLevelMax - 5);
  StockResult r = engine_.Restock("tee", 5);
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.available, kLevelMax);
}

TEST_F(EngineTest, TakeUpTo) {
  ASSERT_EQ(engine_.Define("tee", 3).outcome, Outcome::kOk);
  StockResult r = engine_.TakeUpTo("tee", 5);
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.taken, 3);
  EXPECT_EQ(r.available, 0);
  r = engine_.TakeUpTo("tee", 5);
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.taken, 0);
}

TEST_F(EngineTest, UnknownSkusAndHandles) {
  EXPECT_EQ(engine_.Take("ghost", 1).outcome, Outcome::kUnknownSku);
  EXPECT_EQ(engine_.Level("ghost").outcome, Outcome::kUnknownSku);
  EXPECT_EQ(engine_.Restock("ghost", 1).outcome, Outcome::kUnknownSku);
  EXPECT_EQ(engine_.Resolve("ghost"), std::nullopt);
  EXPECT_EQ(engine_.Take(SkuHandle{0}, 1).outcome, Outcome::kUnknownSku);
  EXPECT_EQ(engine_.Take(SkuHandle{999}, 1).outcome, Outcome::kUnknownSku);
  EXPECT_EQ(engine_.Level(SkuHandle{15}).outcome, Outcome::kUnknownSku);
  EXPECT_EQ(engine_.Floor(SkuHandle{3}), std::nullopt);
}

TEST_F(EngineTest, InvalidNames) {
  EXPECT_EQ(engine_.Define("", 1).outcome, Outcome::kInvalidName);
  EXPECT_EQ(engine_.Take("", 1).outcome, Outcome::kInvalidName);
  EXPECT_EQ(engine_.Take(std::string(kNameBytesMax + 1, 'x'), 1).outcome, Outcome::kInvalidName);
  EXPECT_EQ(engine_.Define(std::string(kNameBytesMax, 'x'), 1).outcome, Outcome::kOk);
  EXPECT_EQ(engine_.sku_count(), 1u);
}

TEST_F(EngineTest, FloorsAndBackorders) {
  ASSERT_EQ(engine_.Define("pre", 0, -3).outcome, Outcome::kOk);
  EXPECT_EQ(engine_.Take("pre", 2).available, -2);
  EXPECT_EQ(engine_.Take("pre", 2).outcome, Outcome::kInsufficient);
  EXPECT_EQ(engine_.SetFloor("pre", 1).outcome, Outcome::kInvalidQuantity);
  EXPECT_EQ(*engine_.Floor(*engine_.Resolve("pre")), -3);
  EXPECT_EQ(engine_.SetFloor("pre", -10).outcome, Outcome::kOk);
  EXPECT_EQ(engine_.Take("pre", 8).available, -10);
  EXPECT_EQ(engine_.Define("bad", 0, 1).outcome, Outcome::kInvalidQuantity);
  EXPECT_EQ(engine_.Define("bad", -1).outcome, Outcome::kInvalidQuantity);
}

TEST_F(EngineTest, DefineEdges) {
  EXPECT_EQ(engine_.Define("a", 1).outcome, Outcome::kOk);
  EXPECT_EQ(engine_.Define("a", 1).outcome, Outcome::kAlreadyDefined);
  for (int i = 1; i < 16; ++i) {
    ASSERT_EQ(engine_.Define("s" + std::to_string(i), 1).outcome, Outcome::kOk);
  }
  EXPECT_EQ(engine_.Define("overflow", 1).outcome, Outcome::kCatalogFull);
  EXPECT_EQ(engine_.sku_count(), 16u);
  EXPECT_EQ(engine_.skus_max(), 16u);
}

TEST(OutcomeTest, EveryOutcomeHasACode) {
  EXPECT_EQ(OutcomeCode(Outcome::kInsufficient), "INSUFFICIENT");
  EXPECT_EQ(OutcomeCode(Outcome::kUnknownSku), "UNKNOWN_SKU");
  EXPECT_EQ(OutcomeCode(Outcome::kInvalidQuantity), "INVALID_QUANTITY");
  EXPECT_EQ(OutcomeCode(Outcome::kInvalidName), "INVALID_NAME");
  EXPECT_EQ(OutcomeCode(Outcome::kAlreadyDefined), "ALREADY_DEFINED");
  EXPECT_EQ(OutcomeCode(Outcome::kCatalogFull), "CATALOG_FULL");
}

}  // namespace
}  // namespace flashstock

namespace flashstock {
namespace {

TEST(EngineDefineManyTest, DefinesAllOrReportsTheFirstBadOne) {
  Engine engine(EngineOptions{.skus_max = 4});
  ASSERT_TRUE(engine.Define("old", 1).ok());
  const std::string too_long(kNameBytesMax + 1, 'x');
  const Engine::SkuDefinition bad_name[] = {{"a", 1}, {too_long, 1}};
  Engine::DefineManyResult r = engine.DefineMany(bad_name);
  EXPECT_EQ(r.outcome, Outcome::kInvalidName);
  EXPECT_EQ(r.failed_at, 1u);
  EXPECT_EQ(r.defined, 0u);
  const Engine::SkuDefinition dup[] = {{"a", 1}, {"a", 2}};
  r = engine.DefineMany(dup);
  EXPECT_EQ(r.outcome, Outcome::kAlreadyDefined);
  EXPECT_EQ(r.failed_at, 1u);
  const Engine::SkuDefinition exists[] = {{"old", 1}};
  EXPECT_EQ(engine.DefineMany(exists).outcome, Outcome::kAlreadyDefined);
  const Engine::SkuDefinition bad_qty[] = {{"a", -1}};
  EXPECT_EQ(engine.DefineMany(bad_qty).outcome, Outcome::kInvalidQuantity);
  const Engine::SkuDefinition too_many[] = {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}};
  EXPECT_EQ(engine.DefineMany(too_many).outcome, Outcome::kCatalogFull);
  EXPECT_EQ(engine.sku_count(), 1u);  // nothing was defined by the refusals

  const Engine::SkuDefinition good[] = {{"a", 5}, {"b", 0, -2}, {"c", 7}};
  r = engine.DefineMany(good);
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.defined, 3u);
  EXPECT_EQ(engine.Level("a").available, 5);
  EXPECT_EQ(engine.Take("b", 2).available, -2);
  EXPECT_EQ(engine.Level("c").available, 7);
  EXPECT_EQ(engine.Define("d", 1).outcome, Outcome::kCatalogFull);
}

}  // namespace
}  // namespace flashstock
