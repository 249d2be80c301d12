// The tuner's view of a cuda-sm90 gemm (see src/tuning/tuner.h): its signature, shape (or bucket
// points of a symbolic row count), candidate configs (gemm_config.h) and the one-gemm profiling
// graph whose dims are symbols (multiples of 8 where the real extent is), so one library per
// candidate times every shape of the signature.
#ifndef KILN_CODEGEN_CUDA_GEMM_TUNING_H_
#define KILN_CODEGEN_CUDA_GEMM_TUNING_H_

#include <optional>

#include "codegen/tune_task.h"
#include "ir/graph.h"

namespace kiln::codegen::cuda {

/// The task of `node` (of `graph`) when it is a gemm the sm90 TMA kernels implement with static N,
/// K and batch; a symbolic M (rows) gets bucket points over `graph`'s symbol ranges. nullopt
/// otherwise (other ops, the CUTLASS 2.x fallback, other symbolic sizes: the heuristic config).
std::optional<TuneTask> GemmTuneTask(const Graph& graph, const Node& node);

}  // namespace kiln::codegen::cuda

#endif  // KILN_CODEGEN_CUDA_GEMM_TUNING_H_
