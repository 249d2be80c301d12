// The arg-reduce op family: arg_max / arg_min, the index of the largest / smallest element along
// one axis (ONNX ArgMax / ArgMin).
//
//   %i = arg_max(%x) {axis=1, keepdims=true, select_last_index=false} : i64[...]
//
// Output: i64, x's shape with `axis` kept as 1 (keepdims) or removed. Ties give the first index,
// or the last with select_last_index. A NaN counts as larger (arg_max) / smaller (arg_min) than
// every number and the first NaN wins, as numpy.argmax / argmin. The axis must not be empty.
#include <cmath>
#include <string>

#include "ops/families.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

StatusOr<std::vector<TensorType>> ArgInfer(const Node& node) {
  const TensorType& x = node.input(0)->type();
  if (!IsComputeFloat(x.dtype) && !IsInteger(x.dtype)) {
    return OpError(node, "operand 0 has dtype " + std::string(DTypeName(x.dtype)) +
                             ", expected a float (f32, f16, bf16) or integer dtype");
  }
  if (x.rank() == 0) return OpError(node, "operand 0 must have rank >= 1, got " + x.ToString());
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), x.rank()));
  if (x.shape[axis] == Dim(0)) {
    return OpError(node, "axis " + std::to_string(axis) + " of " + x.ToString() +
                             " is empty (no element to select)");
  }
  Shape out;
  for (int64_t i = 0; i < x.rank(); ++i) {
    if (i != axis) {
      out.push_back(x.shape[i]);
    } else if (node.GetBool("keepdims")) {
      out.push_back(Dim(1));
    }
  }
  return std::vector<TensorType>{{DType::kI64, std::move(out)}};
}

// `v` beats the current best `b` (arg_max: larger; arg_min: smaller; NaN beats numbers);
// `last` makes ties beat too.
bool Better(double v, double b, bool is_max, bool last) {
  if (std::isnan(b)) return false;
  if (std::isnan(v)) return true;
  if (last && v == b) return true;
  return is_max ? v > b : v < b;
}

bool BetterInt(int64_t v, int64_t b, bool is_max, bool last) {
  if (last && v == b) return true;
  return is_max ? v > b : v < b;
}

Status ArgReference(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  const Tensor& x = in[0];
  const std::vector<int64_t>& s = x.shape();
  const int64_t axis =
      node.GetInt("axis") < 0 ? node.GetInt("axis") + x.rank() : node.GetInt("axis");
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= s[i];
  for (int64_t i = axis + 1; i < x.rank(); ++i) inner *= s[i];
  const int64_t len = s[axis];
  const bool is_max = node.op() == OpKind::kArgMax;
  const bool last = node.GetBool("select_last_index");
  const bool ints = IsInteger(x.dtype());
  const std::vector<double> f = ints ? std::vector<double>() : x.ToF64();
  const std::vector<int64_t> n = ints ? x.ToI64() : std::vector<int64_t>();
  auto* y = out[0].mutable_data_as<int64_t>();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * len * inner + i;
      int64_t best = 0;
      for (int64_t k = 1; k < len; ++k) {
        const int64_t a = base + k * inner, b = base + best * inner;
        if (ints ? BetterInt(n[a], n[b], is_max, last) : Better(f[a], f[b], is_max, last)) best = k;
      }
      y[o * inner + i] = best;
    }
  }
  return Status::Ok();
}

}  // namespace

void RegisterArgReduceOps() {
  for (OpKind kind : {OpKind::kArgMax, OpKind::kArgMin}) {
    RegisterOp({.kind = kind,
                .fusion = FusionKind::kOpaque,  // a select, not a fusable reduction
                .min_inputs = 1,
                .max_inputs = 1,
                .attrs = {{"axis", AttrKind::kInt, AttrValue(int64_t{0})},
                          {"keepdims", AttrKind::kBool, AttrValue(true)},
                          {"select_last_index", AttrKind::kBool, AttrValue(false)}},
                .infer = ArgInfer,
                .reference = ArgReference,
                .summary = kind == OpKind::kArgMax
                               ? "i64 index of the maximum along {axis} {keepdims} "
                                 "{select_last_index}"
                               : "i64 index of the minimum along {axis} {keepdims} "
                                 "{select_last_index}"});
  }
}

}  // namespace kiln
