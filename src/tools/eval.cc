// `kiln eval MODEL`: runs a model with the CPU reference interpreter on inputs from a safetensors
// file or on deterministic random inputs, and prints a summary of every output.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "models/weights.h"
#include "ops/interpreter.h"
#include "support/safetensors.h"
#include "tools/common.h"

namespace kiln::tools {
namespace {

struct EvalArgs {
  std::string model;
  std::string weights;
  uint64_t seed = 0;
  std::string inputs;
  bool random = false;
  std::optional<int64_t> batch;
  std::optional<int64_t> seq;
  std::string save;
  std::optional<std::string> dtype;
};

constexpr int64_t kDefaultBatch = 1;
constexpr int64_t kDefaultSeq = 128;
constexpr int64_t kIntInputLimit = 1000;  // random integer inputs (token ids) are in [0, 1000)

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool IsBatchSymbol(const std::string& name) {
  std::string n = Lower(name);
  return n == "n" || n == "b" || n == "bs" || n == "batch" || n == "batch_size";
}

bool IsSeqSymbol(const std::string& name) {
  std::string n = Lower(name);
  return n == "s" || n == "l" || n == "t" || n == "seq" || n == "seq_len" || n == "seqlen" ||
         n == "sequence" || n == "sequence_length";
}

// Values for the graph's symbols when inputs are generated: --batch / --seq for the symbols that
// look like a batch or sequence length (defaults clamped into the declared range), the range's
// minimum for any other symbol. Explicit values are not clamped: BindInputs reports them.
SymbolBindings ChooseSymbols(const Graph& graph, const EvalArgs& args) {
  SymbolBindings bindings;
  for (const auto& [name, range] : graph.symbols()) {
    int64_t value = range.min;
    if (IsBatchSymbol(name)) {
      value = args.batch.value_or(std::clamp(kDefaultBatch, range.min, range.max));
    } else if (IsSeqSymbol(name)) {
      value = args.seq.value_or(std::clamp(kDefaultSeq, range.min, range.max));
    }
    bindings[name] = value;
  }
  return bindings;
}

// splitmix64: a tiny, well-mixed generator whose output is the same on every platform (unlike
// the std distributions), so --random inputs are reproducible everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [-1, 1).
  double Symmetric() { return static_cast<double>(Next() >> 11) * 0x1.0p-52 - 1.0; }

 private:
  uint64_t state_;
};

// One input: floats uniform in [-1, 1], integers uniform in [0, 1000) (clipped to the type),
// bools random; anything named like a mask is all ones. Seeded by --seed and the input's name.
StatusOr<Tensor> RandomInput(const Value& input, const SymbolBindings& bindings, uint64_t seed) {
  StatusOr<std::vector<int64_t>> shape = EvaluateShape(input.shape(), bindings);
  if (!shape.ok()) return shape.status().WithContext("input %" + input.name());
  int64_t numel = 1;
  for (int64_t d : *shape) numel *= d;
  std::vector<double> values(static_cast<size_t>(numel), 1.0);
  if (Lower(input.name()).find("mask") == std::string::npos) {
    Rng rng(WeightSeed(input.name(), seed));
    int64_t int_limit = kIntInputLimit;
    if (input.dtype() == DType::kI8) int_limit = 128;
    if (input.dtype() == DType::kU8) int_limit = 256;
    if (input.dtype() == DType::kBool) int_limit = 2;
    bool integral = IsInteger(input.dtype()) || input.dtype() == DType::kBool;
    for (double& v : values) {
      v = integral ? static_cast<double>(rng.Next() % static_cast<uint64_t>(int_limit))
                   : rng.Symmetric();
    }
  }
  return Tensor::FromF64(input.dtype(), *shape, values);
}

StatusOr<std::vector<Tensor>> MakeInputs(const Graph& graph, const EvalArgs& args) {
  std::vector<Tensor> inputs;
  if (args.inputs.empty()) {
    SymbolBindings bindings = ChooseSymbols(graph, args);
    for (const Value* in : graph.inputs()) {
      KILN_ASSIGN_OR_RETURN(Tensor t, RandomInput(*in, bindings, args.seed));
      inputs.push_back(std::move(t));
    }
  } else {
    KILN_ASSIGN_OR_RETURN(TensorMap file, LoadSafetensors(args.inputs));
    for (const Value* in : graph.inputs()) {
      auto it = file.find(in->name());
      if (it == file.end()) {
        std::string have;
        for (const auto& [name, t] : file) have += (have.empty() ? "" : ", ") + name;
        return NotFound("input '" + in->name() + "' (" + in->type().ToString() +
                        ") is missing from " + args.inputs + " (it has: " +
                        (have.empty() ? "no tensors" : have) + ")");
      }
      inputs.push_back(it->second);
    }
  }
  // Bind here rather than inside Interpret so a wrong shape or dtype names the inputs' origin.
  StatusOr<SymbolBindings> bound = BindInputs(graph, inputs);
  if (!bound.ok()) {
    return bound.status().WithContext(args.inputs.empty() ? "random inputs" : args.inputs);
  }
  return inputs;
}

std::string FormatValue(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

// "%name  f32[1,1000]  min=.. max=.. mean=..  first=[..]", then top-5 classes of [N,1000] logits.
void PrintOutput(const std::string& name, const Tensor& t) {
  std::vector<double> v = t.ToF64();
  std::printf("%%%s  %s", name.c_str(), t.TypeString().c_str());
  if (v.empty()) {
    std::printf("  (empty)\n");
    return;
  }
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0;
  int64_t nans = 0;
  for (double x : v) {
    if (std::isnan(x)) {
      ++nans;
      continue;
    }
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    sum += x;
  }
  int64_t finite = static_cast<int64_t>(v.size()) - nans;
  std::printf("  min=%s max=%s mean=%s", FormatValue(lo).c_str(), FormatValue(hi).c_str(),
              FormatValue(finite ? sum / static_cast<double>(finite) : NAN).c_str());
  if (nans) std::printf(" nan=%lld", static_cast<long long>(nans));
  std::printf("  first=[");
  for (size_t i = 0; i < std::min<size_t>(5, v.size()); ++i) {
    std::printf("%s%s", i ? ", " : "", FormatValue(v[i]).c_str());
  }
  std::printf("]\n");

  if (name != "logits" || t.rank() != 2 || t.dim(1) != 1000) return;
  constexpr int64_t kMaxRows = 8;
  for (int64_t row = 0; row < std::min(t.dim(0), kMaxRows); ++row) {
    std::vector<int64_t> idx(1000);
    std::iota(idx.begin(), idx.end(), 0);
    const double* r = v.data() + row * 1000;
    std::partial_sort(idx.begin(), idx.begin() + 5, idx.end(),
                      [r](int64_t a, int64_t b) { return r[a] > r[b]; });
    std::printf("  top-5 classes (row %lld): %lld %lld %lld %lld %lld\n",
                static_cast<long long>(row), static_cast<long long>(idx[0]),
                static_cast<long long>(idx[1]), static_cast<long long>(idx[2]),
                static_cast<long long>(idx[3]), static_cast<long long>(idx[4]));
  }
  if (t.dim(0) > kMaxRows) {
    std::printf("  (top-5 of the first %d rows only)\n", static_cast<int>(kMaxRows));
  }
}

Status RunEval(const EvalArgs& args) {
  bool zoo = IsZooRef(args.model);
  if (!zoo && args.dtype) {
    return InvalidArgument("--dtype applies to zoo:NAME models only (a .kir file declares its "
                           "own dtypes)");
  }
  ModelOptions options;
  options.with_weights = true;
  options.weights_path = args.weights;
  options.seed = args.seed;
  if (zoo) {
    // Zoo models take batch/seq at build time; a .kir file uses them to bind its symbols.
    options.batch = args.batch;
    options.seq = args.seq;
    options.dtype = ParseDType(args.dtype.value_or("f32")).value_or(DType::kF32);
  }
  KILN_ASSIGN_OR_RETURN(Graph graph, LoadModel(args.model, options));
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> inputs, MakeInputs(graph, args));

  std::string origin = args.inputs.empty() ? "random, seed " + std::to_string(args.seed)
                                           : "from " + args.inputs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::printf("input %%%s  %s  (%s)\n", graph.inputs()[i]->name().c_str(),
                inputs[i].TypeString().c_str(), origin.c_str());
  }

  auto start = std::chrono::steady_clock::now();
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, Interpret(graph, inputs));
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count();

  TensorMap saved;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string& name = graph.outputs()[i]->name();
    PrintOutput(name, outputs[i]);
    saved[name] = outputs[i];
  }
  std::printf("time: %.2f ms (reference interpreter, CPU)\n", ms);
  if (!args.save.empty()) {
    KILN_RETURN_IF_ERROR(SaveSafetensors(args.save, saved));
    std::printf("saved %zu outputs to %s\n", saved.size(), args.save.c_str());
  }
  return Status::Ok();
}

}  // namespace

void AddEvalCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Run a model with the CPU reference interpreter and summarise its outputs");
  cmd->add_option("model", args->model, "A .kir file, - for stdin, or zoo:NAME")->required();
  cmd->add_option("--weights", args->weights,
                  "Weights (.safetensors, keyed by weight name); default: generated "
                  "deterministically from --seed");
  cmd->add_option("--seed", args->seed, "Seed of generated weights and random inputs")
      ->capture_default_str();
  CLI::Option* inputs = cmd->add_option(
      "--inputs", args->inputs, "Inputs (.safetensors, keyed by graph input name)");
  CLI::Option* random = cmd->add_flag(
      "--random", args->random,
      "Random inputs (the default): floats in [-1,1], integers in [0,1000), *mask* inputs ones");
  inputs->excludes(random);
  cmd->add_option("--batch", args->batch,
                  "Batch size (zoo: built static; .kir: binds a batch-like symbol; default 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seq", args->seq,
                  "Sequence length (zoo: built static; .kir: binds a seq-like symbol; default "
                  "128)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--save", args->save, "Write the outputs (.safetensors, keyed by output name)");
  cmd->add_option("--dtype", args->dtype, "zoo models: f32 (default), f16 or bf16")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}));
  cmd->footer(
      "Examples:\n"
      "  kiln eval zoo:resnet50 --random --batch 1\n"
      "  kiln eval zoo:bert --seq 64 --save out.safetensors\n"
      "  kiln eval model.kir --weights w.safetensors --inputs in.safetensors\n"
      "Other symbols of a .kir file take the minimum of their declared range.");
  cmd->callback([args, exit_code] {
    Status status = RunEval(*args);
    *exit_code = status.ok() ? 0 : ReportError(status);
  });
}

}  // namespace kiln::tools
