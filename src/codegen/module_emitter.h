// The module emitter: turns a planned graph into the generated sources of a model library for one
// target — model.cc (the kiln_rt::ModelDesc tables of src/codegen/runtime_src/kiln_rt.h and Run(),
// one kernel call per node) and one file per distinct kernel, written by the target's emitters.
#ifndef KILN_CODEGEN_MODULE_EMITTER_H_
#define KILN_CODEGEN_MODULE_EMITTER_H_

#include <map>
#include <string>
#include <vector>

#include "codegen/kernel_context.h"
#include "ir/graph.h"
#include "kiln/status.h"
#include "plan/memory_plan.h"

namespace kiln::codegen {

/// What the module emitter needs from a target.
struct TargetEmitters {
  /// The target name the library reports ("cpu", "cuda-sm90").
  std::string name;
  /// Extension of generated kernel files (".cc", ".cu").
  std::string source_extension = ".cc";
  /// Lines at the top of every kernel file after the header comment (the includes).
  std::string kernel_prelude;
  /// The emitter of an op, or nullptr when the target does not support it.
  KernelEmitFn (*find)(OpKind op) = nullptr;
};

struct GeneratedFile {
  /// Path relative to the generated source directory ("model.cc", "kernels/kernel_3.cc").
  std::string path;
  std::string text;
};

struct GeneratedModule {
  GeneratedFile model;
  std::vector<GeneratedFile> kernels;
  /// The weights the library loads, in ModelDesc order (the names to write to its weights file).
  std::vector<std::string> weight_names;
  /// Nodes that run a kernel (views that share their operand's buffer run none).
  int kernel_calls = 0;
  /// Bytes of kernel scratch (KernelContext::Scratch) at the end of the workspace, included in
  /// ModelDesc::workspace_bytes (0: no kernel asked).
  int64_t scratch_bytes = 0;
};

struct EmitOptions {
  /// The weights file is linked into the library (model.cc then refers to the symbols
  /// kiln_embedded_weights_begin/_end, which the build defines with an .incbin).
  bool embed_weights = false;
  /// ModelDesc::cuda_graphs (CUDA targets): runs replay CUDA graphs captured per shape.
  bool cuda_graphs = false;
  /// Kernel configurations per node (KernelContext::config), from the tuner; absent: heuristic.
  std::map<const Node*, std::string> node_configs;
};

/// Emits the sources of `graph` (verified, after the passes) with the memory plan `plan` (from
/// PlanMemory on the same graph). Unimplemented naming the node for an op or dtype the target
/// cannot emit; errors of the emitters are passed on.
StatusOr<GeneratedModule> EmitModule(const Graph& graph, const MemoryPlan& plan,
                                     const TargetEmitters& target,
                                     const EmitOptions& options = {});

}  // namespace kiln::codegen

#endif  // KILN_CODEGEN_MODULE_EMITTER_H_
