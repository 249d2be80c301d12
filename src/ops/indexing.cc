// The indexing op family: concat, split, slice, pad, gather and embedding. Each output element is
// one input element (or a pad constant), so the CPU references move raw element bytes and work
// exactly for every dtype with host storage. See the Builder methods in ir/builder.h.
//
// Slice follows ONNX Slice when the sliced dim and its bounds are static. With a symbolic dim or
// symbolic bounds only step 1 with non-negative bounds is accepted and the output length is the
// Dim end - start (BERT's position embeddings: rows [0, S) of a [512, D] table); the reference
// then checks the bounds against the concrete dim at run time.
#include <algorithm>
#include <cstring>
#include <set>
#include <string>

#include "ops/families.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

std::string Operand(const Node& node, int i = 0) {
  const Value* v = node.input(i);
  return "%" + v->name() + ": " + v->type().ToString();
}

// fp8 dtypes are reserved (support/dtype.h): they parse and print, but no op accepts them.
Status CheckMovableDType(const Node& node, int i = 0) {
  DType d = node.input(i)->dtype();
  if (d == DType::kF8E4M3 || d == DType::kF8E5M2) {
    return OpError(node, "operand " + std::to_string(i) + " has dtype " +
                             std::string(DTypeName(d)) +
                             ", which is reserved: no op accepts fp8 tensors yet");
  }
  return Status::Ok();
}

int64_t Product(const std::vector<int64_t>& shape, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= shape[i];
  return p;
}

// Copies `n` elements of `esize` bytes.
void CopyElements(uint8_t* dst, const uint8_t* src, int64_t n, int64_t esize) {
  if (n > 0) std::memcpy(dst, src, n * esize);
}

// ------------------------------------------------------------------------------------- concat

StatusOr<std::vector<TensorType>> InferConcat(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckMovableDType(node));
  std::vector<int> all(node.num_inputs());
  for (int i = 0; i < node.num_inputs(); ++i) all[i] = i;
  KILN_RETURN_IF_ERROR(CheckSameDType(node, all));
  const TensorType& x0 = node.input(0)->type();
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), x0.rank()));
  Shape out = x0.shape;
  for (int i = 1; i < node.num_inputs(); ++i) {
    const Shape& s = node.input(i)->shape();
    bool ok = s.size() == out.size();
    for (size_t a = 0; ok && a < s.size(); ++a)
      ok = static_cast<int64_t>(a) == axis || s[a] == out[a];
    if (!ok) {
      return OpError(node, "operand " + std::to_string(i) + " (" + Operand(node, i) +
                               ") does not match operand 0 (" + Operand(node, 0) +
                               ") in every dim but the concat axis " + std::to_string(axis));
    }
    out[axis] = out[axis] + s[axis];
  }
  return std::vector<TensorType>{{x0.dtype, out}};
}

Status ConcatReference(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  const std::vector<int64_t>& os = out[0].shape();
  const int64_t axis =
      node.GetInt("axis") < 0 ? node.GetInt("axis") + out[0].rank() : node.GetInt("axis");
  const int64_t esize = DTypeSize(out[0].dtype());
  const int64_t outer = Product(os, 0, axis);
  const int64_t inner = Product(os, axis + 1, os.size());
  auto* dst = static_cast<uint8_t*>(out[0].mutable_data());
  for (int64_t o = 0; o < outer; ++o) {
    for (const Tensor& t : in) {
      const int64_t block = t.dim(axis) * inner;
      CopyElements(dst, static_cast<const uint8_t*>(t.data()) + o * block * esize, block, esize);
      dst += block * esize;
    }
  }
  return Status::Ok();
}

// -------------------------------------------------------------------------------------- split

StatusOr<std::vector<TensorType>> InferSplit(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckMovableDType(node));
  const TensorType& x = node.input(0)->type();
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), x.rank()));
  const std::vector<int64_t>& sizes = node.GetInts("sizes");
  if (sizes.empty()) return OpError(node, "sizes is empty, expected one size per output");
  int64_t sum = 0;
  for (int64_t s : sizes) {
    if (s < 0) return OpError(node, "sizes " + IntsToString(sizes) + " has a negative size");
    sum += s;
  }
  const Dim& d = x.shape[axis];
  if (!d.is_static()) {
    return OpError(node, "axis " + std::to_string(axis) + " of " + Operand(node) +
                             " has symbolic dim " + d.ToString() +
                             "; split into static sizes needs a static dim");
  }
  if (d.value() != sum) {
    return OpError(node, "sizes " + IntsToString(sizes) + " sum to " + std::to_string(sum) +
                             ", expected " + std::to_string(d.value()) + " (dim " +
                             std::to_string(axis) + " of " + Operand(node) + ")");
  }
  std::vector<TensorType> outs;
  for (int64_t s : sizes) {
    TensorType t = x;
    t.shape[axis] = s;
    outs.push_back(std::move(t));
  }
  return outs;
}

Status SplitReference(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  const std::vector<int64_t>& xs = in[0].shape();
  const int64_t axis =
      node.GetInt("axis") < 0 ? node.GetInt("axis") + in[0].rank() : node.GetInt("axis");
  const int64_t esize = DTypeSize(in[0].dtype());
  const int64_t outer = Product(xs, 0, axis);
  const int64_t inner = Product(xs, axis + 1, xs.size());
  const auto* src = static_cast<const uint8_t*>(in[0].data());
  for (int64_t o = 0; o < outer; ++o) {
    for (Tensor& t : out) {
      const int64_t block = t.dim(axis) * inner;
      CopyElements(static_cast<uint8_t*>(t.mutable_data()) + o * block * esize, src, block, esize);
      src += block * esize;
    }
  }
  return Status::Ok();
}

// -------------------------------------------------------------------------------------- slice

// The slice parameters of one listed axis.
struct SliceAxisSpec {
  int64_t axis;  // normalised
  Dim start, end;
  int64_t step;
};

StatusOr<std::vector<SliceAxisSpec>> SliceSpecs(const Node& node) {
  const std::vector<Dim>& starts = node.GetDims("starts");
  const std::vector<Dim>& ends = node.GetDims("ends");
  std::vector<int64_t> axes = node.GetInts("axes");
  std::vector<int64_t> steps = node.GetInts("steps");
  const int64_t rank = node.input(0)->rank();
  if (starts.size() != ends.size()) {
    return OpError(node, "starts has " + std::to_string(starts.size()) + " values but ends has " +
                             std::to_string(ends.size()));
  }
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size()) {
    return OpError(node, "starts, ends, axes and steps must have one value per sliced axis; got " +
                             std::to_string(starts.size()) + ", " + std::to_string(ends.size()) +
                             ", " + std::to_string(axes.size()) + ", " +
                             std::to_string(steps.size()));
  }
  std::vector<bool> seen(rank, false);
  std::vector<SliceAxisSpec> specs;
  for (size_t i = 0; i < axes.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(node, axes[i], rank));
    if (seen[a])
      return OpError(node,
                     "axes " + IntsToString(axes) + " name axis " + std::to_string(a) + " twice");
    seen[a] = true;
    if (steps[i] == 0) return OpError(node, "step 0 for axis " + std::to_string(a));
    specs.push_back({a, starts[i], ends[i], steps[i]});
  }
  return specs;
}

bool StaticSlice(const Dim& dim, const SliceAxisSpec& s) {
  return dim.is_static() && s.start.is_static() && s.end.is_static();
}

// ONNX Slice on a static dim: the clamped start and the output length.
void OnnxSlice(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t* out_start,
               int64_t* out_len) {
  if (dim == 0) {  // nothing to take (and the clamp ranges below would be empty)
    *out_start = 0;
    *out_len = 0;
    return;
  }
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
  }
  // ceil((end - start) / step) with the division's sign handled, clamped at 0.
  int64_t len = step > 0 ? (end - start + step - 1) / step : (start - end + (-step) - 1) / (-step);
  *out_start = start;
  *out_len = std::max<int64_t>(len, 0);
}

StatusOr<std::vector<TensorType>> InferSlice(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckMovableDType(node));
  const TensorType& x = node.input(0)->type();
  KILN_ASSIGN_OR_RETURN(std::vector<SliceAxisSpec> specs, SliceSpecs(node));
  Shape out = x.shape;
  for (const SliceAxisSpec& s : specs) {
    const Dim& dim = x.shape[s.axis];
    const std::string where = "axis " + std::to_string(s.axis) + " (dim " + dim.ToString() +
                              " of " + Operand(node) + ", start " + s.start.ToString() + ", end " +
                              s.end.ToString() + ")";
    if (StaticSlice(dim, s)) {
      int64_t start, len;
      OnnxSlice(dim.value(), s.start.value(), s.end.value(), s.step, &start, &len);
      out[s.axis] = len;
      continue;
    }
    if (s.step != 1) {
      return OpError(node, where + ": a symbolic dim or bound needs step 1, got step " +
                               std::to_string(s.step));
    }
    for (const Dim* b : {&s.start, &s.end}) {
      if (b->is_static() && b->value() < 0) {
        return OpError(node, where + ": a symbolic dim or bound needs non-negative bounds, got " +
                                 b->ToString());
      }
    }
    Dim len = s.end - s.start;
    if (len.is_static() && len.value() < 0) {
      return OpError(node, where + ": end is before start");
    }
    if (dim.is_static() && s.end.is_static() && s.end.value() > dim.value()) {
      return OpError(node, where + ": end is past the dim");
    }
    out[s.axis] = len;
  }
  return std::vector<TensorType>{{x.dtype, out}};
}

// Binds the symbols that appear alone as a dim of `shape` from the concrete `dims`.
void BindFromShape(const Shape& shape, const std::vector<int64_t>& dims, SymbolBindings* b) {
  for (size_t i = 0; i < shape.size() && i < dims.size(); ++i) {
    std::set<std::string> syms = shape[i].Symbols();
    if (syms.size() == 1 && shape[i] == Dim::Symbol(*syms.begin())) {
      b->emplace(*syms.begin(), dims[i]);
    }
  }
}

Status SliceReference(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  KILN_ASSIGN_OR_RETURN(std::vector<SliceAxisSpec> specs, SliceSpecs(node));
  const Tensor& x = in[0];
  const int64_t rank = x.rank();
  std::vector<int64_t> start(rank, 0), step(rank, 1);
  // Symbolic bounds are evaluated with the symbols bound by the operand and result shapes.
  SymbolBindings bindings;
  BindFromShape(node.input(0)->shape(), x.shape(), &bindings);
  BindFromShape(node.output(0)->shape(), out[0].shape(), &bindings);
  for (const SliceAxisSpec& s : specs) {
    const int64_t dim = x.dim(s.axis);
    const int64_t len = out[0].dim(s.axis);
    if (StaticSlice(node.input(0)->shape()[s.axis], s)) {
      int64_t unused;
      OnnxSlice(dim, s.start.value(), s.end.value(), s.step, &start[s.axis], &unused);
      step[s.axis] = s.step;
      continue;
    }
    auto st = s.start.Evaluate(bindings);
    if (!st.ok()) {
      return InvalidArgument("slice start " + s.start.ToString() + " of axis " +
                             std::to_string(s.axis) +
                             " cannot be evaluated: " + st.status().message());
    }
    if (*st < 0 || *st + len > dim) {
      return InvalidArgument("slice [" + std::to_string(*st) + ", " + std::to_string(*st + len) +
                             ") of axis " + std::to_string(s.axis) +
                             " is out of range for its dim " + std::to_string(dim) + " (input " +
                             x.TypeString() + ")");
    }
    start[s.axis] = *st;
  }
  const std::vector<int64_t> in_strides = Strides(x.shape());
  const std::vector<int64_t>& os = out[0].shape();
  const int64_t esize = DTypeSize(x.dtype());
  const auto* src = static_cast<const uint8_t*>(x.data());
  auto* dst = static_cast<uint8_t*>(out[0].mutable_data());
  std::vector<int64_t> idx(rank, 0);
  for (int64_t k = 0; k < out[0].numel(); ++k) {
    int64_t off = 0;
    for (int64_t a = 0; a < rank; ++a) off += (start[a] + idx[a] * step[a]) * in_strides[a];
    std::memcpy(dst + k * esize, src + off * esize, esize);
    for (int64_t a = rank - 1; a >= 0; --a) {
      if (++idx[a] < os[a]) break;
      idx[a] = 0;
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------- pad

StatusOr<std::vector<TensorType>> InferPad(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckMovableDType(node));
  const TensorType& x = node.input(0)->type();
  const std::vector<int64_t>& pads = node.GetInts("pads");
  const int64_t r = x.rank();
  if (static_cast<int64_t>(pads.size()) != 2 * r) {
    return OpError(node, "pads " + IntsToString(pads) + " has " + std::to_string(pads.size()) +
                             " values, expected " + std::to_string(2 * r) +
                             " (begins then ends for each axis of " + Operand(node) + ")");
  }
  const bool constant = node.GetEnum("mode") == "constant";
  Shape out(r);
  for (int64_t a = 0; a < r; ++a) {
    out[a] = x.shape[a] + Dim(pads[a]) + Dim(pads[a + r]);
    if (out[a].is_static() && out[a].value() < 0) {
      return OpError(node, "pads " + IntsToString(pads) + " crop axis " + std::to_string(a) +
                               " (dim " + x.shape[a].ToString() + ") below zero");
    }
    // reflect/edge read the input to fill the padding, so an empty axis cannot be padded.
    if (!constant && x.shape[a] == Dim(0) && out[a] != Dim(0)) {
      return OpError(node, "mode " + node.GetEnum("mode") + " cannot pad axis " +
                               std::to_string(a) + " of " + Operand(node) + ": it is empty");
    }
  }
  return std::vector<TensorType>{{x.dtype, out}};
}

// The input index that padding position `i` (input coordinates, maybe outside [0, n)) reads, as
// numpy.pad: edge repeats the border; reflect mirrors without repeating it (period 2(n-1)).
int64_t PadSource(int64_t i, int64_t n, bool reflect) {
  if (i >= 0 && i < n) return i;
  if (!reflect || n == 1) return std::clamp<int64_t>(i, 0, n - 1);
  const int64_t period = 2 * (n - 1);
  int64_t m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

Status PadReference(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  const Tensor& x = in[0];
  const std::vector<int64_t>& pads = node.GetInts("pads");
  const std::string& mode = node.GetEnum("mode");
  const int64_t r = x.rank();
  const std::vector<int64_t>& os = out[0].shape();
  for (int64_t a = 0; a < r; ++a) {
    if (mode != "constant" && x.dim(a) == 0 && os[a] > 0) {
      return InvalidArgument("mode " + mode + " cannot pad empty axis " + std::to_string(a) +
                             " of " + x.TypeString());
    }
  }
  const int64_t esize = DTypeSize(x.dtype());
  // The fill value in the output dtype, converted once (rounding/truncating as Tensor does).
  Tensor fill = Tensor::FromF64(x.dtype(), {}, std::vector<double>{node.GetFloat("value")});
  const std::vector<int64_t> in_strides = Strides(x.shape());
  const auto* src = static_cast<const uint8_t*>(x.data());
  auto* dst = static_cast<uint8_t*>(out[0].mutable_data());
  std::vector<int64_t> idx(r, 0);
  for (int64_t k = 0; k < out[0].numel(); ++k) {
    int64_t off = 0;
    bool inside = true;
    for (int64_t a = 0; a < r && inside; ++a) {
      int64_t i = idx[a] - pads[a];
      if (i < 0 || i >= x.dim(a)) {
        if (mode == "constant")
          inside = false;
        else
          i = PadSource(i, x.dim(a), mode == "reflect");
      }
      off += i * in_strides[a];
    }
    std::memcpy(dst + k * esize, inside ? src + off * esize : fill.data(), esize);
    for (int64_t a = r - 1; a >= 0; --a) {
      if (++idx[a] < os[a]) break;
      idx[a] = 0;
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------- gather/embedding

Status CheckIndexDType(const Node& node, int i) {
  DType d = node.input(i)->dtype();
  if (d != DType::kI64 && d != DType::kI32) {
    return OpError(node, "indices " + Operand(node, i) + " must have dtype i64 or i32, got " +
                             std::string(DTypeName(d)));
  }
  return Status::Ok();
}

StatusOr<std::vector<TensorType>> InferGather(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckMovableDType(node));
  KILN_RETURN_IF_ERROR(CheckIndexDType(node, 1));
  const TensorType& data = node.input(0)->type();
  if (data.rank() == 0) return OpError(node, "data " + Operand(node) + " must have rank >= 1");
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), data.rank()));
  const Shape& ind = node.input(1)->shape();
  Shape out(data.shape.begin(), data.shape.begin() + axis);
  out.insert(out.end(), ind.begin(), ind.end());
  out.insert(out.end(), data.shape.begin() + axis + 1, data.shape.end());
  return std::vector<TensorType>{{data.dtype, out}};
}

StatusOr<std::vector<TensorType>> InferEmbedding(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckMovableDType(node));
  KILN_RETURN_IF_ERROR(CheckIndexDType(node, 1));
  const TensorType& w = node.input(0)->type();
  if (w.rank() != 2) {
    return OpError(node, "weight " + Operand(node) + " must have rank 2 ([V, D])");
  }
  Shape out = node.input(1)->shape();
  out.push_back(w.shape[1]);
  return std::vector<TensorType>{{w.dtype, out}};
}

// out[o, j, :] = data[o, indices[j], :] over the flattened outer, index and inner dims.
Status GatherRows(const Tensor& data, const Tensor& indices, int64_t axis, const char* what,
                  Tensor& out) {
  const std::vector<int64_t>& ds = data.shape();
  const int64_t outer = Product(ds, 0, axis);
  const int64_t n = ds[axis];
  const int64_t inner = Product(ds, axis + 1, ds.size());
  const int64_t esize = DTypeSize(data.dtype());
  const std::vector<int64_t> ind = indices.ToI64();
  const auto* src = static_cast<const uint8_t*>(data.data());
  auto* dst = static_cast<uint8_t*>(out.mutable_data());
  for (size_t j = 0; j < ind.size(); ++j) {
    if (ind[j] < -n || ind[j] >= n) {
      return InvalidArgument(std::string(what) + " " + std::to_string(ind[j]) + " at position " +
                             std::to_string(j) + " is out of range for axis " +
                             std::to_string(axis) + " of size " + std::to_string(n) + " (data " +
                             data.TypeString() + "; expected " + std::to_string(-n) + ".." +
                             std::to_string(n - 1) + ")");
    }
  }
  for (int64_t o = 0; o < outer; ++o) {
    for (size_t j = 0; j < ind.size(); ++j) {
      const int64_t row = ind[j] < 0 ? ind[j] + n : ind[j];
      CopyElements(dst, src + (o * n + row) * inner * esize, inner, esize);
      dst += inner * esize;
    }
  }
  return Status::Ok();
}

Status GatherReference(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  const int64_t axis =
      node.GetInt("axis") < 0 ? node.GetInt("axis") + in[0].rank() : node.GetInt("axis");
  return GatherRows(in[0], in[1], axis, "index", out[0]);
}

Status EmbeddingReference(const Node&, std::span<const Tensor> in, std::span<Tensor> out) {
  return GatherRows(in[0], in[1], 0, "id", out[0]);
}

OpDef Def(OpKind kind, int min_inputs, int max_inputs, std::vector<AttrSpec> attrs, InferFn infer,
          ReferenceFn reference, std::string summary) {
  OpDef d;
  d.kind = kind;
  d.fusion = FusionKind::kInjective;
  d.min_inputs = min_inputs;
  d.max_inputs = max_inputs;
  d.attrs = std::move(attrs);
  d.infer = std::move(infer);
  d.reference = std::move(reference);
  d.summary = std::move(summary);
  return d;
}

}  // namespace

void RegisterIndexingOps() {
  RegisterOp(Def(OpKind::kConcat, 1, -1, {{"axis", AttrKind::kInt, std::nullopt}}, InferConcat,
                 ConcatReference, "join operands along {axis}"));
  RegisterOp(Def(
      OpKind::kSplit, 1, 1,
      {{"axis", AttrKind::kInt, AttrValue(int64_t{0})}, {"sizes", AttrKind::kInts, std::nullopt}},
      InferSplit, SplitReference, "cut along {axis=0} into {sizes}: one output each"));
  RegisterOp(Def(OpKind::kSlice, 1, 1,
                 {{"starts", AttrKind::kDims, std::nullopt},
                  {"ends", AttrKind::kDims, std::nullopt},
                  {"axes", AttrKind::kInts, AttrValue(std::vector<int64_t>{})},
                  {"steps", AttrKind::kInts, AttrValue(std::vector<int64_t>{})}},
                 InferSlice, SliceReference, "ONNX Slice {starts, ends, axes, steps}"));
  RegisterOp(Def(
      OpKind::kPad, 1, 1,
      {{"pads", AttrKind::kInts, std::nullopt},
       {"mode", AttrKind::kEnum, AttrValue(EnumValue{"constant"}), {"constant", "reflect", "edge"}},
       {"value", AttrKind::kFloat, AttrValue(0.0)}},
      InferPad, PadReference,
      "pad (negative: crop) {pads=[begins, ends], mode=constant|reflect|edge, value}"));
  RegisterOp(Def(OpKind::kGather, 2, 2, {{"axis", AttrKind::kInt, AttrValue(int64_t{0})}},
                 InferGather, GatherReference,
                 "take rows of data along {axis=0} at integer indices (negative wrap)"));
  RegisterOp(Def(OpKind::kEmbedding, 2, 2, {}, InferEmbedding, EmbeddingReference,
                 "embedding(weight [V, D], ids) -> ids.shape + [D]"));
}

}  // namespace kiln
