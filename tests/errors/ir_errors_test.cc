// User-facing errors of graph construction and verification: each message names the node (and
// its source line when parsed), and says what was expected and what was found.
#include <gtest/gtest.h>

#include "ir/builder.h"
#include "ir/verifier.h"
#include "ops/interpreter.h"

namespace kiln {
namespace {

TEST(IrErrorsTest, BuilderErrorsAreStickyAndNameTheNode) {
  Builder b("bad");
  Value* x = b.Input("x", DType::kF32, {2, 3});
  Value* y = b.Input("y", DType::kF32, {4, 3});
  Value* s = b.Add(x, y);  // 2 vs 4 does not broadcast
  EXPECT_EQ(s, nullptr);
  EXPECT_EQ(b.Relu(s), nullptr);
  b.Output(s);
  auto g = b.Finish();
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("do not broadcast"), std::string::npos)
      << g.status().message();
}

TEST(IrErrorsTest, UnknownAttributeIsRejected) {
  Graph g("g");
  Value* x = g.AddInput("x", {DType::kF32, {2}});
  auto node = g.AddNode(OpKind::kRelu, {x}, {{"alpha", 0.1}});
  ASSERT_FALSE(node.ok());
  EXPECT_NE(node.status().message().find("unknown attribute 'alpha' for op 'relu'"),
            std::string::npos)
      << node.status().message();
}

TEST(IrErrorsTest, DeclaredTypeMismatchIsReported) {
  Graph g("g");
  Value* x = g.AddInput("x", {DType::kF32, {2, 3}});
  Node* n = g.AddNodeWithTypes(OpKind::kRelu, {x}, {}, {{"y", {DType::kF32, {3, 2}}}});
  n->set_line(7);
  g.SetOutputs({n->output()});
  Status s = Verify(g);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("%y = relu (line 7)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("declared f32[3,2] but the op infers f32[2,3]"), std::string::npos)
      << s.message();
}

TEST(IrErrorsTest, UseBeforeDefinitionAndUndeclaredSymbol) {
  Graph g("g");
  Value* x = g.AddInput("x", {DType::kF32, {Dim::Symbol("B"), 3}});
  g.SetOutputs({x});
  Status s = Verify(g);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("symbol 'B'"), std::string::npos) << s.message();

  Graph h("h");
  Value* a = h.AddInput("a", {DType::kF32, {2}});
  Node* r1 = h.AddNodeWithTypes(OpKind::kRelu, {a}, {}, {{"r1", {DType::kF32, {2}}}});
  Node* r2 = h.AddNodeWithTypes(OpKind::kExp, {r1->output()}, {}, {{"r2", {DType::kF32, {2}}}});
  h.MoveBefore(r2, r1);
  h.SetOutputs({r2->output()});
  s = Verify(h);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("used before it is defined"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace kiln
