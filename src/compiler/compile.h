// The compiler driver: graph -> passes -> memory plan -> generated sources -> model library.
//
//   kiln::CompileOptions options{.target = "cpu", .output_dir = "out/resnet50"};
//   KILN_ASSIGN_OR_RETURN(kiln::CompileResult r, kiln::Compile(graph, options));
//   // r.library_path = out/resnet50/model.so, r.weights_path = out/resnet50/model.safetensors
//
// The output directory holds everything a user needs and a reader wants to see:
//   model.so            the library (C ABI: include/kiln/module_abi.h)
//   model.safetensors   its weights (after the passes: folded, transposed), unless embedded
//   model.kir           the graph after the passes, the IR the library implements
//   src/                the generated sources (model.cc, kernels/kernel_N.cc)
//   obj/                the objects (reused from the object cache when unchanged)
#ifndef KILN_COMPILER_COMPILE_H_
#define KILN_COMPILER_COMPILE_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "build/build_driver.h"
#include "ir/graph.h"
#include "kiln/status.h"
#include "plan/memory_plan.h"
#include "tuning/tuner.h"

namespace kiln {

struct CompileOptions {
  /// "cpu", "cuda-sm90" (Hopper) or "cuda-sm80" (Ampere). CUDA targets need nvcc and CUTLASS
  /// headers, not a GPU: the library is cross-compiled.
  std::string target = "cpu";
  /// Created if missing; files kiln writes there are replaced.
  std::string output_dir;
  /// Link the weights into the library instead of writing model.safetensors beside it.
  bool embed_weights = false;
  /// CUDA targets: each run replays a CUDA graph captured once per concrete dims and pointers
  /// (on a non-null stream), which removes the launch overhead of small models.
  bool cuda_graphs = false;
  /// cuda-sm90: programmatic dependent launch (-DKILN_PDL=1): each kernel may start while the one
  /// before it on the stream finishes, waiting for it on the GPU (kiln_cuda.cuh, Launch), which
  /// hides launch latency between the short kernels of small batches.
  bool pdl = false;
  /// Parallel compiler processes (0: one per core).
  int jobs = 0;
  /// Object cache directory; empty: ObjectCache::DefaultDir(). use_cache=false compiles all.
  std::string cache_dir;
  bool use_cache = true;
  /// Run the verifier after every pass (always on in tests).
  bool verify_each_pass = false;
  /// Progress lines (passes, kernels to build, built, cached, link); may be empty.
  std::function<void(std::string_view line)> log;
  /// Kernel tuning on cuda-sm90 (src/tuning/tuner.h): kAuto profiles the candidates missing from
  /// the tuning cache when a GPU is present; kCacheOnly uses cached winners only; kOff leaves
  /// every choice to the emitter's heuristic.
  TuneMode tune = TuneMode::kAuto;
  /// The SQLite tuning cache; empty: TuningCache::DefaultPath().
  std::string tuning_cache;
  /// Profile only the first N candidates of each signature (0: all); quicker, less thorough.
  int tune_max_candidates = 0;
  /// Kernel configs forced per node, keyed by the node's (first) output value name after the
  /// passes; the tuner uses it to build one library per candidate. Skips tuning when not empty.
  std::map<std::string, std::string> forced_configs;
  /// Per finished compile job, for progress bars; may be empty.
  std::function<void(const BuildEvent& event)> build_progress;
};

struct CompileResult {
  std::string target;
  std::string library_path;
  std::string weights_path;  // empty when embedded
  std::string ir_path;
  std::string source_dir;
  int nodes_in = 0;      // nodes of the input graph
  int nodes_out = 0;     // nodes after the passes
  int kernels = 0;       // distinct generated kernels (kernels/kernel_N files)
  int shared_functions = 0;  // instantiations they share (KernelContext::ShareFunction files)
  int kernel_calls = 0;  // kernel launches per run
  MemoryPlan plan;
  BuildStats build;
  TuneReport tuning;
  double seconds_passes = 0, seconds_codegen = 0, seconds_build = 0;
};

/// Compiles `graph` (verified, weights attached for every `weight` node) in place: the passes
/// rewrite it. InvalidArgument for an unknown target or output directory problems,
/// Unimplemented for a target or op kiln cannot build yet (naming it), NotFound for weights
/// without data or a missing toolchain, and the compiler's output when a build fails.
StatusOr<CompileResult> Compile(Graph& graph, const CompileOptions& options);

/// Ok for a target Compile can build; InvalidArgument (listing the targets) otherwise.
Status CheckTarget(const std::string& target);

/// The directory holding kiln's shipped sources for model libraries (src/codegen/**/runtime_src
/// and include/kiln/module_abi.h): $KILN_HOME if set, else <bin>/../share/kiln next to an
/// installed kiln, else the source tree kiln was built from. NotFound listing what was tried.
StatusOr<std::string> FindKilnRoot();

/// One line for the CLI: "compiled 'resnet50' for cpu: 71 nodes -> 57 kernel calls (24 kernels),
/// workspace 4.6 MiB; passes 0.2 s, codegen 0.0 s, build 12.3 s (20 compiled, 8 cached)".
std::string FormatCompileSummary(const Graph& graph, const CompileResult& result);

}  // namespace kiln

#endif  // KILN_COMPILER_COMPILE_H_
