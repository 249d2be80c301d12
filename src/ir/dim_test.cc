#include "ir/dim.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

TEST(DimTest, StaticArithmetic) {
  Dim a(6), b(4);
  EXPECT_TRUE((a + b).is_static());
  EXPECT_EQ((a + b).value(), 10);
  EXPECT_EQ((a - b).value(), 2);
  EXPECT_EQ((a * b).value(), 24);
  EXPECT_EQ(Dim(0).ToString(), "0");
  EXPECT_EQ(Dim(-3).ToString(), "-3");
}

TEST(DimTest, SymbolicCanonicalForm) {
  Dim n = Dim::Symbol("N"), s = Dim::Symbol("S");
  EXPECT_EQ((s * 12).ToString(), "S*12");
  EXPECT_EQ((n * s).ToString(), "N*S");
  EXPECT_EQ((s * n).ToString(), "N*S");  // commutative, canonical order
  EXPECT_EQ((n * s * 12 + 3).ToString(), "N*S*12+3");
  EXPECT_EQ((s - 1).ToString(), "S-1");
  EXPECT_EQ((Dim(0) - n).ToString(), "-N");
  EXPECT_EQ((n + n).ToString(), "N*2");
  EXPECT_EQ((n * n).ToString(), "N*N");
  EXPECT_TRUE((n - n).is_static());
  EXPECT_EQ((n - n).value(), 0);
  EXPECT_EQ(n * 2 + s, s + n * 2);
  EXPECT_NE(n, s);
}

TEST(DimTest, Division) {
  Dim n = Dim::Symbol("N"), s = Dim::Symbol("S");
  EXPECT_EQ(*(n * 768).DivExact(12), n * 64);
  EXPECT_FALSE((n * 5).DivExact(2).ok());
  EXPECT_EQ(*(n * s * 768).DivExact(s * 12), n * 64);
  EXPECT_FALSE((n * 768).DivExact(s).ok());
  EXPECT_EQ(Dim(7).FloorDiv(2)->value(), 3);
  EXPECT_EQ(Dim(-7).FloorDiv(2)->value(), -4);
}

TEST(DimTest, Evaluate) {
  Dim d = Dim::Symbol("N") * Dim::Symbol("S") * 12 + 3;
  EXPECT_EQ(*d.Evaluate({{"N", 2}, {"S", 5}}), 123);
  auto missing = d.Evaluate({{"N", 2}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("'S'"), std::string::npos);
  EXPECT_EQ(d.Symbols(), (std::set<std::string>{"N", "S"}));
}

}  // namespace
}  // namespace kiln
