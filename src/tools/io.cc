// Inputs and outputs of the `kiln` subcommands that run models (eval, run, bench).
#include "tools/io.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "models/weights.h"
#include "ops/interpreter.h"
#include "support/safetensors.h"

namespace kiln::tools {
namespace {

constexpr int64_t kDefaultBatch = 1;
constexpr int64_t kDefaultSeq = 128;
constexpr int64_t kIntInputLimit = 1000;  // random integer inputs (token ids) are in [0, 1000)

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Values for the graph's symbols when inputs are generated: --batch / --seq for the symbols that
// look like a batch or sequence length (defaults clamped into the declared range), the range's
// minimum for any other symbol. Explicit values are not clamped: BindInputs reports them.
SymbolBindings ChooseSymbols(const Graph& graph, const InputOptions& args) {
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

}  // namespace

bool IsBatchSymbol(const std::string& name) {
  std::string n = Lower(name);
  return n == "n" || n == "b" || n == "bs" || n == "batch" || n == "batch_size";
}

bool IsSeqSymbol(const std::string& name) {
  std::string n = Lower(name);
  return n == "s" || n == "l" || n == "t" || n == "seq" || n == "seq_len" || n == "seqlen" ||
         n == "sequence" || n == "sequence_length";
}

StatusOr<std::vector<Tensor>> MakeInputs(const Graph& graph, const InputOptions& args) {
  std::vector<Tensor> inputs;
  if (args.file.empty()) {
    SymbolBindings bindings = ChooseSymbols(graph, args);
    for (const Value* in : graph.inputs()) {
      KILN_ASSIGN_OR_RETURN(Tensor t, RandomInput(*in, bindings, args.seed));
      inputs.push_back(std::move(t));
    }
  } else {
    KILN_ASSIGN_OR_RETURN(TensorMap file, LoadSafetensors(args.file));
    for (const Value* in : graph.inputs()) {
      auto it = file.find(in->name());
      if (it == file.end()) {
        std::string have;
        for (const auto& [name, t] : file) have += (have.empty() ? "" : ", ") + name;
        return NotFound("input '" + in->name() + "' (" + in->type().ToString() +
                        ") is missing from " + args.file + " (it has: " +
                        (have.empty() ? "no tensors" : have) + ")");
      }
      inputs.push_back(it->second);
    }
  }
  // Bind here rather than inside Interpret so a wrong shape or dtype names the inputs' origin.
  StatusOr<SymbolBindings> bound = BindInputs(graph, inputs);
  if (!bound.ok()) {
    return bound.status().WithContext(args.file.empty() ? "random inputs" : args.file);
  }
  return inputs;
}

namespace {

std::string FormatValue(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

}  // namespace

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


}  // namespace kiln::tools
