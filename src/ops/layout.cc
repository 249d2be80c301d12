// The layout op family: reshape, transpose, squeeze, unsqueeze, flatten and expand. Each output
// element is one input element (fusion kind injective), so the CPU references move raw element
// bytes and work for every dtype with host storage, exactly (no trip through float).
//
// Shape inference is symbolic throughout: reshape compares element counts as Dim polynomials,
// flatten multiplies Dims, expand broadcasts Dims. See the Builder methods in ir/builder.h.
#include <algorithm>
#include <cstring>
#include <string>

#include "ops/families.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

// fp8 dtypes are reserved (support/dtype.h): they parse and print, but no op accepts them.
Status CheckMovableDType(const Node& node) {
  DType d = node.input(0)->dtype();
  if (d == DType::kF8E4M3 || d == DType::kF8E5M2) {
    return OpError(node, "operand 0 has dtype " + std::string(DTypeName(d)) +
                             ", which is reserved: no op accepts fp8 tensors yet");
  }
  return Status::Ok();
}

std::string Operand(const Node& node, int i = 0) {
  const Value* v = node.input(i);
  return "%" + v->name() + ": " + v->type().ToString();
}

// Copies elements out[k] = in[map[k]] byte-wise (any dtype).
void GatherElements(const Tensor& in, const std::vector<int64_t>& map, Tensor& out) {
  const int64_t esize = DTypeSize(in.dtype());
  const auto* src = static_cast<const uint8_t*>(in.data());
  auto* dst = static_cast<uint8_t*>(out.mutable_data());
  for (size_t k = 0; k < map.size(); ++k) {
    std::memcpy(dst + k * esize, src + map[k] * esize, esize);
  }
}

// Reshape, squeeze, unsqueeze and flatten keep the row-major order: a plain byte copy.
Status CopyReference(const Node&, std::span<const Tensor> in, std::span<Tensor> out) {
  if (in[0].nbytes() > 0) std::memcpy(out[0].mutable_data(), in[0].data(), in[0].nbytes());
  return Status::Ok();
}

// ------------------------------------------------------------------------------------ reshape

StatusOr<std::vector<TensorType>> InferReshape(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckMovableDType(node));
  const TensorType& x = node.input(0)->type();
  const std::vector<Dim>& shape = node.GetDims("shape");
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i].is_static() && shape[i].value() < 0) {
      return OpError(node, "target shape " + ShapeToString(shape) + " has negative dim " +
                               shape[i].ToString() + " at axis " + std::to_string(i) +
                               " (a -1 must be resolved by the Builder before the node is made)");
    }
  }
  Dim in_count = NumElements(x.shape);
  Dim out_count = NumElements(shape);
  if (in_count != out_count) {
    return OpError(node, "cannot reshape " + Operand(node) + " to " + ShapeToString(shape) +
                             ": element counts differ (" + in_count.ToString() + " vs " +
                             out_count.ToString() + ")");
  }
  return std::vector<TensorType>{{x.dtype, shape}};
}

// ---------------------------------------------------------------------------------- transpose

StatusOr<std::vector<TensorType>> InferTranspose(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckMovableDType(node));
  const TensorType& x = node.input(0)->type();
  const std::vector<int64_t>& perm = node.GetInts("perm");
  const int64_t rank = x.rank();
  std::vector<bool> seen(rank, false);
  bool ok = static_cast<int64_t>(perm.size()) == rank;
  for (size_t i = 0; ok && i < perm.size(); ++i) {
    ok = perm[i] >= 0 && perm[i] < rank && !seen[perm[i]];
    if (ok) seen[perm[i]] = true;
  }
  if (!ok) {
    return OpError(node, "perm " + IntsToString(perm) + " is not a permutation of 0.." +
                             std::to_string(rank - 1) + " (the axes of " + Operand(node) + ")");
  }
  Shape out(rank);
  for (int64_t i = 0; i < rank; ++i) out[i] = x.shape[perm[i]];
  return std::vector<TensorType>{{x.dtype, out}};
}

Status TransposeReference(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  const std::vector<int64_t>& perm = node.GetInts("perm");
  const std::vector<int64_t>& out_shape = out[0].shape();
  const std::vector<int64_t> in_strides = Strides(in[0].shape());
  const size_t r = perm.size();
  // Stride in the input of each output axis; walk the output with an odometer.
  std::vector<int64_t> eff(r);
  for (size_t i = 0; i < r; ++i) eff[i] = in_strides[perm[i]];
  std::vector<int64_t> map(out[0].numel());
  std::vector<int64_t> idx(r, 0);
  int64_t cur = 0;
  for (size_t k = 0; k < map.size(); ++k) {
    map[k] = cur;
    for (size_t a = r; a-- > 0;) {
      if (++idx[a] < out_shape[a]) {
        cur += eff[a];
        break;
      }
      cur -= eff[a] * (out_shape[a] - 1);
      idx[a] = 0;
    }
  }
  GatherElements(in[0], map, out[0]);
  return Status::Ok();
}

// ------------------------------------------------------------------------ squeeze / unsqueeze

StatusOr<std::vector<TensorType>> InferSqueeze(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckMovableDType(node));
  const TensorType& x = node.input(0)->type();
  const std::vector<int64_t>& axes = node.GetInts("axes");
  std::vector<bool> drop(x.rank(), false);
  if (axes.empty()) {
    for (int64_t i = 0; i < x.rank(); ++i) drop[i] = x.shape[i] == Dim(1);
  }
  for (int64_t axis : axes) {
    KILN_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(node, axis, x.rank()));
    if (drop[a]) return OpError(node, "axis " + std::to_string(axis) + " is listed twice");
    if (x.shape[a] != Dim(1)) {
      return OpError(node, "cannot squeeze axis " + std::to_string(axis) + " of " + Operand(node) +
                               ": its dim is " + x.shape[a].ToString() + ", expected 1");
    }
    drop[a] = true;
  }
  Shape out;
  for (int64_t i = 0; i < x.rank(); ++i) {
    if (!drop[i]) out.push_back(x.shape[i]);
  }
  return std::vector<TensorType>{{x.dtype, out}};
}

StatusOr<std::vector<TensorType>> InferUnsqueeze(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckMovableDType(node));
  const TensorType& x = node.input(0)->type();
  const std::vector<int64_t>& axes = node.GetInts("axes");
  if (axes.empty()) return OpError(node, "axes is empty, expected at least one output position");
  const int64_t out_rank = x.rank() + static_cast<int64_t>(axes.size());
  std::vector<bool> inserted(out_rank, false);
  for (int64_t axis : axes) {
    // Positions are in the output, so negative ones count from the output's end.
    KILN_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(node, axis, out_rank));
    if (inserted[a]) {
      return OpError(node, "axes " + IntsToString(axes) + " name output position " +
                               std::to_string(a) + " twice");
    }
    inserted[a] = true;
  }
  Shape out;
  size_t next = 0;
  for (int64_t i = 0; i < out_rank; ++i) out.push_back(inserted[i] ? Dim(1) : x.shape[next++]);
  return std::vector<TensorType>{{x.dtype, out}};
}

// ------------------------------------------------------------------------------------ flatten

StatusOr<std::vector<TensorType>> InferFlatten(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckMovableDType(node));
  const TensorType& x = node.input(0)->type();
  int64_t axis = node.GetInt("axis");
  // ONNX Flatten: axis may equal rank (everything goes to the first dim) and count from the end.
  int64_t a = axis < 0 ? axis + x.rank() : axis;
  if (a < 0 || a > x.rank()) {
    return OpError(node, "axis " + std::to_string(axis) + " is out of range for " + Operand(node) +
                             " (expected -" + std::to_string(x.rank()) + ".." +
                             std::to_string(x.rank()) + ")");
  }
  Shape head(x.shape.begin(), x.shape.begin() + a);
  Shape tail(x.shape.begin() + a, x.shape.end());
  return std::vector<TensorType>{{x.dtype, {NumElements(head), NumElements(tail)}}};
}

// ------------------------------------------------------------------------------------- expand

StatusOr<std::vector<TensorType>> InferExpand(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckMovableDType(node));
  const TensorType& x = node.input(0)->type();
  const std::vector<Dim>& shape = node.GetDims("shape");
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i].is_static() && shape[i].value() < 0) {
      return OpError(node, "target shape " + ShapeToString(shape) + " has negative dim " +
                               shape[i].ToString() + " at axis " + std::to_string(i));
    }
  }
  // numpy broadcasting of the input against the target (ONNX Expand): a target dim of 1 keeps
  // the input's dim, and the target may have more leading dims.
  // BroadcastShapes' error names the node, both shapes and the mismatching dims.
  KILN_ASSIGN_OR_RETURN(Shape out, BroadcastShapes(node, x.shape, shape));
  return std::vector<TensorType>{{x.dtype, out}};
}

Status ExpandReference(const Node&, std::span<const Tensor> in, std::span<Tensor> out) {
  GatherElements(in[0], BroadcastIndexMap(out[0].shape(), in[0].shape()), out[0]);
  return Status::Ok();
}

OpDef Def(OpKind kind, std::vector<AttrSpec> attrs, InferFn infer, ReferenceFn reference,
          std::string summary) {
  OpDef d;
  d.kind = kind;
  d.fusion = FusionKind::kInjective;
  d.min_inputs = 1;
  d.max_inputs = 1;
  d.attrs = std::move(attrs);
  d.infer = std::move(infer);
  d.reference = std::move(reference);
  d.summary = std::move(summary);
  return d;
}

}  // namespace

void RegisterLayoutOps() {
  RegisterOp(Def(OpKind::kReshape, {{"shape", AttrKind::kDims, std::nullopt}}, InferReshape,
                 CopyReference, "same elements, new shape {shape=dims} (equal element counts)"));
  RegisterOp(Def(OpKind::kTranspose, {{"perm", AttrKind::kInts, std::nullopt}}, InferTranspose,
                 TransposeReference, "permute axes {perm}: out dim i = in dim perm[i]"));
  RegisterOp(Def(OpKind::kSqueeze, {{"axes", AttrKind::kInts, AttrValue(std::vector<int64_t>{})}},
                 InferSqueeze, CopyReference, "drop size-1 axes {axes} (empty: every static 1)"));
  RegisterOp(Def(OpKind::kUnsqueeze, {{"axes", AttrKind::kInts, std::nullopt}}, InferUnsqueeze,
                 CopyReference, "insert size-1 axes at output positions {axes}"));
  RegisterOp(Def(OpKind::kFlatten, {{"axis", AttrKind::kInt, AttrValue(int64_t{1})}}, InferFlatten,
                 CopyReference, "to 2-D [prod(shape[:axis]), prod(shape[axis:])] {axis=1}"));
  RegisterOp(Def(OpKind::kExpand, {{"shape", AttrKind::kDims, std::nullopt}}, InferExpand,
                 ExpandReference, "numpy broadcast to {shape=dims}"));
}

}  // namespace kiln
