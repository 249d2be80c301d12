// Unit tests of the target-neutral planning helpers that the cpu and cuda emitters share
// (layout_plan.h, pool_plan.h, reduce_plan.h, norm_plan.h): the generated C++ text they produce
// for small nodes, symbolic dims included. End-to-end numbers are checked by the kernel tests
// (tests/codegen) and the CUDA compile tests.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "codegen/code_writer.h"
#include "codegen/kernel_context.h"
#include "codegen/layout_plan.h"
#include "codegen/norm_plan.h"
#include "codegen/pool_plan.h"
#include "codegen/reduce_plan.h"
#include "passes/pass_test_util.h"

namespace kiln::codegen {
namespace {

// The node that defines the graph's first output.
const Node& OutputNode(const Graph& g) { return *g.outputs().at(0)->producer(); }

TEST(PlansTest, SliceClampsStaticStartsAndChecksSymbolicOnes) {
  Graph g = ParseVerified(R"(graph @s(%x: f32[N,5,33]) -> (%y) where N in [1, 8] {
  %y = slice(%x) {starts=[1,40], ends=[4,0], axes=[1,-1], steps=[2,-3]} : f32[N,2,11]
})");
  KernelContext ctx(OutputNode(g), {"N"});
  StatusOr<SlicePlan> plan = PlanSlice(ctx);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->starts, (std::vector<std::string>{"0", "1", "32"}));  // 40 clamps to dim - 1
  EXPECT_EQ(plan->steps, (std::vector<std::string>{"1", "2", "-3"}));
  EXPECT_TRUE(plan->checked.empty());

  Graph sym = ParseVerified(R"(graph @s(%x: f32[N,8]) -> (%y) where N in [2, 8] {
  %y = slice(%x) {starts=[1], ends=[N], axes=[0]} : f32[N-1,8]
})");
  KernelContext sym_ctx(OutputNode(sym), {"N"});
  StatusOr<SlicePlan> sym_plan = PlanSlice(sym_ctx);
  ASSERT_TRUE(sym_plan.ok()) << sym_plan.status().ToString();
  EXPECT_EQ(sym_plan->checked, (std::vector<int64_t>{0}));
}

TEST(PlansTest, PadFillBytesAndMode) {
  Graph g = ParseVerified(R"(graph @p(%x: f32[2,3]) -> (%y) {
  %y = pad(%x) {pads=[1,2,3,4], value=1.5} : f32[6,9]
})");
  const PadPlan plan = PlanPad(KernelContext(OutputNode(g), {}));
  EXPECT_EQ(plan.pads_begin, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(plan.fill_bytes, (std::vector<std::string>{"0x00", "0x00", "0xc0", "0x3f"}));  // 1.5f
  EXPECT_EQ(plan.fill_comment, "1.5 as f32");
  EXPECT_EQ(plan.mode, "kConstant");
}

TEST(PlansTest, GatherAxis) {
  Graph g = ParseVerified(R"(graph @g(%x: f32[4,5,6], %i: i64[3]) -> (%y) {
  %y = gather(%x, %i) {axis=-2} : f32[4,3,6]
})");
  StatusOr<int64_t> axis = GatherAxis(OutputNode(g));
  ASSERT_TRUE(axis.ok()) << axis.status().ToString();
  EXPECT_EQ(*axis, 1);
}

TEST(PlansTest, ReduceMaskAndScalarOperand) {
  Graph g = ParseVerified(R"(graph @r(%x: f32[N,8,3,3], %s: f32[]) -> (%y, %z) where N in [1, 8] {
  %y = reduce_sum(%x) {axes=[1,-1]} : f32[N,3]
  %z = reduce_max(%s) : f32[]
})");
  StatusOr<ReducePlan> plan = PlanReduce(KernelContext(OutputNode(g), {"N"}));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->dims, (std::vector<std::string>{"sym_N", "8", "3", "3"}));
  EXPECT_EQ(plan->reduced, (std::vector<std::string>{"0", "1", "0", "1"}));
  EXPECT_STREQ(ReductionEnumerator(OpKind::kReduceSum), "kSum");

  StatusOr<ReducePlan> scalar = PlanReduce(KernelContext(*g.outputs().at(1)->producer(), {"N"}));
  ASSERT_TRUE(scalar.ok()) << scalar.status().ToString();
  EXPECT_EQ(scalar->dims, (std::vector<std::string>{"1"}));
  EXPECT_EQ(scalar->reduced, (std::vector<std::string>{"0"}));
}

TEST(PlansTest, SplitAroundAxisAndNorms) {
  Graph g = ParseVerified(
      R"(graph @n(%x: f32[N,4,6], %z: f32[N,3,3,8], %gw: f32[8], %gb: f32[8]) -> (%y, %gn) where N in [1, 8] {
  %y = layer_norm(%x) {axis=-2, eps=0.001} : f32[N,4,6]
  %gn = group_norm(%z, %gw, %gb) {groups=4, layout=nhwc} : f32[N,3,3,8]
})");
  KernelContext ctx(OutputNode(g), {"N"});
  const AxisSplit split = SplitAroundAxis(ctx, OutputNode(g).input(0)->shape(), 1);
  EXPECT_EQ(split.outer, "sym_N");
  EXPECT_EQ(split.len, "4");
  EXPECT_EQ(split.inner, "6");
  StatusOr<TrailingNormPlan> norm = PlanTrailingNorm(ctx);
  ASSERT_TRUE(norm.ok()) << norm.status().ToString();
  EXPECT_EQ(norm->num_axes, 2);
  EXPECT_EQ(norm->rows, "sym_N");
  EXPECT_EQ(norm->cols, "24");
  EXPECT_EQ(OptionalIn(OutputNode(g), 1), "nullptr");

  const GroupNormPlan group = PlanGroupNorm(KernelContext(*g.outputs().at(1)->producer(), {"N"}));
  EXPECT_TRUE(group.nhwc);
  EXPECT_EQ(group.channels, "8");
  EXPECT_EQ(group.spatial, "9");
  EXPECT_EQ(group.groups, "4");
}

TEST(PlansTest, PoolAndResizeShapeFields) {
  Graph g = ParseVerified(R"(graph @p(%x: f32[N,9,9,8]) -> (%mp, %r) where N in [1, 8] {
  %mp = max_pool2d(%x) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f32[N,5,5,8]
  %r = resize(%x) {scales=[2.0,0.5], layout=nhwc} : f32[N,18,4,8]
})");
  const ImageAxes ax = ImageAxesOf(OutputNode(g));
  EXPECT_TRUE(ax.nhwc());
  EXPECT_EQ(ax.h, 1);
  CodeWriter pool;
  WritePoolShapeFields(KernelContext(OutputNode(g), {"N"}), pool);
  EXPECT_NE(pool.str().find("s.n = sym_N; s.c = 8; s.h = 9; s.w = 9; s.oh = 5; s.ow = 5;"),
            std::string::npos)
      << pool.str();
  EXPECT_NE(pool.str().find("s.nhwc = true;"), std::string::npos) << pool.str();
  CodeWriter resize;
  WriteResizeShapeFields(KernelContext(*g.outputs().at(1)->producer(), {"N"}), resize);
  EXPECT_NE(resize.str().find("s.scale_h = 2.0; s.scale_w = 0.5; s.nhwc = true;"),
            std::string::npos)
      << resize.str();
  const ResizeModeEnumerators modes = ResizeModesOf(*g.outputs().at(1)->producer());
  EXPECT_EQ(modes.coord, "kHalfPixel");
  EXPECT_EQ(modes.nearest, "kRoundPreferFloor");
}

}  // namespace
}  // namespace kiln::codegen
