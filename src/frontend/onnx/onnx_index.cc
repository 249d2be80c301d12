// ONNX index-valued and index-driven ops: ArgMax / ArgMin (kiln arg_max / arg_min), Hardmax
// (arg_max compared with an iota), OneHot (indices compared with an iota, then where),
// GatherElements / ScatterElements / Scatter (kiln gather_elements / scatter_elements), EyeLike
// (a constant), DepthToSpace / SpaceToDepth (reshape + transpose + reshape), Tile (concat of
// copies), Compress (gather at the selected positions), GatherND / ScatterND (gather /
// scatter_elements on rows addressed by linear indices), ReverseSequence (gather_elements with a
// constant index pattern) and the window generators HannWindow / HammingWindow / BlackmanWindow
// (constants). Inputs that decide output shapes or indices (OneHot's depth, Tile's repeats,
// Compress's condition, ReverseSequence's lengths, a window's size) must be known at import time.
#include <cmath>

#include "frontend/onnx/onnx_op_table.h"
#include "frontend/onnx/onnx_tensor.h"

namespace kiln::onnx_import {

namespace {

Value* First(const std::vector<Value*>& v) { return v.empty() ? nullptr : v[0]; }

// Normalises an axis into [0, rank); records an error if out of range.
std::optional<int64_t> NormAxis(NodeContext& ctx, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) {
    ctx.Error("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
    return std::nullopt;
  }
  return axis < 0 ? axis + rank : axis;
}

// ArgMax / ArgMin {axis=0, keepdims=1, select_last_index=0}.
template <OpKind kKind>
void ImportArg(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  int64_t axis = ctx.Int("axis", 0);
  bool keepdims = ctx.Int("keepdims", 1) != 0;
  bool last = ctx.Int("select_last_index", 0) != 0;
  Value* x = ctx.Input(0);
  if (!x) return;
  Attrs attrs;
  attrs.Set("axis", axis);
  attrs.Set("keepdims", keepdims);
  attrs.Set("select_last_index", last);
  ctx.SetOutput(0, First(ctx.b().Op(kKind, {x}, std::move(attrs))));
}

// An i64 constant 0..n-1 shaped to broadcast along `axis` of a rank-`rank` tensor.
Value* IotaAlong(Builder& b, int64_t n, int64_t axis, int64_t rank) {
  std::vector<int64_t> shape(rank, 1);
  shape[axis] = n;
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<double>(i);
  return b.Constant(DType::kI64, shape, v);
}

// Hardmax {axis=-1} (opset 13): 1 at the first maximum along axis, else 0.
void ImportHardmax(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  int64_t axis_attr = ctx.Int("axis", -1);
  Value* x = ctx.Input(0);
  if (!x) return;
  auto axis = NormAxis(ctx, axis_attr, x->rank());
  if (!axis) return;
  if (!x->shape()[*axis].is_static()) {
    ctx.Unsupported("a symbolic size of axis " + std::to_string(*axis) + " in " +
                    x->type().ToString());
    return;
  }
  Builder& b = ctx.b();
  Attrs attrs;
  attrs.Set("axis", *axis);
  attrs.Set("keepdims", true);
  Value* am = First(b.Op(OpKind::kArgMax, {x}, std::move(attrs)));
  Value* iota = IotaAlong(b, x->shape()[*axis].value(), *axis, x->rank());
  ctx.SetOutput(0, b.Cast(b.Equal(am, iota), x->dtype()));
}

// OneHot {axis=-1}(indices, depth, values=[off, on]): out has indices' shape with `depth` inserted
// at axis; negative indices count from depth; indices outside [-depth, depth) give all-off rows.
void ImportOneHot(NodeContext& ctx) {
  if (!ctx.ExpectInputs(3, 3) || !ctx.ExpectMaxOutputs(1)) return;
  int64_t axis_attr = ctx.Int("axis", -1);
  auto depth = ctx.ScalarInput(1, "depth");
  Value* ind = ctx.Input(0);
  Value* values = ctx.Input(2);
  if (!depth || !ind || !values) return;
  int64_t n = static_cast<int64_t>(std::trunc(*depth));
  if (n < 1 || n > (int64_t{1} << 24)) {
    ctx.Unsupported("depth " + std::to_string(*depth) + " (expected 1..2^24)");
    return;
  }
  if (values->rank() != 1 || values->shape()[0] != Dim(2)) {
    ctx.Error("values " + values->type().ToString() + " must have shape [2] ([off, on])");
    return;
  }
  auto axis = NormAxis(ctx, axis_attr, ind->rank() + 1);
  if (!axis) return;
  Builder& b = ctx.b();
  Value* i64 = ind->dtype() == DType::kI64 ? ind : b.Cast(ind, DType::kI64);  // floats truncate
  Value* wrapped = b.Where(b.Less(i64, b.Scalar(0, DType::kI64)),
                           b.Add(i64, b.Scalar(static_cast<double>(n), DType::kI64)), i64);
  Value* hit = b.Equal(b.Unsqueeze(wrapped, {*axis}), IotaAlong(b, n, *axis, ind->rank() + 1));
  SliceOptions off_s, on_s;
  off_s.starts = {Dim(0)};
  off_s.ends = {Dim(1)};
  on_s.starts = {Dim(1)};
  on_s.ends = {Dim(2)};
  Value* off = b.Reshape(b.Slice(values, off_s), {});
  Value* on = b.Reshape(b.Slice(values, on_s), {});
  ctx.SetOutput(0, b.Where(hit, on, off));
}

void ImportGatherElements(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 2) || !ctx.ExpectMaxOutputs(1)) return;
  int64_t axis = ctx.Int("axis", 0);
  Value* data = ctx.Input(0);
  Value* ind = ctx.Input(1);
  if (!data || !ind) return;
  Attrs attrs;
  attrs.Set("axis", axis);
  ctx.SetOutput(0, First(ctx.b().Op(OpKind::kGatherElements, {data, ind}, std::move(attrs))));
}

// Whether `reduction` is one the scatter ops take; records the error when it is not.
bool CheckScatterReduction(NodeContext& ctx, const std::string& reduction) {
  if (reduction == "none" || reduction == "add" || reduction == "mul" || reduction == "max" ||
      reduction == "min") {
    return true;
  }
  ctx.Unsupported("reduction='" + reduction + "' (expected none, add, mul, max or min)");
  return false;
}

// ScatterElements {axis=0, reduction=none|add|mul (16+)|max|min (18+)}; Scatter (opsets 9, 10)
// is ScatterElements without reduction.
void ImportScatterElements(NodeContext& ctx) {
  if (!ctx.ExpectInputs(3, 3) || !ctx.ExpectMaxOutputs(1)) return;
  int64_t axis = ctx.Int("axis", 0);
  std::string reduction = ctx.op_type() == "Scatter" ? "none" : ctx.Str("reduction", "none");
  if (!CheckScatterReduction(ctx, reduction)) return;
  Value* data = ctx.Input(0);
  Value* ind = ctx.Input(1);
  Value* upd = ctx.Input(2);
  if (!data || !ind || !upd) return;
  Attrs attrs;
  attrs.Set("axis", axis);
  attrs.Set("reduction", EnumValue{reduction});
  ctx.SetOutput(0, First(ctx.b().Op(OpKind::kScatterElements, {data, ind, upd}, std::move(attrs))));
}

// EyeLike {dtype, k=0}: a constant of the input's (static, 2-D) shape with ones on diagonal k.
void ImportEyeLike(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  int64_t k = ctx.Int("k", 0);
  std::optional<TensorType> t = ctx.InputType(0);
  if (!t) return;
  DType dtype = t->dtype;
  if (ctx.HasAttr("dtype")) {
    int64_t code = ctx.Int("dtype", 1);
    StatusOr<DType> d = FromOnnxDType(static_cast<int32_t>(code));
    if (!d.ok()) {
      ctx.Unsupported("dtype=" + OnnxDTypeName(static_cast<int32_t>(code)) + ": " +
                      d.status().message());
      return;
    }
    dtype = *d;
  }
  if (t->rank() != 2 || !t->shape[0].is_static() || !t->shape[1].is_static()) {
    ctx.Unsupported("input " + t->ToString() + " (needs a static 2-D shape)");
    return;
  }
  int64_t n = t->shape[0].value(), m = t->shape[1].value();
  if (n * m > (int64_t{1} << 20)) {
    ctx.Unsupported("an output of more than 2^20 elements");
    return;
  }
  std::vector<double> v(n * m, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    if (i + k >= 0 && i + k < m) v[i * m + i + k] = 1.0;
  }
  ctx.SetOutput(0, ctx.b().Constant(dtype, {n, m}, v));
}

// DepthToSpace {blocksize, mode=DCR|CRD} and SpaceToDepth {blocksize} on NCHW input, as ONNX's
// reshape / transpose / reshape definitions.
void ImportDepthSpace(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  const bool to_space = ctx.op_type() == "DepthToSpace";
  if (!ctx.HasAttr("blocksize")) {
    ctx.Error("attribute 'blocksize' is required");
    return;
  }
  int64_t bs = ctx.Int("blocksize", 1);
  std::string mode = to_space ? ctx.Str("mode", "DCR") : "DCR";
  if (mode != "DCR" && mode != "CRD") {
    ctx.Unsupported("mode='" + mode + "' (expected DCR or CRD)");
    return;
  }
  Value* x = ctx.Input(0);
  if (!x) return;
  if (x->rank() != 4 || bs < 1) {
    ctx.Error("input " + x->type().ToString() + " with blocksize " + std::to_string(bs) +
              " (expected rank 4 NCHW and blocksize >= 1)");
    return;
  }
  const Shape& s = x->shape();
  const Dim n = s[0], c = s[1], h = s[2], w = s[3];
  if (!c.is_static() || (to_space && c.value() % (bs * bs) != 0)) {
    ctx.Unsupported("channels " + c.ToString() + " (need a static multiple of blocksize^2)");
    return;
  }
  Builder& b = ctx.b();
  const Dim d(bs);
  if (to_space) {
    const Dim cb(c.value() / (bs * bs));
    if (mode == "DCR") {
      Value* r = b.Reshape(x, {n, d, d, cb, h, w});
      ctx.SetOutput(0, b.Reshape(b.Transpose(r, {0, 3, 4, 1, 5, 2}), {n, cb, h * d, w * d}));
    } else {
      Value* r = b.Reshape(x, {n, cb, d, d, h, w});
      ctx.SetOutput(0, b.Reshape(b.Transpose(r, {0, 1, 4, 2, 5, 3}), {n, cb, h * d, w * d}));
    }
    return;
  }
  if (!h.is_static() || !w.is_static() || h.value() % bs != 0 || w.value() % bs != 0) {
    ctx.Unsupported("spatial dims " + x->type().ToString() + " (need static multiples of " +
                    std::to_string(bs) + ")");
    return;
  }
  const Dim hb(h.value() / bs), wb(w.value() / bs);
  Value* r = b.Reshape(x, {n, c, hb, d, wb, d});
  ctx.SetOutput(0, b.Reshape(b.Transpose(r, {0, 3, 5, 1, 2, 4}), {n, c * d * d, hb, wb}));
}

// Tile(input, repeats): repeats known at import time; axis i repeated repeats[i] times by concat.
void ImportTile(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 2) || !ctx.ExpectMaxOutputs(1)) return;
  auto repeats = ctx.IntsInput(1, "repeats");
  Value* x = ctx.Input(0);
  if (!repeats || !x) return;
  if (static_cast<int64_t>(repeats->size()) != x->rank()) {
    ctx.Error("repeats has " + std::to_string(repeats->size()) + " values for input " +
              x->type().ToString());
    return;
  }
  Builder& b = ctx.b();
  Value* y = x;
  for (int64_t i = 0; i < x->rank(); ++i) {
    int64_t r = (*repeats)[i];
    if (r < 0 || r > 4096) {
      ctx.Unsupported("repeats[" + std::to_string(i) + "] = " + std::to_string(r) +
                      " (expected 0..4096)");
      return;
    }
    if (r == 1) continue;
    if (r == 0) {
      SliceOptions s;
      s.starts = {Dim(0)};
      s.ends = {Dim(0)};
      s.axes = {i};
      y = b.Slice(y, s);
      continue;
    }
    y = b.Concat(std::vector<Value*>(r, y), i);
  }
  ctx.SetOutput(0, y);
}

// Compress {axis}(input, condition): the slices of input along axis (of the flattened input
// without axis) where the 1-D condition is true; condition may be shorter than the axis.
void ImportCompress(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 2) || !ctx.ExpectMaxOutputs(1)) return;
  bool has_axis = ctx.HasAttr("axis");
  int64_t axis_attr = ctx.Int("axis", 0);
  const Tensor* cond = ctx.Constant(1);
  Value* x = ctx.Input(0);
  if (!x) return;
  if (!cond) {
    ctx.Unsupported("condition (input 1) must be known at import time (it decides the shape)");
    return;
  }
  if (cond->rank() != 1) {
    ctx.Error("condition has shape " + cond->TypeString() + ", expected 1-D");
    return;
  }
  Builder& b = ctx.b();
  if (!has_axis) x = b.Reshape(x, {Dim(-1)});  // flattened
  if (!x) return;
  auto axis = NormAxis(ctx, has_axis ? axis_attr : 0, x->rank());
  if (!axis) return;
  const Dim& len = x->shape()[*axis];
  if (len.is_static() && cond->numel() > len.value()) {
    ctx.Error("condition has " + std::to_string(cond->numel()) + " elements for axis " +
              std::to_string(*axis) + " of size " + len.ToString());
    return;
  }
  std::vector<double> picked;
  std::vector<double> c = cond->ToF64();
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i] != 0) picked.push_back(static_cast<double>(i));
  }
  Value* idx = b.Constant(DType::kI64, {static_cast<int64_t>(picked.size())}, picked);
  ctx.SetOutput(0, b.Gather(x, idx, *axis));
}

// ReverseSequence {batch_axis=1, time_axis=0}(input, sequence_lens): reverses the first
// sequence_lens[b] steps of every batch entry: gather_elements along time_axis with the constant
// index t' = t < len[b] ? len[b] - 1 - t : t, broadcast over the other axes.
void ImportReverseSequence(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 2) || !ctx.ExpectMaxOutputs(1)) return;
  int64_t batch_attr = ctx.Int("batch_axis", 1);
  int64_t time_attr = ctx.Int("time_axis", 0);
  auto lens = ctx.IntsInput(1, "sequence_lens");
  Value* x = ctx.Input(0);
  if (!lens || !x) return;
  if (x->rank() < 2) {
    ctx.Error("input " + x->type().ToString() + " must have rank >= 2");
    return;
  }
  auto ba = NormAxis(ctx, batch_attr, x->rank());
  auto ta = NormAxis(ctx, time_attr, x->rank());
  if (!ba || !ta) return;
  const Dim& bd = x->shape()[*ba];
  const Dim& td = x->shape()[*ta];
  if (*ba == *ta || !bd.is_static() || !td.is_static() ||
      bd.value() != static_cast<int64_t>(lens->size())) {
    ctx.Unsupported("input " + x->type().ToString() + " with " + std::to_string(lens->size()) +
                    " lengths (needs distinct batch and time axes of static sizes, one length "
                    "per batch entry)");
    return;
  }
  const int64_t nb = bd.value(), nt = td.value();
  std::vector<int64_t> shape(x->rank(), 1);
  shape[*ba] = nb;
  shape[*ta] = nt;
  std::vector<double> idx(nb * nt);
  for (int64_t bi = 0; bi < nb; ++bi) {
    int64_t len = (*lens)[bi];
    if (len < 0 || len > nt) {
      ctx.Error("sequence_lens[" + std::to_string(bi) + "] = " + std::to_string(len) +
                " is outside 0.." + std::to_string(nt));
      return;
    }
    for (int64_t t = 0; t < nt; ++t) {
      // Row-major position in `shape`, whose only non-1 dims are the batch and time axes.
      int64_t pos = *ba < *ta ? bi * nt + t : t * nb + bi;
      idx[pos] = static_cast<double>(t < len ? len - 1 - t : t);
    }
  }
  Builder& b = ctx.b();
  Value* ind = b.Expand(b.Constant(DType::kI64, shape, idx), x->shape());
  Attrs attrs;
  attrs.Set("axis", *ta);
  ctx.SetOutput(0, First(b.Op(OpKind::kGatherElements, {x, ind}, std::move(attrs))));
}

// The row of `data` viewed as [prod(data.shape[:m]), data.shape[m:]...] that each m-tuple of
// `indices` (last dim m, static) addresses, as an i64 tensor of indices.shape[:-1]: the
// row-major linear index of the tuple, negative entries wrapped. Also returns that 2-D+ view of
// data in *rows. nullptr (error recorded) on unsupported shapes.
Value* LinearRowIndex(NodeContext& ctx, Value* data, Value* indices, Value** rows) {
  Builder& b = ctx.b();
  const Shape& is = indices->shape();
  if (indices->rank() < 1 || !is.back().is_static()) {
    ctx.Unsupported("indices " + indices->type().ToString() + " (needs a static last dim)");
    return nullptr;
  }
  const int64_t m = is.back().value();
  if (m < 1 || m > data->rank()) {
    ctx.Error("indices " + indices->type().ToString() + " address " + std::to_string(m) +
              " dims of data " + data->type().ToString());
    return nullptr;
  }
  int64_t p = 1;
  for (int64_t j = 0; j < m; ++j) {
    if (!data->shape()[j].is_static()) {
      ctx.Unsupported("data " + data->type().ToString() + " (needs static indexed dims)");
      return nullptr;
    }
    const int64_t dj = data->shape()[j].value();
    if (dj < 1 || p > (int64_t{1} << 40) / dj) {
      ctx.Unsupported("data " + data->type().ToString() +
                      " (indexed dims must be non-empty, with at most 2^40 rows)");
      return nullptr;
    }
    p *= dj;
  }
  Shape view = {Dim(p)};
  view.insert(view.end(), data->shape().begin() + m, data->shape().end());
  *rows = b.Reshape(data, view);
  Value* ind = indices->dtype() == DType::kI64 ? indices : b.Cast(indices, DType::kI64);
  Value* linear = nullptr;
  int64_t stride = p;
  for (int64_t j = 0; j < m; ++j) {
    const int64_t dj = data->shape()[j].value();
    stride /= dj;
    SliceOptions s;
    s.starts = {Dim(j)};
    s.ends = {Dim(j + 1)};
    s.axes = {-1};
    Value* c = b.Squeeze(b.Slice(ind, s), {indices->rank() - 1});
    c = b.Where(b.Less(c, b.Scalar(0, DType::kI64)), b.Add(c, b.Scalar(dj, DType::kI64)), c);
    Value* term = b.Mul(c, b.Scalar(static_cast<double>(stride), DType::kI64));
    linear = linear ? b.Add(linear, term) : term;
  }
  return linear;
}

// GatherND {batch_dims=0}(data, indices): gather of the addressed rows of data's row view.
void ImportGatherNd(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 2) || !ctx.ExpectMaxOutputs(1)) return;
  int64_t batch_dims = ctx.Int("batch_dims", 0);
  Value* data = ctx.Input(0);
  Value* ind = ctx.Input(1);
  if (!data || !ind) return;
  if (batch_dims != 0) {
    ctx.Unsupported("batch_dims=" + std::to_string(batch_dims) + " (only 0)");
    return;
  }
  Value* rows = nullptr;
  Value* linear = LinearRowIndex(ctx, data, ind, &rows);
  if (!linear) return;
  ctx.SetOutput(0, ctx.b().Gather(rows, linear, 0));
}

// ScatterND {reduction=none|add|mul}(data, indices, updates): scatter_elements along axis 0 of
// data's row view, with each update row's linear index broadcast over the row.
void ImportScatterNd(NodeContext& ctx) {
  if (!ctx.ExpectInputs(3, 3) || !ctx.ExpectMaxOutputs(1)) return;
  std::string reduction = ctx.Str("reduction", "none");
  if (!CheckScatterReduction(ctx, reduction)) return;
  Value* data = ctx.Input(0);
  Value* ind = ctx.Input(1);
  Value* upd = ctx.Input(2);
  if (!data || !ind || !upd) return;
  Value* rows = nullptr;
  Value* linear = LinearRowIndex(ctx, data, ind, &rows);
  if (!linear) return;
  Builder& b = ctx.b();
  const Shape& rs = rows->shape();
  Shape row_rest(rs.begin() + 1, rs.end());
  Shape upd_view = {Dim(-1)};
  upd_view.insert(upd_view.end(), row_rest.begin(), row_rest.end());
  Value* u = b.Reshape(upd, upd_view);
  if (!u) return;
  Value* flat = b.Reshape(linear, {Dim(-1)});
  std::vector<int64_t> tail;
  for (int64_t i = 1; i < rows->rank(); ++i) tail.push_back(i);
  Value* ind_rows = tail.empty() ? flat : b.Expand(b.Unsqueeze(flat, tail), u->shape());
  Attrs attrs;
  attrs.Set("axis", int64_t{0});
  attrs.Set("reduction", EnumValue{reduction});
  Value* y = First(b.Op(OpKind::kScatterElements, {rows, ind_rows, u}, std::move(attrs)));
  if (y) ctx.SetOutput(0, b.Reshape(y, data->shape()));
}

// HannWindow / HammingWindow / BlackmanWindow {output_datatype=1, periodic=1}(size): constants
// over n in [0, size), N = periodic ? size : size - 1, as ONNX's reference formulas.
void ImportWindow(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  int64_t code = ctx.Int("output_datatype", 1);
  bool periodic = ctx.Int("periodic", 1) != 0;
  auto size = ctx.ScalarInput(0, "size");
  if (!size) return;
  StatusOr<DType> dtype = FromOnnxDType(static_cast<int32_t>(code));
  if (!dtype.ok()) {
    ctx.Unsupported("output_datatype=" + OnnxDTypeName(static_cast<int32_t>(code)) + ": " +
                    dtype.status().message());
    return;
  }
  const int64_t n = static_cast<int64_t>(*size);
  if (n < 0 || n > (int64_t{1} << 20)) {
    ctx.Unsupported("size " + std::to_string(n) + " (expected 0..2^20)");
    return;
  }
  const double big_n = static_cast<double>(periodic ? n : n - 1);
  const double pi = 3.14159265358979323846;
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) {
    const double a = 2.0 * pi * static_cast<double>(i) / big_n;
    if (ctx.op_type() == "HannWindow") {
      double s = std::sin(pi * static_cast<double>(i) / big_n);
      v[i] = s * s;
    } else if (ctx.op_type() == "HammingWindow") {
      v[i] = 25.0 / 46.0 - (21.0 / 46.0) * std::cos(a);
    } else {
      v[i] = 0.42 - 0.5 * std::cos(a) + 0.08 * std::cos(2.0 * a);
    }
  }
  ctx.SetOutput(0, ctx.b().Constant(*dtype, {n}, v));
}

}  // namespace

void RegisterIndexOps(OnnxOpRegistry& r) {
  r.Add("Compress", 9, 21, ImportCompress);
  r.Add("GatherND", 11, 21, ImportGatherNd);
  r.Add("ScatterND", 11, 21, ImportScatterNd);
  r.Add("ReverseSequence", 10, 21, ImportReverseSequence);
  r.Add("HannWindow", 17, 21, ImportWindow);
  r.Add("HammingWindow", 17, 21, ImportWindow);
  r.Add("BlackmanWindow", 17, 21, ImportWindow);
  r.Add("ArgMax", 1, 21, ImportArg<OpKind::kArgMax>);
  r.Add("ArgMin", 1, 21, ImportArg<OpKind::kArgMin>);
  r.Add("Hardmax", 13, 21, ImportHardmax);
  r.Add("OneHot", 9, 21, ImportOneHot);
  r.Add("GatherElements", 11, 21, ImportGatherElements);
  r.Add("ScatterElements", 11, 21, ImportScatterElements);
  r.Add("Scatter", 9, 10, ImportScatterElements);
  r.Add("EyeLike", 9, 21, ImportEyeLike);
  r.Add("DepthToSpace", 11, 21, ImportDepthSpace);
  r.Add("SpaceToDepth", 1, 21, ImportDepthSpace);
  r.Add("Tile", 6, 21, ImportTile);
}

}  // namespace kiln::onnx_import
