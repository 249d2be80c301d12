// DimExpr parses kiln's canonical Dim text (src/ir/dim.h ToString) and evaluates it.
#include "runtime/dim_expr.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

int64_t Eval(const std::string& text, const std::map<std::string, int64_t>& values) {
  auto expr = DimExpr::Parse(text);
  EXPECT_TRUE(expr.ok()) << expr.status().ToString();
  if (!expr.ok()) return -12345;
  auto v = expr->Evaluate(values);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : -12345;
}

TEST(DimExprTest, EvaluatesCanonicalForms) {
  std::map<std::string, int64_t> values = {{"N", 3}, {"S", 5}, {"seq", 128}};
  EXPECT_EQ(Eval("N", values), 3);
  EXPECT_EQ(Eval("7", values), 7);
  EXPECT_EQ(Eval("S*12", values), 60);
  EXPECT_EQ(Eval("N*S*12+3", values), 183);
  EXPECT_EQ(Eval("seq-1", values), 127);
  EXPECT_EQ(Eval("-N", values), -3);
  EXPECT_EQ(Eval("N*N+N*2-1", values), 14);
}

TEST(DimExprTest, AsSymbolOnlyForABareSymbol) {
  EXPECT_EQ(DimExpr::Parse("N")->AsSymbol(), std::optional<std::string>("N"));
  EXPECT_EQ(DimExpr::Parse("N*2")->AsSymbol(), std::nullopt);
  EXPECT_EQ(DimExpr::Parse("-N")->AsSymbol(), std::nullopt);
  EXPECT_EQ(DimExpr::Parse("N+1")->AsSymbol(), std::nullopt);
  EXPECT_EQ(DimExpr::Parse("N*S*12+3")->Symbols(), (std::set<std::string>{"N", "S"}));
}

TEST(DimExprTest, ParseErrors) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"", "dim expression \"\", column 1: empty"},
      {"N+", "dim expression \"N+\", column 3: expected a number or a symbol at the end"},
      {"N**2", "dim expression \"N**2\", column 3: expected a number or a symbol"},
      {"3x", "dim expression \"3x\", column 2: expected +, - or *"},
      {"(N)", "dim expression \"(N)\", column 1: expected a number or a symbol"},
      {"99999999999999999999", "integer overflows int64"},
  };
  for (const Case& c : cases) {
    auto expr = DimExpr::Parse(c.text);
    ASSERT_FALSE(expr.ok()) << c.text;
    EXPECT_EQ(expr.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(expr.status().message().find(c.message), std::string::npos)
        << "expected '" << c.message << "' in: " << expr.status().message();
  }
}

TEST(DimExprTest, EvaluateErrors) {
  auto unbound = DimExpr::Parse("N*S")->Evaluate({{"N", 2}});
  ASSERT_FALSE(unbound.ok());
  EXPECT_EQ(unbound.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(unbound.status().message(), "dim expression \"N*S\": symbol S is not bound");
  auto overflow = DimExpr::Parse("N*N*N")->Evaluate({{"N", int64_t{1} << 30}});
  ASSERT_FALSE(overflow.ok());
  EXPECT_EQ(overflow.status().code(), StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace kiln
