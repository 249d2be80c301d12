// Source ops: nodes without operands that bring data into the graph.
//   weight   {name, dtype, shape}: a named parameter, data held by reference in Graph::weights()
//            (the interpreter and the backends bind it by name).
//   constant {value, dtype, shape}: a small literal; `value` holds every element row-major, or a
//            single value that fills the shape.
#include "ops/families.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

StatusOr<std::vector<TensorType>> InferSource(const Node& node) {
  const std::vector<int64_t>& shape = node.GetInts("shape");
  for (int64_t d : shape) {
    if (d < 0) return OpError(node, "negative dim in shape " + IntsToString(shape));
  }
  DType dtype = node.GetDType("dtype");
  if (dtype == DType::kF8E4M3 || dtype == DType::kF8E5M2) {
    return OpError(node, "fp8 dtypes are reserved and not supported yet");
  }
  if (node.op() == OpKind::kConstant) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    int64_t got = static_cast<int64_t>(node.GetFloats("value").size());
    if (got != n && got != 1) {
      return OpError(node, "constant of shape " + IntsToString(shape) + " needs " +
                               std::to_string(n) + " values (or 1), got " + std::to_string(got));
    }
  }
  return std::vector<TensorType>{{dtype, StaticShape(shape)}};
}

Status ConstantReference(const Node& node, std::span<const Tensor>, std::span<Tensor> outputs) {
  const std::vector<double>& values = node.GetFloats("value");
  Tensor& out = outputs[0];
  for (int64_t i = 0; i < out.numel(); ++i) out.SetF64(i, values.size() == 1 ? values[0] : values[i]);
  return Status::Ok();
}

Status WeightReference(const Node& node, std::span<const Tensor>, std::span<Tensor>) {
  // Weights are bound by name from the graph's weight map by the interpreter itself.
  return InternalError(node.Describe() + ": weights are bound by the interpreter, not computed");
}

}  // namespace

void RegisterSourceOps() {
  RegisterOp({.kind = OpKind::kWeight,
              .fusion = FusionKind::kSource,
              .min_inputs = 0,
              .max_inputs = 0,
              .attrs = {{"name", AttrKind::kString, std::nullopt},
                        {"dtype", AttrKind::kDType, std::nullopt},
                        {"shape", AttrKind::kInts, AttrValue(std::vector<int64_t>{})}},
              .infer = InferSource,
              .reference = WeightReference,
              .summary = "named parameter, data by reference from the weights file"});
  RegisterOp({.kind = OpKind::kConstant,
              .fusion = FusionKind::kSource,
              .min_inputs = 0,
              .max_inputs = 0,
              .attrs = {{"value", AttrKind::kFloats, std::nullopt},
                        {"dtype", AttrKind::kDType, std::nullopt},
                        {"shape", AttrKind::kInts, AttrValue(std::vector<int64_t>{})}},
              .infer = InferSource,
              .reference = ConstantReference,
              .summary = "small literal tensor (values inline)"});
}

}  // namespace kiln
