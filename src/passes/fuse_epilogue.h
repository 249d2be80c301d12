// fuse-epilogue: folds the elementwise consumers of a gemm / conv2d / conv_transpose2d into the
// node's `epilogue`, so a backend runs them on the accumulator instead of as separate kernels
// that re-read the whole output from memory.
//
// What: for a producer P (gemm, conv2d, conv_transpose2d) whose result has exactly one user C and
// is not a graph output, C is absorbed as the next epilogue step when it is
//   - add(P, b) with b a weight/constant that holds one value per output channel, broadcast along
//     the channel axis (last axis for gemm and nhwc, axis 1 for nchw): shape [C], or [C,1,1] /
//     [1,C,1,1] for nchw (reshaped to [C] by a new reshape node) -> bias(%b). Only while every
//     earlier step is a bias, which keeps biases next to the accumulator where backends want them;
//   - add(P, r) with r of exactly P's output shape -> add(%r) (residual);
//   - relu, sigmoid, tanh, silu, gelu (approximate=none -> gelu, tanh -> gelu_tanh);
//   - mul(P, s) with s a one-element constant that does not grow the shape -> scale(s), s being
//     the constant's value rounded to its dtype (what the unfused mul multiplies by);
//   - cast to f32/f16/bf16 -> cast(dtype); nothing is fused after a cast (it must stay last).
// add and mul match either operand order (both are commutative in IEEE arithmetic). The process
// repeats on the fused node until its consumer no longer qualifies, so steps keep exactly the
// original order of computation. A conv2d with `max_pool` takes no steps: its epilogue runs
// before the pool, on the unpooled result, while its consumers read the pooled one.
//
// Preconditions: a verified graph.
// Postconditions: a verified graph computing the same values (up to the rounding of intermediate
// results the fused node no longer stores in a low-precision dtype). The fused node takes C's
// output name (so later uses and graph outputs are unchanged) and sits where C was; P and C are
// removed. Returns false, leaving the graph untouched, when nothing qualifies.
#ifndef KILN_PASSES_FUSE_EPILOGUE_H_
#define KILN_PASSES_FUSE_EPILOGUE_H_

#include "passes/pass.h"

namespace kiln {

/// See the file comment.
class FuseEpiloguePass : public Pass {
 public:
  std::string_view name() const override { return "fuse-epilogue"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_FUSE_EPILOGUE_H_
