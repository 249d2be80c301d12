// The tuner: picks a kernel configuration for every tunable node of a graph (today: gemms on
// cuda-sm90) from the SQLite tuning cache, by profiling the candidates on the GPU, or leaves the
// choice to the emitter's heuristic.
//
// Per node the target supplies a TuneTask (codegen/cuda/gemm_tuning.h): an op signature (what
// selects the candidate space), the shape, the candidate config names, and a one-node
// "profiling graph" whose dims are symbols, so that one library per (signature, candidate)
// serves every shape of that signature. Then:
//   1. cache hit for (device, toolchain, signature, shape): that config; nothing is built;
//   2. miss with profiling on (mode kAuto and a GPU found by nvidia-smi): every candidate's
//      library is built through `build` (in parallel, with the object cache, so a rebuild is a
//      cache hit), kiln_profile (src/tuning/profiler_src, built with nvcc on first use) times
//      each library at each missing shape of its signature, the fastest is stored in the cache
//      and chosen. A candidate that fails to build or run is skipped (and said in the log);
//   3. otherwise: no entry (the emitter's heuristic decides), and the log says why.
// A node with a symbolic row count has several points (codegen/tune_task.h); it is tuned when
// every point has a winner, and its choice is then a rows dispatch over them. Only kFull profiles
// such nodes (one library per candidate and signature, timed at every point: minutes for a whole
// model); kAuto and kCacheOnly take them from the cache when every point is there.
#ifndef KILN_TUNING_TUNER_H_
#define KILN_TUNING_TUNER_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codegen/tune_task.h"
#include "ir/graph.h"
#include "kiln/status.h"
#include "tuning/tuning_cache.h"

namespace kiln {

using codegen::RowsDispatch;
using codegen::TunePoint;
using codegen::TuneTask;

enum class TuneMode {
  kFull,       // as kAuto, and nodes of a symbolic row count are profiled at their bucket points
  kAuto,       // cache, then profile the misses of static shapes when a GPU is present
  kCacheOnly,  // cache hits only; misses go to the heuristic
  kOff,        // heuristic for everything
};

struct TuneOptions {
  TuneMode mode = TuneMode::kAuto;
  std::string cache_path;  // empty: TuningCache::DefaultPath()
  std::string cutlass_version;
  std::string cuda_version;  // nvcc's release line
  std::string kiln_root;     // where src/tuning/profiler_src lives
  std::string work_dir;      // scratch for profiling libraries (removed afterwards)
  std::string object_cache_dir;  // where the profiler binary is cached
  int max_candidates = 0;        // per signature, the first N candidates only (0: all)
  std::function<void(std::string_view)> log;
  /// The GPU to tune for (its name and compute capability; the versions come from the fields
  /// above); nullopt: DetectGpu(). Tests set it.
  std::optional<TuningDevice> device;
};

/// Builds the library of `graph_text` with the config `config` forced on the node whose output is
/// `node` into `dir`; returns the library path.
using TuneBuildFn = std::function<StatusOr<std::string>(
    const std::string& graph_text, const std::string& node, const std::string& config,
    const std::string& dir)>;

/// The target's task for `node` of `graph` (whose symbol ranges give a dynamic node's bucket
/// points), or nullopt when the node is not tunable.
using TuneTaskFn = std::function<std::optional<TuneTask>(const Graph& graph, const Node& node)>;


struct TuneReport {
  int tunable = 0, cached = 0, profiled = 0, heuristic = 0;
  int candidates_built = 0;
  double seconds = 0;
};

/// Chooses configs for the tunable nodes of `graph` (see the file comment). Returns the chosen
/// config per node (absent: heuristic). Errors only for a broken cache file or a profiler that
/// cannot be built; failing candidates are skipped.
StatusOr<std::map<const Node*, std::string>> TuneGraph(const Graph& graph, const TuneTaskFn& task_of,
                                                       const TuneBuildFn& build,
                                                       const TuneOptions& options,
                                                       TuneReport* report);

/// The GPU this process would profile on, from nvidia-smi (name, compute capability), or
/// NotFound when there is none.
StatusOr<TuningDevice> DetectGpu();

}  // namespace kiln

#endif  // KILN_TUNING_TUNER_H_
