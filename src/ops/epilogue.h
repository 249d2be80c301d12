// Shared support for the ops that own an epilogue (gemm, conv2d, conv_transpose2d): validation of
// the `epilogue` attribute and its trailing operands during shape inference, the reference
// application of the steps to an f32 accumulator, and the f32 matrix-multiply kernel both
// references contract with.
//
// Epilogue operands: the node's inputs are its explicit operands followed by one operand per step
// that TakesOperand() (bias, add), in epilogue order (see ir/graph.h).
#ifndef KILN_OPS_EPILOGUE_H_
#define KILN_OPS_EPILOGUE_H_

#include <cstdint>
#include <span>
#include <vector>

#include "ir/graph.h"

// Marks the hot loops of the reference kernels, which run whole models (ResNet-50, BERT, ViT)
// in the interpreter, also from Debug test builds: they are optimised even when the rest of the
// translation unit is not.
#if defined(__GNUC__) && !defined(__clang__)
#define KILN_HOT_LOOP __attribute__((optimize("O3")))
#else
#define KILN_HOT_LOOP
#endif

namespace kiln {

/// Checks the node's epilogue against an output of shape `out_shape` whose channel axis is
/// `channel_axis` and returns the output dtype (the cast dtype, or input 0's dtype):
/// - the node has `min_explicit`..`max_explicit` explicit operands plus one trailing operand per
///   bias/add step;
/// - a bias operand is rank 1 with as many elements as the channel axis;
/// - an add operand broadcasts (numpy rules) to `out_shape` without growing it;
/// - operands have input 0's dtype; cast is at most once, last, to f32, f16 or bf16;
/// - scale factors are finite.
StatusOr<DType> InferEpilogue(const Node& node, const Shape& out_shape, int64_t channel_axis,
                              int min_explicit, int max_explicit);

/// Applies the node's epilogue steps in order to `acc` (row-major, concrete shape `out_shape`,
/// channel axis `channel_axis`). `operands` are the node's trailing epilogue inputs, in order.
/// cast is a no-op here: it takes effect when the accumulator is stored (StoreF32).
/// gelu is the erf form, gelu_tanh the tanh approximation, silu x*sigmoid(x).
void ApplyEpilogue(const Node& node, const std::vector<int64_t>& out_shape, int64_t channel_axis,
                   std::span<const Tensor> operands, std::span<float> acc);

/// Converts `values` to `out`'s dtype and writes them into its existing buffer (same numel).
void StoreF32(std::span<const float> values, Tensor& out);

/// c[M,N] += a[M,K] @ b[K,N] in f32, all row-major with leading dimensions lda, ldb, ldc.
/// Blocked over N and K with a 4-row micro-kernel that vectorises over N; it is the inner kernel
/// of the gemm and conv references, which run whole models in the interpreter.
void MatMulAccF32(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n,
                  int64_t lda, int64_t ldb, int64_t ldc);

}  // namespace kiln

#endif  // KILN_OPS_EPILOGUE_H_
