// User-facing errors of running a graph: wrong input count, dtype, shape, inconsistent or
// out-of-range dynamic dims. Each names the input and expected vs actual.
#include <gtest/gtest.h>

#include "ir/builder.h"
#include "ops/interpreter.h"

namespace kiln {
namespace {

// relu(x + y) with a symbolic batch N in [1, 4].
Graph ReluGraph() {
  Builder b("g");
  Dim n = b.Sym("N", 1, 4);
  Value* x = b.Input("x", DType::kF32, {n, 2});
  Value* y = b.Input("y", DType::kF32, {n, 2});
  b.Output(b.Relu(b.Add(x, y)));
  return std::move(b.Finish()).value();
}

TEST(InterpreterErrorsTest, InputErrorsNameTheInputAndExpectedVsActual) {
  Graph g = ReluGraph();
  Tensor a = Tensor::FromF32(DType::kF32, {2, 2}, std::vector<float>(4, 1));
  Tensor b3 = Tensor::FromF32(DType::kF32, {3, 2}, std::vector<float>(6, 1));
  Tensor wide = Tensor::FromF32(DType::kF32, {2, 3}, std::vector<float>(6, 1));
  Tensor big = Tensor::FromF32(DType::kF32, {5, 2}, std::vector<float>(10, 1));
  Tensor f16 = Tensor::FromF32(DType::kF16, {2, 2}, std::vector<float>(4, 1));

  auto count = Interpret(g, {a});
  ASSERT_FALSE(count.ok());
  EXPECT_NE(count.status().message().find("takes 2 inputs, got 1"), std::string::npos);

  auto inconsistent = Interpret(g, {a, b3});
  ASSERT_FALSE(inconsistent.ok());
  EXPECT_NE(inconsistent.status().message().find("binds N = 3 but another input bound N = 2"),
            std::string::npos)
      << inconsistent.status().message();

  auto shape = Interpret(g, {a, wide});
  ASSERT_FALSE(shape.ok());
  EXPECT_NE(shape.status().message().find("input %y: expected f32[N,2] = [2,2], got f32[2,3]"),
            std::string::npos)
      << shape.status().message();

  auto range = Interpret(g, {big, big});
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(range.status().message().find("N = 5 is outside its declared range [1, 4]"),
            std::string::npos);

  auto dtype = Interpret(g, {f16, a});
  ASSERT_FALSE(dtype.ok());
  EXPECT_NE(dtype.status().message().find("expected dtype f32, got f16"), std::string::npos);
}

}  // namespace
}  // namespace kiln
