#include "compiler/compile.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "build/object_cache.h"
#include "build/sha256.h"
#include "build/subprocess.h"
#include "build/toolchain.h"
#include "codegen/cpu/cpu_target.h"
#include "codegen/cuda/conv_tuning.h"
#include "codegen/cuda/cuda_target.h"
#include "codegen/cuda/gemm_tuning.h"
#include "codegen/module_emitter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/pipeline.h"
#include "support/format.h"
#include "support/safetensors.h"

namespace kiln {
namespace fs = std::filesystem;

namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Status WriteFile(const fs::path& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) return InvalidArgument("cannot write " + path.string());
  return Status::Ok();
}

StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFound("cannot read " + path.string());
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// The -march the host compiler picks for "native", resolved to its name ("skylake-avx512") so
// that object-cache keys differ between machines with different CPUs. Empty if unknown.
std::string NativeArch(const Toolchain& tc) {
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  std::lock_guard lock(mu);
  if (auto it = cache.find(tc.compiler); it != cache.end()) return it->second;
  std::string arch;
  StatusOr<SubprocessResult> r = RunSubprocess({tc.compiler, "-march=native", "-Q", "--help=target"});
  if (r.ok() && r->exit_code == 0) {
    size_t pos = r->output.find("-march=");
    if (pos != std::string::npos) {
      size_t begin = r->output.find_first_not_of(" \t", pos + 7);
      size_t end = r->output.find_first_of(" \t\n", begin);
      if (begin != std::string::npos) arch = r->output.substr(begin, end - begin);
    }
  }
  return cache[tc.compiler] = arch;
}

// Sorted *.cc / *.h files of `dir`.
std::vector<fs::path> ListFiles(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().extension() == ext) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Writes the library's weights (those the generated code binds) to `path`.
Status WriteWeights(const Graph& graph, const std::vector<std::string>& names, const std::string& path) {
  TensorMap out;
  for (const std::string& name : names) {
    const Tensor* t = nullptr;
    if (graph.weights() != nullptr) {
      auto it = graph.weights()->find(name);
      if (it != graph.weights()->end()) t = &it->second;
    }
    if (t == nullptr) {
      return NotFound("weight \"" + name + "\" has no data: compiling needs every weight (give "
                      "--weights FILE.safetensors, or use a zoo model)");
    }
    out.emplace(name, *t);
  }
  return SaveSafetensors(path, out, {{"format", "kiln"}, {"graph", graph.name()}});
}

// How one target's libraries are built: compiler and flags, where its shipped runtime sources
// are, and what the link adds.
struct TargetBuild {
  Toolchain toolchain;
  std::vector<fs::path> runtime_dirs;  // *.cc / *.cu / *.h here go into every library
  std::vector<std::string> link_flags;
  std::string description;  // for the progress line
};

// The CUTLASS include directory: $KILN_CUTLASS_DIR, else the one kiln was configured with.
StatusOr<std::string> CutlassDir() {
  std::string dir;
  if (const char* env = std::getenv("KILN_CUTLASS_DIR"); env != nullptr && *env != '\0') dir = env;
#ifdef KILN_CUTLASS_DIR
  if (dir.empty()) dir = KILN_CUTLASS_DIR;
#endif
  if (dir.empty() || !fs::exists(fs::path(dir) / "cutlass/cutlass.h")) {
    return NotFound("CUTLASS headers not found" + (dir.empty() ? std::string() : " in " + dir) +
                    ": set KILN_CUTLASS_DIR to the include directory of CUTLASS 4.2 (scripts/setup "
                    "installs it into .venv)");
  }
  return dir;
}

// CUTLASS's tools/util/include (cutlass/util/packed_stride.hpp, which the 3.x conv collectives
// include): $KILN_CUTLASS_UTIL_DIR, else beside the include directory as the PyPI wheel
// (../tools/util/include) or the device carry (../util/include) lays it out; "" when absent.
std::string CutlassUtilDir(const std::string& include_dir) {
  if (const char* env = std::getenv("KILN_CUTLASS_UTIL_DIR"); env != nullptr && *env != '\0') return env;
  for (const char* rel : {"../tools/util/include", "../util/include"}) {
    const fs::path dir = fs::path(include_dir) / rel;
    if (fs::exists(dir / "cutlass/util/packed_stride.hpp")) return dir.lexically_normal().string();
  }
  return "";
}

StatusOr<TargetBuild> MakeTargetBuild(const std::string& target, const std::string& root,
                                      bool pdl) {
  TargetBuild t;
  const fs::path common = fs::path(root) / "src/codegen/runtime_src";
  if (target == "cpu") {
    KILN_ASSIGN_OR_RETURN(t.toolchain, FindHostCompiler());
    std::string arch = NativeArch(t.toolchain);
    t.toolchain.flags.push_back("-O3");
    if (!arch.empty()) t.toolchain.flags.push_back("-march=" + arch);
    for (const char* f : {"-fvisibility=hidden", "-fopenmp", "-w"}) t.toolchain.flags.push_back(f);
    t.runtime_dirs = {common, fs::path(root) / "src/codegen/cpu/runtime_src"};
    t.link_flags = {"-ldnnl", "-Wl,--exclude-libs,ALL", "-Wl,-z,defs"};
    t.description = t.toolchain.compiler + (arch.empty() ? "" : " -march=" + arch);
  } else {
    KILN_ASSIGN_OR_RETURN(t.toolchain, FindNvcc());
    KILN_ASSIGN_OR_RETURN(std::string cutlass, CutlassDir());
    const std::string gencode = target == "cuda-sm80" ? "-gencode=arch=compute_80,code=sm_80"
                                                      : "-gencode=arch=compute_90a,code=sm_90a";
    for (const std::string& f : {gencode, std::string("--extended-lambda"), std::string("--expt-relaxed-constexpr"),
                                 std::string("-Xcompiler=-fvisibility=hidden"), std::string("-DNDEBUG"),
                                 std::string("-w"), "-I" + cutlass}) {
      t.toolchain.flags.push_back(f);
    }
    if (const std::string util = CutlassUtilDir(cutlass); !util.empty()) t.toolchain.flags.push_back("-I" + util);
    if (pdl) {  // kiln's kernels and CUTLASS's sm90 gemms wait on griddepcontrol (kiln_cuda.cuh)
      t.toolchain.flags.push_back("-DKILN_PDL=1");
      t.toolchain.flags.push_back("-DCUTLASS_ENABLE_GDC_FOR_SM90");
    }
    t.runtime_dirs = {common, fs::path(root) / "src/codegen/cuda/runtime_src"};
    t.link_flags = {"-Xlinker=--exclude-libs,ALL"};
    t.description = t.toolchain.compiler + " " + gencode;
  }
  for (const fs::path& inc : t.runtime_dirs) t.toolchain.flags.push_back("-I" + inc.string());
  t.toolchain.flags.push_back("-I" + (fs::path(root) / "include").string());
  return t;
}

// Compiles the runtime sources and the generated ones and links the library.
Status BuildLibrary(const codegen::GeneratedModule& module, const fs::path& out_dir,
                    const std::string& root, const CompileOptions& options, CompileResult* result) {
  KILN_ASSIGN_OR_RETURN(TargetBuild target, MakeTargetBuild(options.target, root, options.pdl));
  const Toolchain& tc = target.toolchain;

  // The cache key covers each source's text, not the headers it includes: fold those in.
  std::string headers;
  for (const fs::path& dir : target.runtime_dirs) {
    for (const std::string ext : {".h", ".cuh"}) {
      for (const fs::path& h : ListFiles(dir, ext)) {
        KILN_ASSIGN_OR_RETURN(std::string text, ReadFile(h));
        headers += h.filename().string() + '\0' + text + '\0';
      }
    }
  }
  KILN_ASSIGN_OR_RETURN(std::string abi, ReadFile(fs::path(root) / "include/kiln/module_abi.h"));
  std::string salt = Sha256Hex(headers + abi);

  std::vector<CompileJob> jobs;
  const fs::path src = out_dir / "src", obj = out_dir / "obj";
  for (const fs::path& dir : target.runtime_dirs) {
    for (const std::string ext : {".cc", ".cu"}) {
      for (const fs::path& cc : ListFiles(dir, ext)) {
        if (cc.filename().string().ends_with("_test.cc")) continue;
        jobs.push_back({cc.string(), (obj / "runtime" / cc.filename()).replace_extension(".o").string()});
      }
    }
  }
  jobs.push_back({(src / module.model.path).string(), (obj / "model.o").string()});
  for (const auto& k : module.kernels) {
    jobs.push_back({(src / k.path).string(), (obj / k.path).replace_extension(".o").string()});
  }
  std::optional<ObjectCache> cache;
  if (options.use_cache) {
    fs::path dir = options.cache_dir;
    if (dir.empty()) {
      KILN_ASSIGN_OR_RETURN(dir, ObjectCache::DefaultDir());
    }
    cache.emplace(dir);
  }
  if (options.log) {
    options.log("building " + std::to_string(jobs.size()) + " objects (" +
                std::to_string(module.kernels.size()) + " kernels, model.cc, runtime) with " +
                target.description);
  }
  BuildOptions build{.jobs = options.jobs, .cache = cache ? &*cache : nullptr, .cache_salt = salt,
                     .progress = options.build_progress};
  KILN_ASSIGN_OR_RETURN(result->build, CompileAll(jobs, tc, build));

  std::vector<std::string> objects;
  for (const CompileJob& j : jobs) objects.push_back(j.object_path);
  if (options.embed_weights) {
    // The weights file as a read-only section; not cached (its key would be the path only).
    fs::path s = src / "weights.S";
    KILN_RETURN_IF_ERROR(WriteFile(
        s, "// The weights file linked into the library (kiln compile --embed-weights).\n"
           "  .section .rodata\n  .balign 64\n  .global kiln_embedded_weights_begin\n"
           "  .hidden kiln_embedded_weights_begin\nkiln_embedded_weights_begin:\n  .incbin \"" +
               fs::absolute(out_dir / "weights.safetensors").string() +
               "\"\n  .global kiln_embedded_weights_end\n  .hidden kiln_embedded_weights_end\n"
               "kiln_embedded_weights_end:\n  .section .note.GNU-stack,\"\",@progbits\n"));
    std::vector<CompileJob> wjob{{s.string(), (obj / "weights.o").string()}};
    KILN_ASSIGN_OR_RETURN(Toolchain host, FindHostCompiler());  // assembles .S on every target
    KILN_ASSIGN_OR_RETURN(BuildStats ws, CompileAll(wjob, host, {.jobs = 1}));
    (void)ws;
    objects.push_back(wjob[0].object_path);
  }
  if (options.log) options.log("linking " + (out_dir / "model.so").string());
  return LinkShared(objects, (out_dir / "model.so").string(), tc, target.link_flags);
}

// "4.2.0" from CUTLASS's version.h, or "unknown".
std::string CutlassVersion() {
  StatusOr<std::string> dir = CutlassDir();
  if (!dir.ok()) return "unknown";
  StatusOr<std::string> text = ReadFile(fs::path(*dir) / "cutlass/version.h");
  if (!text.ok()) return "unknown";
  auto define = [&](const std::string& name) {
    const size_t at = text->find("#define " + name + " ");
    if (at == std::string::npos) return std::string("?");
    size_t i = at + name.size() + 9;
    std::string digits;
    while (i < text->size() && std::isdigit(static_cast<unsigned char>((*text)[i]))) digits += (*text)[i++];
    return digits.empty() ? std::string("?") : digits;
  };
  return define("CUTLASS_MAJOR") + "." + define("CUTLASS_MINOR") + "." + define("CUTLASS_PATCH");
}

// The kernel configs of the tunable nodes (KernelContext::config): the forced ones when given
// (the tuner building one candidate), else the tuner's choices on cuda-sm90.
StatusOr<std::map<const Node*, std::string>> ChooseConfigs(const Graph& graph,
                                                           const CompileOptions& options,
                                                           const std::string& root,
                                                           const fs::path& out_dir,
                                                           CompileResult* result) {
  std::map<const Node*, std::string> configs;
  if (!options.forced_configs.empty()) {
    for (const auto& n : graph.nodes()) {
      if (n->outputs().empty()) continue;
      auto it = options.forced_configs.find(n->outputs()[0]->name());
      if (it != options.forced_configs.end()) configs[n.get()] = it->second;
    }
    return configs;
  }
  if (options.target != "cuda-sm90") return configs;
  TuneOptions t;
  t.mode = options.tune;
  t.cache_path = options.tuning_cache;
  t.max_candidates = options.tune_max_candidates;
  t.kiln_root = root;
  t.work_dir = (out_dir / "tuning").string();
  t.object_cache_dir = options.cache_dir;
  t.cutlass_version = CutlassVersion();
  StatusOr<Toolchain> nvcc = FindNvcc();
  t.cuda_version = nvcc.ok() ? nvcc->version : "unknown";
  t.log = options.log;
  TuneBuildFn build = [&options](const std::string& text, const std::string& node,
                                 const std::string& config,
                                 const std::string& dir) -> StatusOr<std::string> {
    KILN_ASSIGN_OR_RETURN(Graph g, ParseGraph(text, "<tuning graph>"));
    CompileOptions o;
    o.target = options.target;
    o.output_dir = dir;
    o.jobs = 2;
    o.cache_dir = options.cache_dir;
    o.use_cache = options.use_cache;
    o.tune = TuneMode::kOff;
    o.forced_configs = {{node, config}};
    KILN_ASSIGN_OR_RETURN(CompileResult r, Compile(g, o));
    return r.library_path;
  };
  // Tunable on cuda-sm90: gemm nodes and convs (the implicit GEMM, or the gemm of a 1x1 conv).
  auto task = [](const Graph& g, const Node& node) -> std::optional<codegen::TuneTask> {
    return node.op() == OpKind::kConv2d ? codegen::cuda::ConvTuneTask(g, node)
                                        : codegen::cuda::GemmTuneTask(g, node);
  };
  return TuneGraph(graph, task, build, t, &result->tuning);
}

}  // namespace

StatusOr<std::string> FindKilnRoot() {
  std::vector<std::string> tried;
  auto ok = [](const fs::path& p) {
    return fs::exists(p / "src/codegen/runtime_src/kiln_rt.h") && fs::exists(p / "include/kiln/module_abi.h");
  };
  if (const char* home = std::getenv("KILN_HOME"); home != nullptr && *home != '\0') {
    if (ok(home)) return std::string(home);
    tried.push_back(std::string(home) + " ($KILN_HOME)");
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path share = exe.parent_path().parent_path() / "share/kiln";
    if (ok(share)) return share.string();
    tried.push_back(share.string());
  }
#ifdef KILN_SOURCE_DIR
  if (ok(KILN_SOURCE_DIR)) return std::string(KILN_SOURCE_DIR);
  tried.push_back(std::string(KILN_SOURCE_DIR) + " (the source tree kiln was built from)");
#endif
  std::string list;
  for (const auto& t : tried) list += "\n  " + t;
  return NotFound("cannot find kiln's runtime sources (src/codegen/runtime_src/kiln_rt.h); set "
                  "KILN_HOME to an installed kiln's share/kiln. Tried:" + list);
}

Status CheckTarget(const std::string& target) {
  if (target == "cpu" || target == "cuda-sm90" || target == "cuda-sm80") return Status::Ok();
  return InvalidArgument("unknown target \"" + target + "\" (expected one of: cpu, cuda-sm90, cuda-sm80)");
}

StatusOr<CompileResult> Compile(Graph& graph, const CompileOptions& options) {
  KILN_RETURN_IF_ERROR(CheckTarget(options.target));
  if (options.output_dir.empty()) return InvalidArgument("no output directory given");
  const fs::path out_dir = options.output_dir;
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec || !fs::is_directory(out_dir)) {
    return InvalidArgument("cannot create output directory " + out_dir.string() +
                           (ec ? ": " + ec.message() : ": a file of that name exists"));
  }
  if (options.cuda_graphs && options.target == "cpu") {
    return InvalidArgument("CUDA graphs (--cuda-graphs) need a CUDA target, not cpu");
  }
  if (options.pdl && options.target != "cuda-sm90") {
    return InvalidArgument(
        "programmatic dependent launch (--pdl) needs the cuda-sm90 target (Hopper), not " +
        options.target);
  }
  KILN_ASSIGN_OR_RETURN(std::string root, FindKilnRoot());
  KILN_RETURN_IF_ERROR(Verify(graph));

  CompileResult result;
  result.target = options.target;
  result.nodes_in = static_cast<int>(graph.nodes().size());
  auto t0 = std::chrono::steady_clock::now();
  PassPipeline pipeline = DefaultPipeline(options.target);
  if (options.log) options.log("optimising: " + std::to_string(pipeline.Names().size()) + " passes");
  PipelineOptions popts;
  popts.verify_each = options.verify_each_pass;
  KILN_RETURN_IF_ERROR(pipeline.Run(graph, popts).status());
  KILN_RETURN_IF_ERROR(Verify(graph));
  result.nodes_out = static_cast<int>(graph.nodes().size());
  KILN_ASSIGN_OR_RETURN(result.plan, PlanMemory(graph));
  result.seconds_passes = SecondsSince(t0);

  KILN_ASSIGN_OR_RETURN(auto configs, ChooseConfigs(graph, options, root, out_dir, &result));

  auto t1 = std::chrono::steady_clock::now();
  KILN_ASSIGN_OR_RETURN(codegen::GeneratedModule module,
                        codegen::EmitModule(graph, result.plan,
                                            options.target == "cpu" ? codegen::cpu::CpuTarget()
                                                                    : codegen::cuda::CudaTarget(options.target),
                                            {.embed_weights = options.embed_weights,
                                             .cuda_graphs = options.cuda_graphs,
                                             .node_configs = configs}));
  for (const auto& k : module.kernels) {
    ++(k.path.rfind("kernels/kernel_", 0) == 0 ? result.kernels : result.shared_functions);
  }
  result.kernel_calls = module.kernel_calls;
  result.plan.scratch_bytes = module.scratch_bytes;  // after the planned buffers
  result.plan.workspace_bytes += module.scratch_bytes;
  const fs::path src = out_dir / "src";
  fs::remove_all(src / "kernels", ec);
  KILN_RETURN_IF_ERROR(WriteFile(src / module.model.path, module.model.text));
  for (const auto& k : module.kernels) KILN_RETURN_IF_ERROR(WriteFile(src / k.path, k.text));
  result.source_dir = src.string();
  result.ir_path = (out_dir / "model.kir").string();
  KILN_RETURN_IF_ERROR(WriteFile(result.ir_path, PrintGraph(graph)));
  std::string weights_file = (out_dir / (options.embed_weights ? "weights.safetensors" : "model.safetensors")).string();
  KILN_RETURN_IF_ERROR(WriteWeights(graph, module.weight_names, weights_file));
  if (!options.embed_weights) {
    result.weights_path = weights_file;
    fs::remove(out_dir / "weights.safetensors", ec);
  } else {
    fs::remove(out_dir / "model.safetensors", ec);
  }
  result.seconds_codegen = SecondsSince(t1);

  auto t2 = std::chrono::steady_clock::now();
  KILN_RETURN_IF_ERROR(BuildLibrary(module, out_dir, root, options, &result));
  if (options.embed_weights) fs::remove(weights_file, ec);
  result.seconds_build = SecondsSince(t2);
  result.library_path = (out_dir / "model.so").string();
  return result;
}

namespace {
std::string TuningLine(const TuneReport& t) {
  char line[200];
  std::snprintf(line, sizeof(line),
                "\n  tuning: %d kernels: %d from the tuning cache, %d profiled (%d candidates built, "
                "%.1f s), %d by heuristic",
                t.tunable, t.cached, t.profiled, t.candidates_built, t.seconds, t.heuristic);
  return line;
}
}  // namespace

std::string FormatCompileSummary(const Graph& graph, const CompileResult& r) {
  char times[160];
  std::snprintf(times, sizeof(times), "passes %.1f s, codegen %.1f s, build %.1f s", r.seconds_passes,
                r.seconds_codegen, r.seconds_build);
  return "compiled '" + graph.name() + "' for " + r.target + ": " + std::to_string(r.nodes_in) + " nodes -> " +
         std::to_string(r.nodes_out) + " after passes, " + std::to_string(r.kernel_calls) +
         " kernel calls (" + std::to_string(r.kernels) + " distinct kernels" +
         (r.shared_functions > 0
              ? ", " + std::to_string(r.shared_functions) + " shared instantiations"
              : std::string()) +
         ")\n  " +
         FormatPlanSummary(r.plan) + "\n  " + times + " (" + std::to_string(r.build.compiled) +
         " objects compiled, " + std::to_string(r.build.cached) + " from cache)" +
         (r.tuning.tunable > 0 ? TuningLine(r.tuning) : std::string()) + "\n  library " +
         r.library_path + (r.weights_path.empty() ? " (weights embedded)" : "\n  weights " + r.weights_path);
}

}  // namespace kiln
