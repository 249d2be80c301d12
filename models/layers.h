// Shared building blocks of the zoo models (internal to models/): a Builder that records every
// weight's spec as it is declared, and PyTorch-module-like helpers (Linear, Conv2d, BatchNorm2d,
// LayerNorm) that declare their parameters under the module's state_dict prefix.
#ifndef KILN_MODELS_LAYERS_H_
#define KILN_MODELS_LAYERS_H_

#include <string>
#include <utility>
#include <vector>

#include "ir/builder.h"
#include "models/weights.h"
#include "models/zoo.h"

namespace kiln {

/// A zoo model's graph before its weights are materialised, plus the specs of those weights.
struct BuiltModel {
  Graph graph;
  std::vector<WeightSpec> weights;
};

class ModelBuilder {
 public:
  ModelBuilder(std::string graph_name, DType dtype);

  Builder& b() { return b_; }
  /// The model's float dtype (weights and activations).
  DType dtype() const { return dtype_; }
  /// The batch dim: static, or symbol `N` in [1, max_batch].
  Dim Batch(const ZooOptions& options);

  /// Declares weight `name` of the model dtype and records how to generate it.
  Value* Param(const std::string& name, std::vector<int64_t> shape, WeightInit init,
               int64_t fan_in = 1);

  /// nn.Linear(in, out) at `prefix`: x @ weight^T + bias, weight [out, in], bias [out].
  Value* Linear(const std::string& prefix, Value* x, int64_t in, int64_t out);
  /// nn.Conv2d (NCHW, OIHW weight [out, in, k, k]) at `prefix`; with `bias`, prefix.bias [out].
  Value* Conv2d(const std::string& prefix, Value* x, int64_t in, int64_t out, int64_t kernel,
                int64_t stride, int64_t pad, bool bias);
  /// nn.BatchNorm2d(channels) in eval mode at `prefix` (weight, bias, running_mean,
  /// running_var), on NCHW.
  Value* BatchNorm2d(const std::string& prefix, Value* x, int64_t channels, double eps = 1e-5);
  /// nn.LayerNorm(dim) over the last axis at `prefix`.
  Value* LayerNorm(const std::string& prefix, Value* x, int64_t dim, double eps);

  /// Makes `v` a graph output called `name` (output names are what `kiln eval --save` and module
  /// I/O are keyed by).
  void Output(Value* v, const std::string& name);

  /// The graph (first builder error if any) and the weight specs.
  StatusOr<BuiltModel> Finish();

 private:
  Builder b_;
  DType dtype_;
  std::vector<WeightSpec> specs_;
  Status status_;
};

/// x[start:end] along `axis` (ends may be symbolic).
Value* SliceAxis(Builder& b, Value* x, int64_t axis, Dim start, Dim end);

/// The most negative finite value of a float dtype (torch.finfo(dtype).min).
double LowestFinite(DType dtype);

/// Returns InvalidArgument naming `what` unless `value` >= `min`.
Status CheckAtLeast(const std::string& what, int64_t value, int64_t min);

// The zoo's models, one file each (models/<name>.cc); registered in zoo.cc.
StatusOr<BuiltModel> BuildResNet50(const ZooOptions& options);
StatusOr<BuiltModel> BuildBert(const ZooOptions& options);
StatusOr<BuiltModel> BuildVit(const ZooOptions& options);
StatusOr<BuiltModel> BuildMlp(const ZooOptions& options);
StatusOr<BuiltModel> BuildTinyCnn(const ZooOptions& options);

}  // namespace kiln

#endif  // KILN_MODELS_LAYERS_H_
