// CountFlops (src/ops/flops.h): the FLOPs of gemm, conv2d, conv_transpose2d and attention nodes,
// worked out by hand below, at bound symbols; other ops count nothing; an unbound symbol is an
// error. The zoo models' totals are in tests/e2e/zoo_flops_test.cc.
#include "ops/flops.h"

#include <gtest/gtest.h>

#include "passes/pass_test_util.h"

namespace kiln {
namespace {

TEST(FlopsTest, MatrixOpsByHand) {
  const Graph g = ParseVerified(R"(graph @f(%a: f32[N,5,3], %b: f32[4,5], %x: f32[N,8,9,9], %w: f32[6,4,3,3], %y: f32[N,4,5,5], %wt: f32[4,3,2,2], %qkv: f32[N,7,3,2,8], %q: f32[N,6,2,8], %k: f32[N,9,2,8], %v: f32[N,9,2,4]) -> (%g, %c, %t, %p, %at, %r) where N in [1, 8] {
  %g = gemm(%a, %b) {trans_a=true, trans_b=true} : f32[N,3,4]
  %c = conv2d(%x, %w) {stride=[2,2], groups=2} : f32[N,6,4,4]
  %t = conv_transpose2d(%y, %wt) {stride=[2,2], groups=2} : f32[N,6,10,10]
  %p = attention(%qkv) {packed=true} : f32[N,7,2,8]
  %at = attention(%q, %k, %v) : f32[N,6,2,4]
  %r = relu(%at) : f32[N,6,2,4]
})");
  StatusOr<FlopCount> f = CountFlops(g, {{"N", 3}});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  // gemm: out 3*3*4 elements, K = 5 (a is [N, K, M] with trans_a).
  EXPECT_DOUBLE_EQ(f->gemm, 2.0 * 3 * 3 * 4 * 5);
  // conv2d: 3*6*4*4 outputs, each over C / groups * R * S = 4 * 3 * 3; conv_transpose2d: 3*4*5*5
  // inputs, each into K / groups * R * S = 3 * 2 * 2.
  EXPECT_DOUBLE_EQ(f->conv, 2.0 * 3 * 6 * 4 * 4 * 36 + 2.0 * 3 * 4 * 5 * 5 * 12);
  // packed: B*S*H = 3*7*2 query rows against 7 keys, D = Dv = 8; unpacked: 3*6*2 rows against 9
  // keys, D = 8, Dv = 4.
  EXPECT_DOUBLE_EQ(f->attention, 2.0 * 3 * 7 * 2 * 7 * 16 + 2.0 * 3 * 6 * 2 * 9 * 12);
  EXPECT_DOUBLE_EQ(f->total(), f->gemm + f->conv + f->attention);
  // The maxima of the ranges.
  StatusOr<FlopCount> at_max = CountFlops(g, MaxBindings(g));
  ASSERT_TRUE(at_max.ok());
  EXPECT_DOUBLE_EQ(at_max->gemm, 2.0 * 8 * 3 * 4 * 5);
  // An unbound symbol.
  EXPECT_FALSE(CountFlops(g, {}).ok());
}

// A conv2d with max_pool does its multiply-adds at every unpooled output pixel: the count is
// the conv's, not the (4x smaller) pooled output's.
TEST(FlopsTest, ConvWithMaxPoolCountsTheUnpooledOutput) {
  const Graph g = ParseVerified(
      R"(graph @f(%x: f16[N,20,18,4], %w: f16[8,7,7,4], %xn: f32[N,4,20,18], %wn: f32[8,4,7,7]) -> (%y, %yn) where N in [1, 8] {
  %y = conv2d(%x, %w) {stride=[2,2], pad=[3,3,3,3], layout=nhwc, max_pool=[3,3,2,2,1,1,1,1]} : f16[N,5,5,8]
  %yn = conv2d(%xn, %wn) {stride=[2,2], pad=[3,3,3,3], max_pool=[3,3,2,2,1,1,1,1]} : f32[N,8,5,5]
})");
  StatusOr<FlopCount> f = CountFlops(g, {{"N", 3}});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  // Each conv: 3*8*10*9 unpooled outputs (pooled: 3*8*5*5), each over C * R * S = 4 * 7 * 7.
  EXPECT_DOUBLE_EQ(f->conv, 2 * (2.0 * 3 * 8 * 10 * 9 * 196));
}

}  // namespace
}  // namespace kiln
