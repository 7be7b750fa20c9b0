#include "flashstock/internal/catalog.h"

#include <string>

#include "gtest/gtest.h"

namespace flashstock {
namespace {

TEST(CatalogTest, DefineThenFind) {
  Catalog catalog(4);
  Catalog::Defined a = catalog.Define("apple", 5, 0);
  ASSERT_EQ(a.outcome, Outcome::kOk);
  Catalog::Defined b = catalog.Define("banana", 0, -2);
  ASSERT_EQ(b.outcome, Outcome::kOk);
  EXPECT_NE(a.index, b.index);
  EXPECT_EQ(catalog.Find("apple"), a.index);
  EXPECT_EQ(catalog.Find("banana"), b.index);
  EXPECT_EQ(catalog.Find("cherry"), std::nullopt);
  EXPECT_EQ(catalog.name(b.index), "banana");
  EXPECT_EQ(catalog.cell(b.index).Floor(), -2);
  EXPECT_EQ(catalog.size(), 2u);
}

TEST(CatalogTest, NameLengthEdges) {
  Catalog catalog(8);
  EXPECT_EQ(catalog.Define("", 1, 0).outcome, Outcome::kInvalidName);
  EXPECT_EQ(catalog.Define("x", 1, 0).outcome, Outcome::kOk);
  const std::string longest(kNameBytesMax, 'n');
  EXPECT_EQ(catalog.Define(longest, 1, 0).outcome, Outcome::kOk);
  EXPECT_TRUE(catalog.Find(longest).has_value());
  const std::string too_long(kNameBytesMax + 1, 'n');
  EXPECT_EQ(catalog.Define(too_long, 1, 0).outcome, Outcome::kInvalidName);
  EXPECT_EQ(catalog.Find(too_long), std::nullopt);
  EXPECT_EQ(catalog.size(), 2u);
}

TEST(CatalogTest, NamesAreBytes) {
  Catalog catalog(4);
  const std::string with_nul("a\0b", 3);
  ASSERT_EQ(catalog.Define(with_nul, 1, 0).outcome, Outcome::kOk);
  EXPECT_EQ(catalog.Find("a"), std::nullopt);
  EXPECT_TRUE(catalog.Find(with_nul).has_value());
  EXPECT_EQ(catalog.Define("A\xff", 1, 0).outcome, Outcome::kOk);
}

TEST(CatalogTest, RedefineIsRefusedAndChangesNothing) {
  Catalog catalog(4);
  ASSERT_EQ(catalog.Define("apple", 5, 0).outcome, Outcome::kOk);
  EXPECT_EQ(catalog.Define("apple", 9, 0).outcome, Outcome::kAlreadyDefined);
  EXPECT_EQ(catalog.cell(*catalog.Find("apple")).Level(), 5);
  EXPECT_EQ(catalog.size(), 1u);
}

TEST(CatalogTest, CapacityEdge) {
  Catalog catalog(3);
  EXPECT_EQ(catalog.Define("a", 1, 0).outcome, Outcome::kOk);
  EXPECT_EQ(catalog.Define("b", 1, 0).outcome, Outcome::kOk);
  EXPECT_EQ(catalog.Define("c", 1, 0).outcome, Outcome::kOk);
  EXPECT_EQ(catalog.Define("d", 1, 0).outcome, Outcome::kCatalogFull);
  EXPECT_EQ(catalog.Find("d"), std::nullopt);
  EXPECT_EQ(catalog.Define("a", 1, 0).outcome, Outcome::kAlreadyDefined);
  EXPECT_EQ(catalog.size(), 3u);
}

TEST(CatalogTest, BadLevelsAndFloorsAreRefused) {
  Catalog catalog(4);
  EXPECT_EQ(catalog.Define("a", -1, 0).outcome, Outcome::kInvalidQuantity);
  EXPECT_EQ(catalog.Define("a", 1, 1).outcome, Outcome::kInvalidQuantity);
  EXPECT_EQ(catalog.Define("a", 0, -1).outcome, Outcome::kOk);
  EXPECT_EQ(catalog.size(), 1u);
}

TEST(CatalogTest, ManySkusAcrossShardsStayFindable) {
  constexpr std::uint32_t kCount = 20000;
  Catalog catalog(kCount);
  for (std::uint32_t i = 0; i < kCount; ++i) {
    ASSERT_EQ(catalog.Define("sku-" + std::to_string(i), i, 0).outcome, Outcome::kOk);
  }
  for (std::uint32_t i = 0; i < kCount; ++i) {
    std::optional<std::uint32_t> index = catalog.Find("sku-" + std::to_string(i));
    ASSERT_TRUE(index.has_value());
    EXPECT_EQ(catalog.cell(*index).Level(), i);
  }
  EXPECT_FALSE(catalog.Contains(kCount));
}

}  // namespace
}  // namespace flashstock
