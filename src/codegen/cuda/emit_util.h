// Small helpers shared by the CUDA kernel emitters (src/codegen/cuda/*.cc): the float-dtype
// traits that the kiln_cuda family kernels are templated on and element word sizes. C++ arrays
// of dim expressions for the host-side launchers come from codegen/emit_lists.h.
#ifndef KILN_CODEGEN_CUDA_EMIT_UTIL_H_
#define KILN_CODEGEN_CUDA_EMIT_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/code_writer.h"
#include "codegen/emit_lists.h"
#include "codegen/kernel_context.h"
#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::codegen::cuda {

/// "kiln_cuda::F32", "kiln_cuda::F16" or "kiln_cuda::BF16": the dtype traits of value `v` of
/// `node`. Otherwise Unimplemented naming the node, the value with its type and the cuda targets
/// (the family kernels compute f32 / f16 / bf16 only).
StatusOr<std::string> FloatTraits(const Node& node, const Value* v);

/// The element size of `v` in bytes as a literal ("2"): the word type of the layout kernels.
std::string ElemBytes(const Value* v);

/// Unimplemented(node.Describe() + ": " + what + " is not supported on the cuda targets yet").
Status CudaUnimplemented(const Node& node, const std::string& what);

}  // namespace kiln::codegen::cuda

#endif  // KILN_CODEGEN_CUDA_EMIT_UTIL_H_
