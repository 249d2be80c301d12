// kiln._kiln.compile and kiln._kiln.reference_eval: a model (a .kir file or KIR text, an .onnx
// file, or zoo:NAME) loaded as `kiln compile` / `kiln eval` load it (src/tools/common.h), then
// compiled into a library (src/compiler/compile.h) or run with the reference interpreter
// (src/ops/interpreter.h). Weights come from a safetensors file, from a dict of DLPack tensors
// (borrowed, not copied: the PyTorch frontend passes a module's parameters this way), or are
// generated from a seed.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "compiler/compile.h"
#include "errors.h"
#include "ir/parser.h"
#include "ir/verifier.h"
#include "ndarray_util.h"
#include "ops/interpreter.h"
#include "tools/common.h"
#include "tools/io.h"

namespace nb = nanobind;

namespace kiln::python {
namespace {

// Where the model comes from and how its weights are found (the keyword arguments shared by
// compile and reference_eval).
struct ModelSource {
  std::string model;  // a path, zoo:NAME, or KIR text when `text`
  bool text = false;
  std::string source_name;  // for parse errors of KIR text
  std::string weights_path;
  nb::object weights;  // None or a dict name -> tensor
  uint64_t seed = 0;
  std::optional<int64_t> batch, seq;
  std::string dtype = "f32";
  std::map<std::string, std::pair<int64_t, int64_t>> dynamic;
  std::map<std::string, std::string> bind;  // .onnx: graph input -> comma-separated values
};

// Borrowed weights from a dict of host tensors, each checked against its `weight` node.
std::shared_ptr<TensorMap> WeightsFromDict(const Graph& graph, const nb::dict& dict) {
  auto weights = std::make_shared<TensorMap>();
  for (auto [key, value] : dict) {
    std::string name = nb::cast<std::string>(key);
    RoArray array;
    if (!nb::try_cast(value, array, /*convert=*/false)) {
      throw nb::type_error(("weight '" + name + "': expected a tensor, got " +
                            std::string(nb::type_name(value.type()).c_str()))
                               .c_str());
    }
    if (array.device_type() != nb::device::cpu::value) {
      throw nb::value_error(
          ("weight '" + name + "' is on " + DeviceName(array) + "; weights are read on the host")
              .c_str());
    }
    (*weights)[name] = BorrowTensor(array, "weight '" + name + "'");
  }
  for (const auto& node : graph.nodes()) {
    if (node->op() != OpKind::kWeight) continue;
    const std::string& name = node->GetString("name");
    auto it = weights->find(name);
    if (it == weights->end()) {
      ThrowStatus(InvalidArgument("weights: no tensor for the graph's weight '" + name + "'"));
    }
    DType dtype = node->GetDType("dtype");
    const std::vector<int64_t>& shape = node->GetInts("shape");
    if (it->second.dtype() != dtype || it->second.shape() != shape) {
      Tensor expected = Tensor::Borrow(dtype, shape, nullptr, nullptr);
      ThrowStatus(InvalidArgument("weight '" + name + "': expected " + expected.TypeString() +
                                  ", got " + it->second.TypeString()));
    }
  }
  return weights;
}

Status ApplyDynamic(Graph& graph, const std::string& spec_name, int64_t lo, int64_t hi) {
  std::string name = spec_name;
  if (!graph.symbols().count(name) && (name == "batch" || name == "seq")) {
    for (const auto& [sym, range] : graph.symbols()) {
      if (name == "batch" ? tools::IsBatchSymbol(sym) : tools::IsSeqSymbol(sym)) name = sym;
    }
  }
  return graph.SetSymbolRange(name, lo, hi)
      .WithContext("dynamic " + spec_name + "=" + std::to_string(lo) + ".." + std::to_string(hi));
}

Graph LoadGraph(const ModelSource& src) {
  Graph graph = [&] {
    if (src.text) {
      if (!src.bind.empty()) {
        ThrowStatus(InvalidArgument("bind applies to .onnx models only (it binds ONNX graph inputs)"));
      }
      Graph g = ValueOrThrow(ParseGraph(src.model, src.source_name));
      Status verified = Verify(g);
      if (!verified.ok()) ThrowStatus(verified.WithContext(src.source_name));
      return g;
    }
    tools::ModelOptions options;
    options.weights_path = src.weights_path;
    options.seed = src.seed;
    options.with_weights = src.weights.is_none();
    options.onnx_bound_values = src.bind;
    if (tools::IsZooRef(src.model)) {
      options.batch = src.batch;
      options.seq = src.seq;
      std::optional<DType> dtype = ParseDType(src.dtype);
      if (!dtype) ThrowStatus(InvalidArgument("unknown dtype '" + src.dtype + "'"));
      options.dtype = *dtype;
    } else if (src.batch || src.seq) {
      ThrowStatus(
          InvalidArgument("batch and seq apply to zoo:NAME models only (use dynamic= "
                          "to set the range of a symbol)"));
    }
    return ValueOrThrow(tools::LoadModel(src.model, options));
  }();
  if (src.text && src.weights.is_none()) {
    ThrowIfError(tools::AttachWeights(graph, src.weights_path, src.seed));
  }
  if (!src.weights.is_none()) {
    if (!src.weights_path.empty()) {
      ThrowStatus(InvalidArgument("give weights or weights_path, not both"));
    }
    graph.set_weights(WeightsFromDict(graph, nb::cast<nb::dict>(src.weights)));
  }
  for (const auto& [name, range] : src.dynamic) {
    ThrowIfError(ApplyDynamic(graph, name, range.first, range.second));
  }
  return graph;
}

// Calls into Python from the compiler's threads; the first Python exception is kept and raised
// when the compile returns.
class Callbacks {
 public:
  Callbacks(nb::object log, nb::object progress)
      : log_(std::move(log)), progress_(std::move(progress)) {}

  void Log(std::string_view line) {
    if (log_.is_none()) return;
    Call([&] { log_(std::string(line)); });
  }
  void Progress(const BuildEvent& e) {
    if (progress_.is_none()) return;
    const char* kind = e.kind == BuildEvent::Kind::kCached   ? "cached"
                       : e.kind == BuildEvent::Kind::kFailed ? "failed"
                                                             : "compiled";
    std::string file = e.job ? e.job->source_path : "";
    file = file.substr(file.rfind('/') + 1);
    Call([&] { progress_(e.finished, e.total, kind, file); });
  }
  void RaiseIfFailed() {
    if (error_) {
      nb::python_error e = std::move(*error_);
      error_.reset();
      throw e;
    }
  }

 private:
  template <typename F>
  void Call(F&& f) {
    std::lock_guard<std::mutex> lock(mutex_);
    nb::gil_scoped_acquire gil;
    if (error_) return;
    try {
      f();
    } catch (nb::python_error& e) {
      error_.emplace(std::move(e));
    }
  }

  nb::object log_, progress_;
  std::mutex mutex_;
  std::optional<nb::python_error> error_;
};

nb::dict CompileModel(const ModelSource& src, const std::string& output_dir,
                      const std::string& target, bool embed_weights, bool cuda_graphs, bool pdl,
                      const std::string& tune, const std::string& tuning_cache, int jobs,
                      const std::string& cache_dir, bool use_cache, nb::object log,
                      nb::object progress) {
  ThrowIfError(CheckTarget(target));
  Graph graph = LoadGraph(src);
  CompileOptions options;
  options.target = target;
  options.output_dir = output_dir;
  options.embed_weights = embed_weights;
  options.cuda_graphs = cuda_graphs;
  options.pdl = pdl;
  if (tune == "auto") {
    options.tune = TuneMode::kAuto;
  } else if (tune == "full") {
    options.tune = TuneMode::kFull;
  } else if (tune == "cache") {
    options.tune = TuneMode::kCacheOnly;
  } else if (tune == "off") {
    options.tune = TuneMode::kOff;
  } else {
    ThrowStatus(InvalidArgument("tune='" + tune + "': expected 'auto', 'full', 'cache' or 'off'"));
  }
  options.tuning_cache = tuning_cache;
  options.jobs = jobs;
  options.cache_dir = cache_dir;
  options.use_cache = use_cache;
  auto callbacks = std::make_shared<Callbacks>(std::move(log), std::move(progress));
  options.log = [callbacks](std::string_view line) { callbacks->Log(line); };
  options.build_progress = [callbacks](const BuildEvent& e) { callbacks->Progress(e); };
  int nodes = static_cast<int>(graph.nodes().size());
  callbacks->Log("compiling graph @" + graph.name() + " (" + std::to_string(nodes) +
                 " nodes) for " + target);
  StatusOr<CompileResult> result = [&] {
    nb::gil_scoped_release release;
    return Compile(graph, options);
  }();
  callbacks->RaiseIfFailed();
  CompileResult r = ValueOrThrow(std::move(result));
  nb::dict d;
  d["target"] = r.target;
  d["library_path"] = r.library_path;
  d["weights_path"] = r.weights_path;
  d["ir_path"] = r.ir_path;
  d["source_dir"] = r.source_dir;
  d["graph"] = graph.name();
  d["nodes_in"] = r.nodes_in;
  d["nodes_out"] = r.nodes_out;
  d["kernels"] = r.kernels;
  d["shared_functions"] = r.shared_functions;
  d["kernel_calls"] = r.kernel_calls;
  d["workspace_bytes"] = r.plan.workspace_bytes;
  d["scratch_bytes"] = r.plan.scratch_bytes;
  // A workspace that scales with a symbol ("" for none): a run with it at v takes
  // workspace_unit_bytes * v + workspace_fixed_bytes + scratch_bytes.
  d["workspace_scale_symbol"] = r.plan.scale_symbol;
  d["workspace_unit_bytes"] = r.plan.unit_bytes;
  d["workspace_fixed_bytes"] = r.plan.fixed_bytes;
  d["objects_compiled"] = r.build.compiled;
  d["objects_cached"] = r.build.cached;
  d["seconds_passes"] = r.seconds_passes;
  d["seconds_codegen"] = r.seconds_codegen;
  d["seconds_build"] = r.seconds_build;
  d["summary"] = FormatCompileSummary(graph, r);
  return d;
}

nb::list ReferenceEval(const ModelSource& src, const nb::list& inputs) {
  Graph graph = LoadGraph(src);
  std::vector<Tensor> tensors;
  for (size_t i = 0; i < nb::len(inputs); ++i) {
    std::string what = "input " + std::to_string(i);
    if (i < graph.inputs().size()) what = "input " + graph.inputs()[i]->name();
    RoArray array;
    if (!nb::try_cast(inputs[i], array, /*convert=*/false)) {
      throw nb::type_error((what + ": expected a host tensor (numpy array), got " +
                            std::string(nb::type_name(inputs[i].type()).c_str()))
                               .c_str());
    }
    if (array.device_type() != nb::device::cpu::value) {
      throw nb::value_error(
          (what + " is on " + DeviceName(array) + "; the reference interpreter runs on the host")
              .c_str());
    }
    tensors.push_back(BorrowTensor(array, what));
  }
  if (tensors.size() != graph.inputs().size()) {
    ThrowStatus(InvalidArgument("graph @" + graph.name() + " takes " +
                                std::to_string(graph.inputs().size()) + " inputs, got " +
                                std::to_string(tensors.size())));
  }
  StatusOr<std::vector<Tensor>> outputs = [&] {
    nb::gil_scoped_release release;
    return Interpret(graph, tensors);
  }();
  nb::list result;
  for (Tensor& t : ValueOrThrow(std::move(outputs))) {
    // Outputs may borrow the weights or inputs (an output that is a weight): own them.
    result.append(ToNumpy(t.Clone()));
  }
  return result;
}

ModelSource MakeSource(std::string model, bool text, std::string source_name,
                       std::string weights_path, nb::object weights, uint64_t seed,
                       std::optional<int64_t> batch, std::optional<int64_t> seq, std::string dtype,
                       nb::dict dynamic, nb::dict bind) {
  ModelSource src;
  src.model = std::move(model);
  src.text = text;
  src.source_name = std::move(source_name);
  src.weights_path = std::move(weights_path);
  src.weights = std::move(weights);
  src.seed = seed;
  src.batch = batch;
  src.seq = seq;
  src.dtype = std::move(dtype);
  for (auto [key, value] : dynamic) {
    src.dynamic[nb::cast<std::string>(key)] = nb::cast<std::pair<int64_t, int64_t>>(value);
  }
  for (auto [key, value] : bind) src.bind[nb::cast<std::string>(key)] = nb::cast<std::string>(value);
  return src;
}

}  // namespace

void BindCompile(nb::module_& m) {
  m.def(
      "compile",
      [](std::string model, std::string output_dir, bool text, std::string source_name,
         std::string target, nb::dict dynamic, std::string weights_path, nb::object weights,
         uint64_t seed, std::optional<int64_t> batch, std::optional<int64_t> seq, std::string dtype,
         bool embed_weights, bool cuda_graphs, bool pdl, std::string tune, std::string tuning_cache,
         int jobs, std::string cache_dir, bool use_cache, nb::object log, nb::object progress,
         nb::dict bind) {
        ModelSource src = MakeSource(std::move(model), text, std::move(source_name),
                                     std::move(weights_path), std::move(weights), seed, batch, seq,
                                     std::move(dtype), std::move(dynamic), std::move(bind));
        return CompileModel(src, output_dir, target, embed_weights, cuda_graphs, pdl, tune,
                            tuning_cache, jobs, cache_dir, use_cache, std::move(log),
                            std::move(progress));
      },
      nb::arg("model"), nb::arg("output_dir"), nb::kw_only(), nb::arg("text") = false,
      nb::arg("source_name") = "<text>", nb::arg("target") = "cpu", nb::arg("dynamic") = nb::dict(),
      nb::arg("weights_path") = "", nb::arg("weights") = nb::none(), nb::arg("seed") = 0,
      nb::arg("batch") = nb::none(), nb::arg("seq") = nb::none(), nb::arg("dtype") = "f32",
      nb::arg("embed_weights") = false, nb::arg("cuda_graphs") = false, nb::arg("pdl") = false,
      nb::arg("tune") = "auto", nb::arg("tuning_cache") = "", nb::arg("jobs") = 0,
      nb::arg("cache_dir") = "", nb::arg("use_cache") = true, nb::arg("log") = nb::none(),
      nb::arg("progress") = nb::none(), nb::arg("bind") = nb::dict(),
      "Compiles a model into output_dir (model.so, model.safetensors, model.kir, src/); returns a "
      "dict describing the result.");
  m.def(
      "reference_eval",
      [](std::string model, nb::list inputs, bool text, std::string source_name,
         std::string weights_path, nb::object weights, uint64_t seed, std::optional<int64_t> batch,
         std::optional<int64_t> seq, std::string dtype, nb::dict dynamic, nb::dict bind) {
        ModelSource src = MakeSource(std::move(model), text, std::move(source_name),
                                     std::move(weights_path), std::move(weights), seed, batch, seq,
                                     std::move(dtype), std::move(dynamic), std::move(bind));
        return ReferenceEval(src, inputs);
      },
      nb::arg("model"), nb::arg("inputs"), nb::kw_only(), nb::arg("text") = false,
      nb::arg("source_name") = "<text>", nb::arg("weights_path") = "",
      nb::arg("weights") = nb::none(), nb::arg("seed") = 0, nb::arg("batch") = nb::none(),
      nb::arg("seq") = nb::none(), nb::arg("dtype") = "f32", nb::arg("dynamic") = nb::dict(),
      nb::arg("bind") = nb::dict(),
      "Runs a model with kiln's reference interpreter on host tensors; returns numpy arrays.");
}

}  // namespace kiln::python
