// The tuner's view of a cuda-sm90 conv2d (see src/tuning/tuner.h and gemm_tuning.h): its
// signature (the whole static geometry and epilogue), its batch as the shape (bucket points of a
// symbolic batch, chosen by the implicit GEMM's rows N * P * Q at run time), the candidate
// configs (implicit-GEMM tiles of conv_config.h, or gemm configs for a 1x1 conv that is a gemm)
// and a one-conv profiling graph with a symbolic batch.
#ifndef KILN_CODEGEN_CUDA_CONV_TUNING_H_
#define KILN_CODEGEN_CUDA_CONV_TUNING_H_

#include <optional>

#include "codegen/tune_task.h"
#include "ir/graph.h"

namespace kiln::codegen::cuda {

/// The task of `node` (of `graph`, whose symbol ranges give a symbolic batch's points) when it is
/// a conv2d the sm90 CUTLASS kernels take; nullopt otherwise (other ops, the direct and the
/// few-channel kernels).
std::optional<TuneTask> ConvTuneTask(const Graph& graph, const Node& node);

}  // namespace kiln::codegen::cuda

#endif  // KILN_CODEGEN_CUDA_CONV_TUNING_H_
