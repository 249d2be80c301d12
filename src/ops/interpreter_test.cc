#include "ops/interpreter.h"

#include <gtest/gtest.h>

#include "ir/builder.h"

namespace kiln {
namespace {

Graph ReluGraph() {
  Builder b("g");
  Dim n = b.Sym("N", 1, 4);
  Value* x = b.Input("x", DType::kF32, {n, 2});
  Value* y = b.Input("y", DType::kF32, {n, 2});
  b.Output(b.Relu(b.Add(x, y)));
  return std::move(b.Finish()).value();
}

TEST(InterpreterTest, RunsWithSymbolicBatch) {
  Graph g = ReluGraph();
  std::vector<float> xv{1, -2, 3, -4, 5, -6}, yv{0.5, 0.5, -4, 1, 0, 0};
  auto out = Interpret(g, {Tensor::FromF32(DType::kF32, {3, 2}, xv),
                           Tensor::FromF32(DType::kF32, {3, 2}, yv)});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ((*out)[0].ToF32(), (std::vector<float>{1.5, 0, 0, 0, 5, 0}));
}

TEST(InterpreterTest, WeightsAndConstants) {
  Builder b("w");
  Value* x = b.Input("x", DType::kF32, {3});
  Value* w = b.Weight("scale", DType::kF32, {3});
  Value* c = b.Constant(DType::kF32, {3}, {10, 20, 30});
  b.Output(b.Add(b.Mul(x, w), c));
  Graph g = std::move(b.Finish()).value();

  Tensor in = Tensor::FromF32(DType::kF32, {3}, std::vector<float>{1, 2, 3});
  auto missing = Interpret(g, {in});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("weight \"scale\""), std::string::npos);

  (*g.weights())["scale"] = Tensor::FromF32(DType::kF32, {2}, std::vector<float>{1, 2});
  auto wrong = Interpret(g, {in});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("declared f32[3] but its data is f32[2]"),
            std::string::npos);

  (*g.weights())["scale"] = Tensor::FromF32(DType::kF32, {3}, std::vector<float>{2, 3, 4});
  auto out = Interpret(g, {in});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].ToF32(), (std::vector<float>{12, 26, 42}));
}

TEST(InterpreterTest, FusionNodeRunsItsBody) {
  auto body = std::make_shared<Graph>("fused_0");
  {
    Builder bb(body.get());
    Value* p0 = bb.Input("p0", DType::kF32, {2});
    Value* p1 = bb.Input("p1", DType::kF32, {2});
    bb.Output(bb.Relu(bb.Sub(p0, p1)));
    ASSERT_TRUE(bb.status().ok());
  }
  Builder b("outer");
  Value* x = b.Input("x", DType::kF32, {2});
  Value* y = b.Input("y", DType::kF32, {2});
  auto outs = b.Op(OpKind::kFusion, {x, y}, {{"body", body}});
  ASSERT_EQ(outs.size(), 1u) << b.status().ToString();
  b.Output(outs[0]);
  Graph g = std::move(b.Finish()).value();
  auto out = Interpret(g, {Tensor::FromF32(DType::kF32, {2}, std::vector<float>{5, 1}),
                           Tensor::FromF32(DType::kF32, {2}, std::vector<float>{2, 3})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].ToF32(), (std::vector<float>{3, 0}));
}

}  // namespace
}  // namespace kiln
