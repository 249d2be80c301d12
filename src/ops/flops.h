// The arithmetic of a graph's matrix ops, for throughput and roofline figures (`kiln info`,
// `kiln bench`): 2 FLOPs per multiply-add, as cuBLAS / PyTorch benchmarks count them. gemm,
// conv2d, conv_transpose2d and attention are counted; the memory-bound ops are not (their
// arithmetic is a rounding error next to these in every model kiln targets).
#ifndef KILN_OPS_FLOPS_H_
#define KILN_OPS_FLOPS_H_

#include "ir/graph.h"

namespace kiln {

struct FlopCount {
  double gemm = 0;       // 2 x output elements x K (fused epilogues not counted)
  double conv = 0;       // 2 x output elements x reduction length (C / groups x R x S)
  double attention = 0;  // Q K^T and P V in full: 2 x B x H x Sq x Sk x (D + Dv), causal or not
  double total() const { return gemm + conv + attention; }
};

/// The FLOPs of one run of `graph` with its symbols at `bindings` (every symbol of a counted op's
/// shapes must be bound; error naming it otherwise).
StatusOr<FlopCount> CountFlops(const Graph& graph, const SymbolBindings& bindings);

/// `graph`'s symbols bound to their range maxima.
SymbolBindings MaxBindings(const Graph& graph);

}  // namespace kiln

#endif  // KILN_OPS_FLOPS_H_
