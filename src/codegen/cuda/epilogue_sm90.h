// The epilogue of kiln's Hopper kernels (CUTLASS 3.x gemm and conv on cuda-sm90) as an epilogue
// visitor tree: the emitter side of runtime_src/kiln_cuda_epilogue_sm90.cuh.
#ifndef KILN_CODEGEN_CUDA_EPILOGUE_SM90_H_
#define KILN_CODEGEN_CUDA_EPILOGUE_SM90_H_

#include "codegen/code_writer.h"
#include "ir/graph.h"

namespace kiln::codegen::cuda {

/// Writes the tree of `node`'s whole epilogue (alpha, beta * c, then the Epilogue attribute's
/// steps) as type aliases E0.. and their arguments ep0..; the last one is the root, which stores
/// the output's dtype. Returns the root's index. `source_input`: the node input read as CUTLASS's
/// source operand C (a full-size `c` or the first residual add; -1: none); `c_row_vector`: the
/// input index of a `c` that is a row vector (-1: none). The tree's bias leaves name `Tile`, the
/// CTA tile type the kernel declares before it. The text names operands only as in0.. (no value
/// names), so that nodes of one shape of tree share it (KernelContext::ShareFunction).
/// Pre: every residual add other than the source and every broadcast were ruled out by the caller.
int EmitEpilogueTree(const Node& node, int source_input, int c_row_vector, CodeWriter& w);

}  // namespace kiln::codegen::cuda

#endif  // KILN_CODEGEN_CUDA_EPILOGUE_SM90_H_
