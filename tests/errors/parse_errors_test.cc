// Every error message of the text IR parser: the exact "file:line:col: what, expected X, got Y".
#include <gtest/gtest.h>

#include <string>

#include "ir/parser.h"

namespace kiln {
namespace {

std::string ErrorOf(const std::string& text) {
  StatusOr<Graph> g = ParseGraph(text, "t.kir");
  EXPECT_FALSE(g.ok()) << text;
  if (g.ok()) return "(parsed)";
  EXPECT_EQ(g.status().code(), StatusCode::kParseError);
  return g.status().message();
}

// A graph over %x: f32[2] whose body is `line` (line 2 of the text).
std::string OneLine(const std::string& line) {
  return "graph @g(%x: f32[2]) -> (%x) {\n" + line + "\n}\n";
}

constexpr const char kDTypes[] = "f32, f16, bf16, i64, i32, i8, u8, bool, f8e4m3, f8e5m2";

TEST(ParseErrorsTest, UnexpectedToken) {
  EXPECT_EQ(ErrorOf(OneLine("  %y = relu(%x : f32[2]")),
            "t.kir:2:16: unexpected token, expected ',' or ')' after an operand, got ':'");
  EXPECT_EQ(ErrorOf("graph @g(%x: f32[2]) (%x) {}"),
            "t.kir:1:22: unexpected token, expected '->' and the graph outputs, got '('");
  EXPECT_EQ(ErrorOf(OneLine("  %y relu(%x) : f32[2]")),
            "t.kir:2:6: unexpected token, expected ',' or '=' after the result names, got 'relu'");
  EXPECT_EQ(ErrorOf(OneLine("  ) : f32[2]")),
            "t.kir:2:3: unexpected token, expected a result like %y, or '}' to close graph @g, "
            "got ')'");
}

TEST(ParseErrorsTest, TrailingTextAndUnclosedGraph) {
  EXPECT_EQ(ErrorOf("graph @g() -> () {\n}\n}\n"),
            "t.kir:3:1: unexpected token, expected end of input after the graph, got '}'");
  EXPECT_EQ(ErrorOf("graph @g(%x: f32[2]) -> (%x) {\n  %y = relu(%x) : f32[2]\n"),
            "t.kir:3:1: unexpected token, expected a result like %y, or '}' to close graph @g, "
            "got end of input");
}

TEST(ParseErrorsTest, UnknownOpIsNamed) {
  EXPECT_EQ(ErrorOf(OneLine("  %y = frobnicate(%x) : f32[2]")),
            "t.kir:2:8: unknown op 'frobnicate', expected an op name such as add or conv2d "
            "(`kiln info` lists them)");
}

TEST(ParseErrorsTest, UnknownDType) {
  EXPECT_EQ(ErrorOf(OneLine("  %y = relu(%x) : f33[2]")),
            std::string("t.kir:2:19: unknown dtype 'f33', expected one of ") + kDTypes);
  EXPECT_EQ(ErrorOf("graph @g(%x: float[2]) -> (%x) {}"),
            std::string("t.kir:1:14: unknown dtype 'float', expected one of ") + kDTypes);
  EXPECT_EQ(ErrorOf(OneLine("  %y = cast(%x) {to=f17} : f32[2]")),
            std::string("t.kir:2:21: unknown dtype 'f17', expected one of ") + kDTypes);
}

TEST(ParseErrorsTest, UndefinedValue) {
  EXPECT_EQ(ErrorOf(OneLine("  %y = relu(%z) : f32[2]")),
            "t.kir:2:13: undefined value %z, expected a value defined before its use in graph @g");
  // Operands may not refer forward, even to a later line.
  EXPECT_EQ(ErrorOf(OneLine("  %y = relu(%w) : f32[2]\n  %w = relu(%x) : f32[2]")),
            "t.kir:2:13: undefined value %w, expected a value defined before its use in graph @g");
  EXPECT_EQ(ErrorOf("graph @g(%x: f32[2]) -> (%q) {\n}\n"),
            "t.kir:1:26: undefined value %q, expected a value defined in the body of graph @g");
  // A nested graph does not see its parent's values.
  EXPECT_EQ(ErrorOf(OneLine("  %f = fusion() {body=graph @b() -> (%o) {\n"
                            "    %o = neg(%x) : f32[2]\n"
                            "  }} : f32[2]")),
            "t.kir:3:14: undefined value %x, expected a value defined before its use in graph @b");
}

TEST(ParseErrorsTest, RedefinedValue) {
  EXPECT_EQ(ErrorOf(OneLine("  %x = relu(%x) : f32[2]")),
            "t.kir:2:3: redefined value %x (first defined at 1:10), expected a new name");
  EXPECT_EQ(ErrorOf(OneLine("  %a, %a = split(%x) {sizes=[1,1]} : f32[1], f32[1]")),
            "t.kir:2:7: redefined value %a (first defined at 2:3), expected a new name");
  EXPECT_EQ(ErrorOf("graph @g(%x: f32[2], %x: f32[2]) -> (%x) {}"),
            "t.kir:1:22: redefined value %x (first defined at 1:10), expected a new name");
}

TEST(ParseErrorsTest, WrongNumberOfResultTypes) {
  EXPECT_EQ(ErrorOf(OneLine("  %a, %b = relu(%x) : f32[2]")),
            "t.kir:2:23: wrong number of result types, expected 2 (one per result name), got 1");
  EXPECT_EQ(ErrorOf(OneLine("  %a = relu(%x) : f32[2], f32[2]")),
            "t.kir:2:19: wrong number of result types, expected 1 (one per result name), got 2");
}

TEST(ParseErrorsTest, BadDimExpression) {
  EXPECT_EQ(ErrorOf("graph @g(%x: f32[N*]) -> (%x) where N in [1, 4] {}"),
            "t.kir:1:20: bad dim expression, expected an integer, a symbol or '(', got ']'");
  EXPECT_EQ(ErrorOf("graph @g(%x: f32[2.5]) -> (%x) {}"),
            "t.kir:1:18: bad dim expression, expected an integer, a symbol or '(', got 2.5");
  EXPECT_EQ(ErrorOf("graph @g(%x: f32[(N+1]) -> (%x) where N in [1, 4] {}"),
            "t.kir:1:22: unexpected token, expected ')' to close the dim expression, got ']'");
  EXPECT_EQ(ErrorOf("graph @g(%x: f32[M]) -> (%x) where N in [1, 4] {}"),
            "t.kir:1:18: undeclared symbol 'M', expected a symbol from the where clause (N)");
  EXPECT_EQ(ErrorOf("graph @g(%x: f32[99999999999999999999]) -> (%x) {}"),
            "t.kir:1:18: integer out of range, expected a 64-bit signed integer, got "
            "99999999999999999999");
  EXPECT_EQ(ErrorOf("graph @g(%x: f32[N*9999999999*9999999999]) -> (%x) where N in [1, 4] {}"),
            "t.kir:1:18: bad dim expression, expected coefficients below 2^62, got a larger one");
}

TEST(ParseErrorsTest, SymbolDeclarations) {
  EXPECT_EQ(ErrorOf("graph @g() -> () where N in [8, 1] {}"),
            "t.kir:1:24: symbol 'N' has an empty or negative range [8, 1]");
  EXPECT_EQ(ErrorOf("graph @g() -> () where N in [1, 8], N in [1, 8] {}"),
            "t.kir:1:37: symbol 'N' declared twice, expected each symbol once");
  EXPECT_EQ(ErrorOf("graph @g() -> () where N [1, 8] {}"),
            "t.kir:1:26: unexpected token, expected 'in' and the symbol's range, got '['");
  EXPECT_EQ(ErrorOf(OneLine(
                "  %f = fusion(%x) {body=graph @b(%p: f32[2]) -> (%p) where N in [1, 2] {\n"
                "  }} : f32[2]")),
            "t.kir:2:54: a nested graph inherits its parent's symbols, expected '{', got 'where'");
}

TEST(ParseErrorsTest, StringErrors) {
  EXPECT_EQ(ErrorOf(OneLine("  %w = weight \"abc : f32[2]")),
            "t.kir:2:15: unterminated string, expected a closing '\"', got end of line");
  EXPECT_EQ(ErrorOf("graph @g() -> () {\n  %w = weight \"abc"),
            "t.kir:2:15: unterminated string, expected a closing '\"', got end of input");
  EXPECT_EQ(ErrorOf(OneLine("  %w = weight \"a\\qb\" : f32[2]")),
            "t.kir:2:17: unknown escape '\\q' in string, expected one of \\\" \\\\ \\n \\t \\r "
            "\\xHH");
}

TEST(ParseErrorsTest, StrayCharacter) {
  EXPECT_EQ(ErrorOf(OneLine("  %y = relu(%x) $ : f32[2]")),
            "t.kir:2:17: unexpected character '$', expected a token");
  EXPECT_EQ(ErrorOf(OneLine("  % = relu(%x) : f32[2]")),
            "t.kir:2:3: expected a name after '%', got ' '");
}

TEST(ParseErrorsTest, UnknownAttribute) {
  EXPECT_EQ(ErrorOf(OneLine("  %y = relu(%x) {axis=1} : f32[2]")),
            "t.kir:2:18: unknown attribute 'axis' for op 'relu', expected no attributes");
  EXPECT_EQ(ErrorOf(OneLine("  %y = softmax(%x) {dim=0} : f32[2]")),
            "t.kir:2:21: unknown attribute 'dim' for op 'softmax', expected one of axis");
  EXPECT_EQ(ErrorOf(OneLine("  %y = softmax(%x) {axis=0, axis=0} : f32[2]")),
            "t.kir:2:29: attribute 'axis' given twice, expected it once");
}

// x: f32[1,1,4,4] and w: f32[1,1,1,1] (line 2), then `line` as line 3.
std::string ConvLine(const std::string& line) {
  return "graph @g(%x: f32[1,1,4,4]) -> (%x) {\n"
         "  %w = weight \"w\" : f32[1,1,1,1]\n" +
         line + "\n}\n";
}

TEST(ParseErrorsTest, AttributeOfTheWrongType) {
  EXPECT_EQ(ErrorOf(ConvLine("  %y = conv2d(%x, %w) {stride=[1.5,2.0]} : f32[1,1,4,4]")),
            "t.kir:3:24: attribute 'stride' of op 'conv2d' has the wrong type or value, "
            "expected list of ints, got [1.5,2.0]");
  EXPECT_EQ(ErrorOf(ConvLine("  %y = conv2d(%x, %w) {groups=true} : f32[1,1,4,4]")),
            "t.kir:3:24: attribute 'groups' of op 'conv2d' has the wrong type or value, "
            "expected int, got true");
  EXPECT_EQ(ErrorOf(ConvLine("  %y = conv2d(%x, %w) {layout=nhcw} : f32[1,1,4,4]")),
            "t.kir:3:24: attribute 'layout' of op 'conv2d' has the wrong type or value, "
            "expected identifier one of nchw nhwc, got nhcw");
  EXPECT_EQ(ErrorOf(OneLine("  %y = reshape(%x) : f32[2]")),
            "t.kir:2:8: op 'reshape' requires attribute 'shape' (list of dims)");
}

TEST(ParseErrorsTest, EpilogueOperandCountMismatch) {
  std::string head = "graph @g(%x: f32[2,2], %w: f32[2,2], %b: f32[2]) -> (%x) {\n";
  EXPECT_EQ(ErrorOf(head + "  %y = gemm(%x, %w) {epilogue=[bias, relu]} : f32[2,2]\n}\n"),
            "t.kir:2:32: wrong number of operands for epilogue step 'bias', expected 1, got 0");
  EXPECT_EQ(ErrorOf(head + "  %y = gemm(%x, %w) {epilogue=[add(%b, %b)]} : f32[2,2]\n}\n"),
            "t.kir:2:32: wrong number of operands for epilogue step 'add', expected 1, got 2");
  EXPECT_EQ(ErrorOf(head + "  %y = gemm(%x, %w) {epilogue=[relu(%b)]} : f32[2,2]\n}\n"),
            "t.kir:2:32: wrong number of operands for epilogue step 'relu', expected 0, got 1");
  EXPECT_EQ(ErrorOf(head + "  %y = gemm(%x, %w) {epilogue=[swish]} : f32[2,2]\n}\n"),
            "t.kir:2:32: unknown epilogue step 'swish', expected one of bias, relu, gelu, "
            "gelu_tanh, silu, sigmoid, tanh, add, scale, cast");
  EXPECT_EQ(ErrorOf(head + "  %y = gemm(%x, %w) {epilogue=[cast(f99)]} : f32[2,2]\n}\n"),
            std::string("t.kir:2:37: unknown dtype, expected one of ") + kDTypes +
                ", got 'f99'");
}

TEST(ParseErrorsTest, SourceOpsNeedStaticShapes) {
  EXPECT_EQ(ErrorOf("graph @g() -> () where N in [1, 4] {\n  %w = weight \"w\" : f32[N]\n}\n"),
            "t.kir:2:21: weights and constants need a static shape, expected integer dims, got "
            "f32[N]");
}

TEST(ParseErrorsTest, MissingGraphHeader) {
  EXPECT_EQ(ErrorOf("%y = relu(%x) : f32[2]\n"),
            "t.kir:1:1: missing graph header, expected 'graph @name(...) -> (...) {', got %y");
  EXPECT_EQ(ErrorOf(""),
            "t.kir:1:1: missing graph header, expected 'graph @name(...) -> (...) {', got end of "
            "input");
  EXPECT_EQ(ErrorOf("// only a comment\n\nfunc @g() {}\n"),
            "t.kir:3:1: missing graph header, expected 'graph @name(...) -> (...) {', got 'func'");
  EXPECT_EQ(ErrorOf("graph g() -> () {}"),
            "t.kir:1:7: unexpected token, expected a graph name like @main, got 'g'");
}

TEST(ParseErrorsTest, SourceNameIsThePrefix) {
  StatusOr<Graph> g = ParseGraph("nonsense", "models/a.kir");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message().rfind("models/a.kir:1:1: ", 0), 0u) << g.status().message();
  StatusOr<Graph> d = ParseGraph("nonsense");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message().rfind("<input>:1:1: ", 0), 0u) << d.status().message();
}

}  // namespace
}  // namespace kiln
