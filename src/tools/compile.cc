// `kiln compile MODEL -o DIR`: compiles a model into a library (DIR/model.so) with its weights
// (DIR/model.safetensors), showing progress and a summary (src/compiler/compile.h).
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "compiler/compile.h"
#include "support/format.h"
#include "tools/common.h"
#include "tools/io.h"

namespace kiln::tools {
namespace {

struct CompileArgs {
  std::string model;
  std::string output_dir;
  std::string target = "cpu";
  std::string weights;
  uint64_t seed = 0;
  std::optional<int64_t> batch;
  std::optional<int64_t> seq;
  std::optional<std::string> dtype;
  std::vector<std::string> dynamic;
  std::vector<std::string> bind;
  bool embed_weights = false;
  bool cuda_graphs = false;
  bool pdl = false;
  std::string tune = "auto";
  std::string tuning_cache;
  int jobs = 0;
  std::string cache_dir;
  bool no_cache = false;
  bool quiet = false;
};

// Applies one `--dynamic NAME=MIN..MAX`. NAME is a symbol of the graph, or `batch` / `seq` for
// the symbol that looks like one (N, S in the zoo).
Status ApplyDynamic(Graph& graph, const std::string& spec) {
  size_t eq = spec.find('='), dots = spec.find("..");
  auto bad = [&] {
    return InvalidArgument("--dynamic " + spec + ": expected NAME=MIN..MAX, e.g. batch=1..64");
  };
  if (eq == std::string::npos || dots == std::string::npos || dots < eq) return bad();
  std::string name = spec.substr(0, eq);
  int64_t lo = 0, hi = 0;
  try {
    size_t used = 0;
    lo = std::stoll(spec.substr(eq + 1, dots - eq - 1), &used);
    if (used != dots - eq - 1) return bad();
    hi = std::stoll(spec.substr(dots + 2), &used);
    if (used != spec.size() - dots - 2) return bad();
  } catch (const std::exception&) {
    return bad();
  }
  if (!graph.symbols().count(name) && (name == "batch" || name == "seq")) {
    for (const auto& [sym, range] : graph.symbols()) {
      if (name == "batch" ? IsBatchSymbol(sym) : IsSeqSymbol(sym)) name = sym;
    }
  }
  return graph.SetSymbolRange(name, lo, hi).WithContext("--dynamic " + spec);
}

// Progress of the object builds: one rewritten line on a terminal, a line per 25% otherwise.
class BuildProgress {
 public:
  explicit BuildProgress(bool quiet) : quiet_(quiet), tty_(isatty(STDERR_FILENO) != 0) {}
  void operator()(const BuildEvent& e) {
    if (quiet_) return;
    const char* what = e.kind == BuildEvent::Kind::kCached ? "cached" : e.kind == BuildEvent::Kind::kFailed ? "FAILED" : "compiled";
    if (tty_) {
      std::fprintf(stderr, "\r  [%d/%d] %s %s\033[K", e.finished, e.total, what,
                   e.job->source_path.substr(e.job->source_path.rfind('/') + 1).c_str());
      if (e.finished == e.total) std::fprintf(stderr, "\n");
    } else if (e.finished * 4 / e.total != (e.finished - 1) * 4 / e.total || e.finished == e.total) {
      std::fprintf(stderr, "  [%d/%d] objects built\n", e.finished, e.total);
    }
  }

 private:
  bool quiet_, tty_;
};

Status WriteManifest(const Graph& graph, const CompileResult& r, const CompileArgs& args) {
  nlohmann::json j = {
      {"graph", graph.name()},
      {"target", args.target},
      {"model", args.model},
      {"nodes_in", r.nodes_in},
      {"nodes_out", r.nodes_out},
      {"kernels", r.kernels},
      {"shared_functions", r.shared_functions},
      {"kernel_calls", r.kernel_calls},
      {"workspace_bytes", r.plan.workspace_bytes},
      {"workspace_naive_bytes", r.plan.naive_bytes},
      {"workspace_lower_bound_bytes", r.plan.lower_bound_bytes},
      {"scratch_bytes", r.plan.scratch_bytes},
      // A workspace that scales with a symbol ("" for none): a run with it at v needs
      // workspace_unit_bytes * v + workspace_fixed_bytes + scratch_bytes (workspace_bytes: at
      // every symbol's maximum).
      {"workspace_scale_symbol", r.plan.scale_symbol},
      {"workspace_unit_bytes", r.plan.unit_bytes},
      {"workspace_fixed_bytes", r.plan.fixed_bytes},
      {"weights_embedded", args.embed_weights},
      {"cuda_graphs", args.cuda_graphs},
      {"pdl", args.pdl},
      {"seconds",
       {{"passes", r.seconds_passes}, {"codegen", r.seconds_codegen}, {"build", r.seconds_build}}},
      {"objects", {{"compiled", r.build.compiled}, {"cached", r.build.cached}}},
      {"tuning",
       {{"tunable", r.tuning.tunable},
        {"cached", r.tuning.cached},
        {"profiled", r.tuning.profiled},
        {"heuristic", r.tuning.heuristic},
        {"candidates_built", r.tuning.candidates_built},
        {"seconds", r.tuning.seconds}}},
  };
  return WriteTextFile(args.output_dir + "/manifest.json", j.dump(2) + "\n");
}

Status RunCompile(const CompileArgs& args) {
  KILN_RETURN_IF_ERROR(CheckTarget(args.target));
  ModelOptions options;
  options.with_weights = true;
  options.weights_path = args.weights;
  options.seed = args.seed;
  if (IsZooRef(args.model)) {
    options.batch = args.batch;
    options.seq = args.seq;
    options.dtype = ParseDType(args.dtype.value_or("f32")).value_or(DType::kF32);
  } else if (args.batch || args.seq || args.dtype) {
    return InvalidArgument("--batch, --seq and --dtype apply to zoo:NAME models only (a .kir file "
                           "declares its own shapes; use --dynamic to set symbol ranges)");
  }
  for (const std::string& spec : args.bind) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("--bind " + spec + ": expected NAME=V1,V2,..., e.g. shape=1,3,-1");
    }
    options.onnx_bound_values[spec.substr(0, eq)] = spec.substr(eq + 1);
  }
  KILN_ASSIGN_OR_RETURN(Graph graph, LoadModel(args.model, options));
  for (const std::string& spec : args.dynamic) KILN_RETURN_IF_ERROR(ApplyDynamic(graph, spec));

  CompileOptions copts;
  copts.target = args.target;
  copts.output_dir = args.output_dir;
  copts.embed_weights = args.embed_weights;
  copts.cuda_graphs = args.cuda_graphs;
  copts.pdl = args.pdl;
  copts.tune = args.tune == "off"     ? TuneMode::kOff
               : args.tune == "cache" ? TuneMode::kCacheOnly
               : args.tune == "full"  ? TuneMode::kFull
                                      : TuneMode::kAuto;
  copts.tuning_cache = args.tuning_cache;
  copts.jobs = args.jobs;
  copts.cache_dir = args.cache_dir;
  copts.use_cache = !args.no_cache;
  if (!args.quiet) {
    copts.log = [](std::string_view line) { std::fprintf(stderr, "kiln: %.*s\n", static_cast<int>(line.size()), line.data()); };
  }
  auto progress = std::make_shared<BuildProgress>(args.quiet);
  copts.build_progress = [progress](const BuildEvent& e) { (*progress)(e); };
  if (!args.quiet) std::fprintf(stderr, "kiln: compiling %s (graph @%s, %zu nodes) for %s\n", args.model.c_str(), graph.name().c_str(), graph.nodes().size(), args.target.c_str());
  KILN_ASSIGN_OR_RETURN(CompileResult result, Compile(graph, copts));
  KILN_RETURN_IF_ERROR(WriteManifest(graph, result, args));
  std::printf("%s\n", FormatCompileSummary(graph, result).c_str());
  return Status::Ok();
}

}  // namespace

void AddCompileCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<CompileArgs>();
  CLI::App* cmd = app.add_subcommand("compile", "Compile a model into a shared library (model.so + model.safetensors)");
  cmd->add_option("model", args->model, "A .kir or .onnx file, - for stdin, or zoo:NAME")->required();
  cmd->add_option("-o,--output", args->output_dir, "Output directory (created; files in it are replaced)")->required();
  cmd->add_option("--target", args->target, "cpu (default), cuda-sm90 (H100, needs nvcc and CUTLASS) or cuda-sm80 (A100); the CUDA targets do not run batch_norm (folded into convs and gemms by the passes) or integer reductions yet")
      ->capture_default_str();
  cmd->add_option("--weights", args->weights,
                  "Weights (.safetensors, keyed by weight name, e.g. a PyTorch state_dict); "
                  "default: generated deterministically from --seed");
  cmd->add_option("--seed", args->seed, "Seed of generated weights")->capture_default_str();
  cmd->add_option("--batch", args->batch, "zoo models: make the batch dim static")->check(CLI::PositiveNumber);
  cmd->add_option("--seq", args->seq, "zoo models: make the sequence-length dim static")->check(CLI::PositiveNumber);
  cmd->add_option("--dtype", args->dtype, "zoo models: f32 (default), f16 or bf16")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}));
  cmd->add_option("--dynamic", args->dynamic,
                  "Range of a dynamic dim, NAME=MIN..MAX (NAME: a symbol, or batch / seq); repeatable");
  cmd->add_option("--bind", args->bind,
                  ".onnx models: bind a graph input to constant values, NAME=V1,V2,... (e.g. a Reshape's "
                  "shape or Slice's starts, which kiln must know at compile time); the input leaves the "
                  "library's inputs; repeatable");
  cmd->add_flag("--embed-weights", args->embed_weights, "Link the weights into model.so instead of writing model.safetensors");
  cmd->add_option("--tune", args->tune,
                  "cuda-sm90 kernel tuning: auto (cached winners; profile the rest of static shape when a GPU "
                  "is present), full (also profile kernels of a dynamic batch or sequence at bucket points of "
                  "its range and dispatch between their winners at run time: minutes for a whole model), "
                  "cache (cached winners only), off (heuristic configs)")
      ->check(CLI::IsMember({"auto", "full", "cache", "off"}))
      ->capture_default_str();
  cmd->add_option("--tuning-cache", args->tuning_cache,
                  "SQLite tuning cache (default $KILN_TUNING_CACHE, else ~/.cache/kiln/tuning.sqlite)");
  cmd->add_flag("--cuda-graphs", args->cuda_graphs,
                "CUDA targets: replay each run from a CUDA graph captured per shape, buffers and stream "
                "(KILN_CUDA_GRAPHS=0 at run time turns it off)");
  cmd->add_flag(
      "--pdl", args->pdl,
      "cuda-sm90: programmatic dependent launch: each kernel starts while the one before it "
      "finishes and waits for it on the GPU, hiding launch gaps between small kernels");
  cmd->add_option("-j,--jobs", args->jobs, "Parallel compiler processes (default: one per core)");
  cmd->add_option("--cache-dir", args->cache_dir, "Object cache (default $KILN_CACHE_DIR or ~/.cache/kiln/objects)");
  cmd->add_flag("--no-cache", args->no_cache, "Compile every object, ignoring the cache");
  cmd->add_flag("-q,--quiet", args->quiet, "Print only the final summary");
  cmd->footer(
      "Examples:\n"
      "  kiln compile zoo:resnet50 --batch 1 -o out/resnet50\n"
      "  kiln compile zoo:bert --dynamic batch=1..8 --dynamic seq=16..128 -o out/bert\n"
      "  kiln compile model.kir --weights w.safetensors -o out/model\n"
      "  kiln compile model.onnx --bind shape=1,-1 --target cuda-sm90 -o out/model\n"
      "The directory then holds model.so, model.safetensors, model.kir (the IR after the\n"
      "passes), manifest.json and src/ (the generated code). Run it with `kiln run DIR`.");
  cmd->callback([args, exit_code] {
    Status status = RunCompile(*args);
    *exit_code = status.ok() ? 0 : ReportError(status);
  });
}

}  // namespace kiln::tools
