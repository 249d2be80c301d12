// fold-batch-norm: folds an inference batch_norm into the conv2d or gemm that feeds it, so the
// normalisation costs nothing at run time (it becomes scaled weights and a bias epilogue).
//
// What: batch_norm(y, scale, beta, mean, var) {eps, axis} with y = conv2d(x, w) (axis = the conv's
// channel axis: 1 for nchw, 3 for nhwc) or y = gemm(a, b) (axis = the last axis) becomes
//   conv2d(x, w') {epilogue=[bias(b')]}   /   gemm(a, b') {epilogue=[bias(b')]}
// with s = scale / sqrt(var + eps) per output channel,
//   w' = w * s  along the output-channel axis (conv: axis 0 of w; gemm: the N axis of b, which is
//              the second-to-last axis with trans_b and the last one without),
//   b' = (b_old - mean) * s + beta   (b_old: the producer's own bias step, else 0).
// Values are computed in double at compile time and stored in the original dtypes. When w is a
// weight, w' and b' are new weights inserted into Graph::weights() under new unique names
// ("<w>.bn_folded", "<w>.bn_folded_bias"): the map is shared with clones of the graph, which
// keep referring to the untouched originals. When w is a constant, w' and b' are constants.
//
// Preconditions (otherwise the batch_norm is left alone): a verified graph; y has no other user
// and is not a graph output; the producer's epilogue is empty or a single bias step; a gemm has
// no `c` operand; a conv2d has no `max_pool` (the max does not commute with a negative scale);
// w, the old bias and the four batch_norm parameters are constants or weights whose data is in
// Graph::weights() (a graph parsed from text without weights attached is not folded unless they
// are constants).
// Postconditions: a verified graph computing the same values up to rounding; the fused node takes
// the batch_norm's output name and place; the batch_norm, the old producer and the weight and
// constant nodes that lost their last user are removed. Returns false when nothing was folded,
// with the graph untouched. Errors: InvalidArgument when a weight's data does not match its
// declared dtype and shape.
#ifndef KILN_PASSES_FOLD_BATCH_NORM_H_
#define KILN_PASSES_FOLD_BATCH_NORM_H_

#include "passes/pass.h"

namespace kiln {

/// See the file comment.
class FoldBatchNormPass : public Pass {
 public:
  std::string_view name() const override { return "fold-batch-norm"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_FOLD_BATCH_NORM_H_
