// The element-indexing op family: gather_elements and scatter_elements (ONNX GatherElements,
// ScatterElements), which index one axis per element with a same-rank index tensor.
//
//   %y = gather_elements(%data, %indices) {axis=1} : f32[<indices' shape>]
//     y[i0..ir] = data[i0.., indices[i0..ir] (at position axis), ..ir]
//   %y = scatter_elements(%data, %indices, %updates) {axis=0, reduction=none} : f32[<data's shape>]
//     y = data; then for every element k of updates, in row-major order:
//     y[k0.., indices[k] (at axis), ..kr] = updates[k] (none) / += (add) / *= (mul) / max / min
//
// Indices are i64 or i32; negative ones count from the end of the axis; one out of range is a
// run-time error. Preconditions (inference): same rank; gather: indices' dims <= data's except on
// axis (ONNX allows smaller); scatter: indices and updates have the same shape, <= data's dims.
// With reduction=none and duplicate indices the last update wins (ONNX leaves it undefined).
#include <cmath>
#include <cstring>
#include <string>

#include "ops/families.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

std::string Name(DType d) { return std::string(DTypeName(d)); }

Status CheckIndexOperand(const Node& node, int data, int indices) {
  DType d = node.input(indices)->dtype();
  if (d != DType::kI64 && d != DType::kI32) {
    return OpError(node, "indices (operand " + std::to_string(indices) +
                             ") must have dtype i64 or i32, got " + Name(d));
  }
  const TensorType& x = node.input(data)->type();
  const TensorType& ind = node.input(indices)->type();
  if (x.rank() == 0 || ind.rank() != x.rank()) {
    return OpError(node, "data " + x.ToString() + " and indices " + ind.ToString() +
                             " must have the same rank >= 1");
  }
  return Status::Ok();
}

// Static dims of `small` that exceed the static dim of `big` on an axis other than `skip`.
Status CheckNotLarger(const Node& node, const TensorType& small, const TensorType& big,
                      int64_t skip, const char* what) {
  for (int64_t i = 0; i < big.rank(); ++i) {
    if (i == skip || !small.shape[i].is_static() || !big.shape[i].is_static()) continue;
    if (small.shape[i].value() > big.shape[i].value()) {
      return OpError(node, std::string(what) + " " + small.ToString() + " is larger than data " +
                               big.ToString() + " on axis " + std::to_string(i));
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<TensorType>> GatherElementsInfer(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckIndexOperand(node, 0, 1));
  const TensorType& data = node.input(0)->type();
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), data.rank()));
  KILN_RETURN_IF_ERROR(CheckNotLarger(node, node.input(1)->type(), data, axis, "indices"));
  return std::vector<TensorType>{{data.dtype, node.input(1)->shape()}};
}

StatusOr<std::vector<TensorType>> ScatterElementsInfer(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckIndexOperand(node, 0, 1));
  const TensorType& data = node.input(0)->type();
  const TensorType& upd = node.input(2)->type();
  if (upd.dtype != data.dtype || upd.shape != node.input(1)->shape()) {
    return OpError(node, "updates " + upd.ToString() + " must have data's dtype (" +
                             Name(data.dtype) + ") and indices' shape " +
                             node.input(1)->type().ToString());
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), data.rank()));
  KILN_RETURN_IF_ERROR(CheckNotLarger(node, upd, data, -1, "updates"));
  (void)axis;
  const std::string r = node.GetEnum("reduction");
  if (r != "none" && data.dtype == DType::kBool) {
    return OpError(node, "reduction=" + r + " on bool data");
  }
  return std::vector<TensorType>{data};
}

// Offset in a row-major tensor of dims `dims` of the element of `shape` (same rank) at flat index
// k, with the coordinate on `axis` replaced by `index` (already wrapped).
int64_t ElementOffset(const std::vector<int64_t>& shape, const std::vector<int64_t>& dims,
                      int64_t k, int64_t axis, int64_t index) {
  int64_t off = 0, stride = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    int64_t c = k % shape[d];
    k /= shape[d];
    off += (d == axis ? index : c) * stride;
    stride *= dims[d];
  }
  return off;
}

// indices[k] wrapped into [0, n), or an error naming the position.
StatusOr<int64_t> WrapIndex(const Node& node, int64_t v, int64_t n, int64_t k, int64_t axis) {
  if (v < -n || v >= n) {
    return OpError(node, "index " + std::to_string(v) + " at position " + std::to_string(k) +
                             " is out of range for axis " + std::to_string(axis) + " of size " +
                             std::to_string(n) + " (expected " + std::to_string(-n) + ".." +
                             std::to_string(n - 1) + ")");
  }
  return v < 0 ? v + n : v;
}

Status GatherElementsReference(const Node& node, std::span<const Tensor> in,
                               std::span<Tensor> out) {
  const Tensor& data = in[0];
  const int64_t axis =
      node.GetInt("axis") < 0 ? node.GetInt("axis") + data.rank() : node.GetInt("axis");
  const std::vector<int64_t> ind = in[1].ToI64();
  const int64_t esize = DTypeSize(data.dtype());
  const auto* src = static_cast<const uint8_t*>(data.data());
  auto* dst = static_cast<uint8_t*>(out[0].mutable_data());
  for (int64_t k = 0; k < static_cast<int64_t>(ind.size()); ++k) {
    KILN_ASSIGN_OR_RETURN(int64_t j, WrapIndex(node, ind[k], data.shape()[axis], k, axis));
    int64_t off = ElementOffset(in[1].shape(), data.shape(), k, axis, j);
    std::memcpy(dst + k * esize, src + off * esize, esize);
  }
  return Status::Ok();
}

Status ScatterElementsReference(const Node& node, std::span<const Tensor> in,
                                std::span<Tensor> out) {
  const Tensor& data = in[0];
  Tensor& y = out[0];
  const int64_t axis =
      node.GetInt("axis") < 0 ? node.GetInt("axis") + data.rank() : node.GetInt("axis");
  const std::string r = node.GetEnum("reduction");
  const std::vector<int64_t> ind = in[1].ToI64();
  std::memcpy(y.mutable_data(), data.data(), data.numel() * DTypeSize(data.dtype()));
  const bool ints = IsInteger(data.dtype()) || data.dtype() == DType::kBool;
  std::vector<double> fy = ints ? std::vector<double>() : data.ToF64();
  std::vector<int64_t> iy = ints ? data.ToI64() : std::vector<int64_t>();
  const std::vector<double> fu = ints ? std::vector<double>() : in[2].ToF64();
  const std::vector<int64_t> iu = ints ? in[2].ToI64() : std::vector<int64_t>();
  for (int64_t k = 0; k < static_cast<int64_t>(ind.size()); ++k) {
    KILN_ASSIGN_OR_RETURN(int64_t j, WrapIndex(node, ind[k], data.shape()[axis], k, axis));
    int64_t off = ElementOffset(in[1].shape(), data.shape(), k, axis, j);
    if (ints) {
      int64_t& a = iy[off];
      int64_t u = iu[k];
      if (r == "none")
        a = u;
      else if (r == "add")
        a = static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(u));
      else if (r == "mul")
        a = static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(u));
      else if (r == "max")
        a = std::max(a, u);
      else
        a = std::min(a, u);
    } else {
      double& a = fy[off];
      double u = fu[k];
      if (r == "none")
        a = u;
      else if (r == "add")
        a = a + u;
      else if (r == "mul")
        a = a * u;
      else if (r == "max")
        a = std::isnan(a) || std::isnan(u) ? NAN : std::max(a, u);
      else
        a = std::isnan(a) || std::isnan(u) ? NAN : std::min(a, u);
    }
  }
  // Store through the dtype (reductions round once per element, after all updates).
  for (int64_t k = 0; k < y.numel(); ++k) {
    if (ints) {
      StoreI64(y, k, iy[k]);
    } else {
      y.SetF64(k, fy[k]);
    }
  }
  return Status::Ok();
}

}  // namespace

void RegisterElementIndexOps() {
  RegisterOp({.kind = OpKind::kGatherElements,
              .fusion = FusionKind::kOpaque,
              .min_inputs = 2,
              .max_inputs = 2,
              .attrs = {{"axis", AttrKind::kInt, AttrValue(int64_t{0})}},
              .infer = GatherElementsInfer,
              .reference = GatherElementsReference,
              .summary = "y[..i..] = data[.., indices[..i..] on {axis=0}, ..]"});
  RegisterOp({.kind = OpKind::kScatterElements,
              .fusion = FusionKind::kOpaque,
              .min_inputs = 3,
              .max_inputs = 3,
              .attrs = {{"axis", AttrKind::kInt, AttrValue(int64_t{0})},
                        {"reduction",
                         AttrKind::kEnum,
                         AttrValue(EnumValue{"none"}),
                         {"none", "add", "mul", "max", "min"}}},
              .infer = ScatterElementsInfer,
              .reference = ScatterElementsReference,
              .summary = "copy of data with updates written (or {reduction}-combined) at "
                         "indices along {axis=0}"});
}

}  // namespace kiln
