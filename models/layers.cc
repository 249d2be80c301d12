#include "models/layers.h"

#include <limits>

namespace kiln {

ModelBuilder::ModelBuilder(std::string graph_name, DType dtype)
    : b_(std::move(graph_name)), dtype_(dtype) {}

Dim ModelBuilder::Batch(const ZooOptions& options) {
  if (options.batch) return Dim(*options.batch);
  return b_.Sym("N", 1, options.max_batch);
}

Value* ModelBuilder::Param(const std::string& name, std::vector<int64_t> shape, WeightInit init,
                           int64_t fan_in) {
  specs_.push_back({name, dtype_, shape, init, fan_in});
  return b_.Weight(name, dtype_, StaticShape(shape));
}

Value* ModelBuilder::Linear(const std::string& prefix, Value* x, int64_t in, int64_t out) {
  Value* w = Param(prefix + ".weight", {out, in}, WeightInit::kFanIn, in);
  Value* bias = Param(prefix + ".bias", {out}, WeightInit::kFanIn, in);
  return b_.Linear(x, w, bias);
}

Value* ModelBuilder::Conv2d(const std::string& prefix, Value* x, int64_t in, int64_t out,
                            int64_t kernel, int64_t stride, int64_t pad, bool bias) {
  int64_t fan_in = in * kernel * kernel;
  Value* w = Param(prefix + ".weight", {out, in, kernel, kernel}, WeightInit::kFanIn, fan_in);
  Conv2dOptions o{.stride = stride, .pad = pad};
  if (bias) o.epilogue = {Bias(Param(prefix + ".bias", {out}, WeightInit::kFanIn, fan_in))};
  return b_.Conv2d(x, w, o);
}

Value* ModelBuilder::BatchNorm2d(const std::string& prefix, Value* x, int64_t channels,
                                 double eps) {
  Value* scale = Param(prefix + ".weight", {channels}, WeightInit::kNormWeight);
  Value* bias = Param(prefix + ".bias", {channels}, WeightInit::kNormBias);
  Value* mean = Param(prefix + ".running_mean", {channels}, WeightInit::kRunningMean);
  Value* var = Param(prefix + ".running_var", {channels}, WeightInit::kRunningVar);
  return b_.BatchNorm(x, scale, bias, mean, var, eps, /*axis=*/1);
}

Value* ModelBuilder::LayerNorm(const std::string& prefix, Value* x, int64_t dim, double eps) {
  Value* w = Param(prefix + ".weight", {dim}, WeightInit::kNormWeight);
  Value* bias = Param(prefix + ".bias", {dim}, WeightInit::kNormBias);
  return b_.LayerNorm(x, w, bias, eps, /*axis=*/-1);
}

void ModelBuilder::Output(Value* v, const std::string& name) {
  if (v == nullptr || !status_.ok()) return;  // the builder already holds the error
  b_.Output(v, name);
}

StatusOr<BuiltModel> ModelBuilder::Finish() {
  KILN_RETURN_IF_ERROR(status_);
  KILN_ASSIGN_OR_RETURN(Graph g, b_.Finish());
  return BuiltModel{std::move(g), std::move(specs_)};
}

Value* SliceAxis(Builder& b, Value* x, int64_t axis, Dim start, Dim end) {
  SliceOptions o;
  o.starts = {start};
  o.ends = {end};
  o.axes = {axis};
  return b.Slice(x, o);
}

double LowestFinite(DType dtype) {
  switch (dtype) {
    case DType::kF16:
      return -65504.0;
    case DType::kBF16:
      return -3.3895313892515355e38;
    default:
      return std::numeric_limits<float>::lowest();
  }
}

Status CheckAtLeast(const std::string& what, int64_t value, int64_t min) {
  if (value >= min) return Status::Ok();
  return InvalidArgument(what + " must be at least " + std::to_string(min) + ", got " +
                         std::to_string(value));
}

}  // namespace kiln
