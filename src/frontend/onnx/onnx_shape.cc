// ONNX shape and data-movement ops: Shape, Size, ConstantOfShape, Constant, Range (folded at
// import time), Reshape, Transpose, Concat, Split, Slice, Gather, Expand, Pad, Resize, Squeeze,
// Unsqueeze, Flatten, Trilu. Shape values (OnnxValue::dims) flow through Gather, Concat, Slice,
// Squeeze, Unsqueeze and Reshape as symbolic dims, so exported shape computations fold.
#include <algorithm>
#include <cmath>
#include <limits>

#include "frontend/onnx/onnx_op_table.h"
#include "frontend/onnx/onnx_tensor.h"

namespace kiln::onnx_import {

namespace {

// Normalises an axis into [0, rank); records an error if out of range.
std::optional<int64_t> Axis(NodeContext& ctx, int64_t axis, int64_t rank, const std::string& what) {
  if (axis < -rank || axis >= rank) {
    ctx.Error(what + " " + std::to_string(axis) + " is out of range for rank " +
              std::to_string(rank));
    return std::nullopt;
  }
  return axis < 0 ? axis + rank : axis;
}

void ImportShape(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  std::optional<TensorType> t = ctx.InputType(0);
  if (!t) return;
  int64_t rank = t->rank();
  int64_t start = ctx.Int("start", 0);
  int64_t end = ctx.Int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  std::vector<Dim> dims;
  for (int64_t i = start; i < end; ++i) dims.push_back(t->shape[i]);
  ctx.SetDimsOutput(0, dims, false);
}

void ImportSize(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  std::optional<TensorType> t = ctx.InputType(0);
  if (t) ctx.SetDimsOutput(0, {NumElements(t->shape)}, true);
}

// The value of a Constant / ConstantOfShape attribute tensor.
std::optional<Tensor> AttrTensor(NodeContext& ctx, const std::string& name) {
  const onnx::TensorProto* p = ctx.TensorAttr(name);
  if (!p) return std::nullopt;
  StatusOr<Tensor> t = ReadTensorProto(*p, "", "attribute '" + name + "'");
  if (!t.ok()) {
    if (t.status().code() == StatusCode::kUnimplemented)
      ctx.Unsupported(t.status().message());
    else
      ctx.Error(t.status().message());
    return std::nullopt;
  }
  return *t;
}

void ImportConstant(NodeContext& ctx) {
  if (!ctx.ExpectInputs(0, 0) || !ctx.ExpectMaxOutputs(1)) return;
  for (const char* unsupported : {"sparse_value", "value_string", "value_strings"}) {
    if (ctx.HasAttr(unsupported)) {
      ctx.Ignore(unsupported);
      ctx.Unsupported(std::string("attribute '") + unsupported + "'");
      return;
    }
  }
  int given = 0;
  for (const char* a : {"value", "value_float", "value_floats", "value_int", "value_ints"}) {
    given += ctx.HasAttr(a) ? 1 : 0;
  }
  if (given != 1) {
    ctx.Error("expected exactly one value attribute, got " + std::to_string(given));
    return;
  }
  if (ctx.HasAttr("value")) {
    std::optional<Tensor> t = AttrTensor(ctx, "value");
    if (t) ctx.SetConstOutput(0, *t);
  } else if (ctx.HasAttr("value_float")) {
    float v = static_cast<float>(ctx.Float("value_float", 0));
    ctx.SetConstOutput(0, Tensor::FromF32(DType::kF32, {}, {&v, 1}));
  } else if (ctx.HasAttr("value_floats")) {
    std::vector<double> v = ctx.Floats("value_floats");
    ctx.SetConstOutput(0, Tensor::FromF64(DType::kF32, {static_cast<int64_t>(v.size())}, v));
  } else if (ctx.HasAttr("value_int")) {
    std::vector<Dim> d = {Dim(ctx.Int("value_int", 0))};
    ctx.SetDimsOutput(0, d, true);
  } else {
    std::vector<Dim> d;
    for (int64_t x : ctx.Ints("value_ints")) d.emplace_back(x);
    ctx.SetDimsOutput(0, d, false);
  }
}

void ImportConstantOfShape(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  std::optional<Tensor> value = ctx.HasAttr("value") ? AttrTensor(ctx, "value") : std::nullopt;
  if (!ctx.ok()) return;
  if (value && value->numel() != 1) {
    ctx.Error("attribute 'value' must have one element, got " + value->TypeString());
    return;
  }
  DType dtype = value ? value->dtype() : DType::kF32;
  double v = value ? value->GetF64(0) : 0.0;
  auto dims = ctx.DimsInput(0, "shape");
  if (!dims) return;
  bool all_static = true;
  std::vector<int64_t> shape;
  int64_t numel = 1;
  for (const Dim& d : *dims) {
    all_static = all_static && d.is_static();
    if (d.is_static()) {
      if (d.value() < 0 || d.value() > kMaxDim) {
        ctx.Error("shape dim " + std::to_string(d.value()) + " is negative or too large");
        return;
      }
      shape.push_back(d.value());
      numel = d.value() == 0
                  ? 0
                  : (numel > kMaxElements / d.value() ? kMaxElements + 1 : numel * d.value());
    }
  }
  if (all_static && numel <= (int64_t{1} << 24)) {
    Tensor t(dtype, shape);
    for (int64_t i = 0; i < numel; ++i) t.SetF64(i, v);
    ctx.SetConstOutput(0, t);
    return;
  }
  ctx.SetOutput(0, ctx.b().Expand(ctx.b().Constant(dtype, {}, {v}), *dims));
}

// Range with constant start, limit and delta (the exported position ids and masks).
void ImportRange(NodeContext& ctx) {
  if (!ctx.ExpectInputs(3, 3) || !ctx.ExpectMaxOutputs(1)) return;
  const Tensor* s = ctx.Constant(0);
  const Tensor* l = ctx.Constant(1);
  const Tensor* d = ctx.Constant(2);
  if (!s || !l || !d || s->numel() != 1 || l->numel() != 1 || d->numel() != 1) {
    ctx.Unsupported("start, limit and delta must be single values known at import time");
    return;
  }
  double start = s->GetF64(0), limit = l->GetF64(0), delta = d->GetF64(0);
  if (delta == 0) {
    ctx.Error("delta is 0");
    return;
  }
  double count = std::max(0.0, std::ceil((limit - start) / delta));
  if (count > static_cast<double>(int64_t{1} << 24)) {
    ctx.Unsupported("more than 2^24 elements");
    return;
  }
  int64_t n = static_cast<int64_t>(count);
  Tensor t(s->dtype(), {n});
  for (int64_t i = 0; i < n; ++i) t.SetF64(i, start + static_cast<double>(i) * delta);
  ctx.SetConstOutput(0, t);
}

void ImportReshape(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 2) || !ctx.ExpectMaxOutputs(1)) return;
  bool allowzero = ctx.opset() >= 14 && ctx.Int("allowzero", 0) != 0;
  auto shape = ctx.DimsInput(1, "shape");
  if (!shape) return;
  if (ctx.IsDims(0)) {  // reshaping a shape value: to [n] or [] only
    bool scalar = false;
    auto d = ctx.DimsInput(0, "data", &scalar);
    if (!d) return;
    if (shape->size() > 1) {
      ctx.Unsupported("reshape of a shape value to rank " + std::to_string(shape->size()));
      return;
    }
    ctx.SetDimsOutput(0, *d, shape->empty());
    return;
  }
  Value* x = ctx.Input(0);
  if (!x) return;
  Shape out;
  // The product of the static dims stays within 2^40 (no valid reshape has more elements), so
  // the element count computed by the builder cannot overflow.
  int64_t known = 1;
  for (size_t i = 0; i < shape->size(); ++i) {
    Dim d = (*shape)[i];
    if (d == Dim(0) && !allowzero) {
      if (static_cast<int64_t>(i) >= x->rank()) {
        ctx.Error("shape[" + std::to_string(i) + "] = 0 copies a dim the input does not have");
        return;
      }
      d = x->shape()[i];
    }
    if (d.is_static() && (d.value() < -1 || d.value() > kMaxDim)) {
      ctx.Error("shape has the invalid dim " + std::to_string(d.value()));
      return;
    }
    if (d.is_static() && d.value() > 0 &&
        (__builtin_mul_overflow(known, d.value(), &known) || known > kMaxElements)) {
      ctx.Error("shape has more than 2^40 elements (up to dim " + std::to_string(i) + ")");
      return;
    }
    out.push_back(d);
  }
  ctx.SetOutput(0, ctx.b().Reshape(x, out));
}

void ImportTranspose(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  Value* x = ctx.Input(0);
  if (!x) return;
  std::vector<int64_t> reversed;
  for (int64_t i = x->rank() - 1; i >= 0; --i) reversed.push_back(i);
  ctx.SetOutput(0, ctx.b().Transpose(x, ctx.Ints("perm", reversed)));
}

void ImportConcat(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, -1) || !ctx.ExpectMaxOutputs(1)) return;
  if (!ctx.HasAttr("axis")) {
    ctx.Error("attribute 'axis' is required");
    return;
  }
  int64_t axis = ctx.Int("axis", 0);
  bool any_dims = false;
  for (int i = 0; i < ctx.num_inputs(); ++i) any_dims = any_dims || ctx.IsDims(i);
  if (any_dims) {
    std::vector<Dim> out;
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      bool scalar = false;
      auto d = ctx.DimsInput(i, "input " + std::to_string(i), &scalar);
      if (!d) return;
      if (scalar) {
        ctx.Error("concat of a scalar");
        return;
      }
      out.insert(out.end(), d->begin(), d->end());
    }
    ctx.SetDimsOutput(0, out, false);
    return;
  }
  std::vector<Value*> xs;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (ctx.has_input(i)) xs.push_back(ctx.Input(i));
  }
  ctx.SetOutput(0, ctx.b().Concat(xs, axis));
}

void ImportSplit(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 2)) return;
  Value* x = ctx.Input(0);
  int64_t axis_attr = ctx.Int("axis", 0);
  int64_t num_outputs = ctx.opset() >= 18 ? ctx.Int("num_outputs", 0) : 0;
  if (!x) return;
  auto axis = Axis(ctx, axis_attr, x->rank(), "axis");
  if (!axis) return;
  std::vector<int64_t> sizes;
  if (ctx.has_input(1)) {
    auto s = ctx.IntsInput(1, "split");
    if (!s) return;
    sizes = *s;
  } else {
    const Dim& d = x->shape()[*axis];
    int64_t n = num_outputs > 0 ? num_outputs : ctx.num_outputs();
    if (!d.is_static()) {
      ctx.Unsupported("even split of the symbolic dim " + d.ToString());
      return;
    }
    if (n < 1) {
      ctx.Error("no outputs");
      return;
    }
    if (n != ctx.num_outputs()) {  // checked before the loop below runs n times
      ctx.Error("num_outputs=" + std::to_string(n) + " for " + std::to_string(ctx.num_outputs()) +
                " outputs");
      return;
    }
    // Opset 18 num_outputs: ceil-sized chunks, the last one smaller.
    int64_t chunk = (d.value() + n - 1) / n;
    if (num_outputs == 0 && d.value() % n != 0) {
      ctx.Error("dim " + d.ToString() + " does not split evenly into " + std::to_string(n));
      return;
    }
    for (int64_t i = 0, left = d.value(); i < n; ++i) {
      sizes.push_back(std::min(chunk, left));
      left -= sizes.back();
    }
  }
  if (static_cast<int64_t>(sizes.size()) != ctx.num_outputs()) {
    ctx.Error(std::to_string(sizes.size()) + " split sizes for " +
              std::to_string(ctx.num_outputs()) + " outputs");
    return;
  }
  std::vector<Value*> outs = ctx.b().Split(x, sizes, *axis);
  for (size_t i = 0; i < outs.size(); ++i) ctx.SetOutput(static_cast<int>(i), outs[i]);
}

void ImportSlice(NodeContext& ctx) {
  if (!ctx.ExpectInputs(3, 5) || !ctx.ExpectMaxOutputs(1)) return;
  auto starts = ctx.DimsInput(1, "starts");
  auto ends = ctx.DimsInput(2, "ends");
  std::vector<int64_t> axes, steps;
  if (ctx.has_input(3)) {
    auto a = ctx.IntsInput(3, "axes");
    if (!a) return;
    axes = *a;
  }
  if (ctx.has_input(4)) {
    auto s = ctx.IntsInput(4, "steps");
    if (!s) return;
    steps = *s;
  }
  if (!starts || !ends) return;
  for (int64_t step : steps) {
    if (step == 0) {
      ctx.Error("a step is 0");
      return;
    }
  }
  if (ctx.IsDims(0)) {  // slicing a shape value: static starts/ends/steps on axis 0
    bool scalar = false;
    auto d = ctx.DimsInput(0, "data", &scalar);
    if (!d) return;
    int64_t n = static_cast<int64_t>(d->size());
    if (scalar || starts->size() != 1 || ends->size() != 1 || !(*starts)[0].is_static() ||
        !(*ends)[0].is_static() || (!axes.empty() && axes[0] != 0 && axes[0] != -1)) {
      ctx.Unsupported("slice of a shape value with symbolic or multi-axis bounds");
      return;
    }
    int64_t step = steps.empty() ? 1 : steps[0];
    if (step == 0) {
      ctx.Error("step 0");
      return;
    }
    // A step longer than the value picks one element either way; clamped, i += step below
    // cannot overflow.
    step = std::clamp<int64_t>(step, -(n + 1), n + 1);
    int64_t s = (*starts)[0].value(), e = (*ends)[0].value();
    if (s < 0) s += n;
    if (e < 0) e += n;
    std::vector<Dim> out;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, n);
      e = std::clamp<int64_t>(e, 0, n);
      for (int64_t i = s; i < e; i += step) out.push_back((*d)[i]);
    } else {
      s = std::clamp<int64_t>(s, -1, n - 1);
      e = std::clamp<int64_t>(e, -1, n - 1);
      for (int64_t i = s; i > e; i += step) out.push_back((*d)[i]);
    }
    ctx.SetDimsOutput(0, out, false);
    return;
  }
  Value* x = ctx.Input(0);
  if (!x) return;
  if (axes.empty()) {
    for (size_t i = 0; i < starts->size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (axes.size() != starts->size() || ends->size() != starts->size() ||
      (!steps.empty() && steps.size() != starts->size())) {
    ctx.Error("starts, ends, axes and steps have different lengths");
    return;
  }
  // Out-of-range static bounds (PyTorch writes INT64_MAX for "to the end") are clamped here to
  // [-d-1, d], which keeps their meaning; against a symbolic dim, a huge end becomes the dim.
  for (size_t i = 0; i < axes.size(); ++i) {
    auto axis = Axis(ctx, axes[i], x->rank(), "axis");
    if (!axis) return;
    const Dim& d = x->shape()[*axis];
    int64_t step = steps.empty() ? 1 : steps[i];
    for (Dim* bound : {&(*starts)[i], &(*ends)[i]}) {
      if (!bound->is_static()) continue;
      int64_t v = bound->value();
      if (d.is_static()) {
        *bound = Dim(std::clamp<int64_t>(v, -d.value() - 1, d.value()));
      } else if (v >= kMaxDim && step > 0) {
        *bound = d;
      } else if (v >= kMaxDim || v <= -kMaxDim) {
        ctx.Unsupported("slice bound " + std::to_string(v) + " with step " + std::to_string(step) +
                        " on the symbolic dim " + d.ToString());
        return;
      }
    }
  }
  SliceOptions o;
  o.starts = *starts;
  o.ends = *ends;
  o.axes = axes;
  o.steps = steps;
  ctx.SetOutput(0, ctx.b().Slice(x, o));
}

void ImportGather(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 2) || !ctx.ExpectMaxOutputs(1)) return;
  int64_t axis = ctx.Int("axis", 0);
  if (ctx.IsDims(0)) {  // picking dims out of a shape value
    bool scalar = false;
    auto d = ctx.DimsInput(0, "data", &scalar);
    const Tensor* idx = ctx.Constant(1);
    if (!d) return;
    if (scalar || (axis != 0 && axis != -1) || !idx || idx->rank() > 1) {
      ctx.Unsupported("gather from a shape value needs constant indices of rank <= 1 on axis 0");
      return;
    }
    int64_t n = static_cast<int64_t>(d->size());
    std::vector<Dim> out;
    for (int64_t i : idx->ToI64()) {
      if (i < -n || i >= n) {
        ctx.Error("index " + std::to_string(i) + " out of range for " + std::to_string(n) +
                  " dims");
        return;
      }
      out.push_back((*d)[i < 0 ? i + n : i]);
    }
    ctx.SetDimsOutput(0, out, idx->rank() == 0);
    return;
  }
  ctx.SetOutput(0, ctx.b().Gather(ctx.Input(0), ctx.Input(1), axis));
}

// Bidirectional broadcast of x's shape with `shape` (ONNX Expand), then kiln's expand.
void ImportExpand(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 2) || !ctx.ExpectMaxOutputs(1)) return;
  auto shape = ctx.DimsInput(1, "shape");
  Value* x = ctx.Input(0);
  if (!shape || !x) return;
  for (const Dim& d : *shape) {
    if (d.is_static() && (d.value() < 0 || d.value() > kMaxDim)) {
      ctx.Error("shape has the invalid dim " + std::to_string(d.value()));
      return;
    }
  }
  size_t rank = std::max(shape->size(), static_cast<size_t>(x->rank()));
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    size_t from_end = rank - 1 - i;
    Dim a =
        from_end < static_cast<size_t>(x->rank()) ? x->shape()[x->rank() - 1 - from_end] : Dim(1);
    Dim b = from_end < shape->size() ? (*shape)[shape->size() - 1 - from_end] : Dim(1);
    if (a == b || b == Dim(1)) {
      out[i] = a;
    } else if (a == Dim(1)) {
      out[i] = b;
    } else {
      ctx.Error("cannot broadcast " + x->type().ToString() + " to " + ShapeToString(*shape));
      return;
    }
  }
  ctx.SetOutput(0, ctx.b().Expand(x, out));
}

void ImportPad(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 4) || !ctx.ExpectMaxOutputs(1)) return;
  std::string mode = ctx.Str("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge") {
    ctx.Unsupported("mode='" + mode + "' (supported: constant, reflect, edge)");
    return;
  }
  Value* x = ctx.Input(0);
  auto pads = ctx.IntsInput(1, "pads");
  if (!x || !pads) return;
  double value = 0.0;
  if (ctx.has_input(2)) {
    auto v = ctx.ScalarInput(2, "constant_value");
    if (!v) return;
    value = *v;
  }
  int64_t rank = x->rank();
  std::vector<int64_t> axes;
  if (ctx.has_input(3)) {
    auto a = ctx.IntsInput(3, "axes");
    if (!a) return;
    for (int64_t ax : *a) {
      auto n = Axis(ctx, ax, rank, "axis");
      if (!n) return;
      axes.push_back(*n);
    }
  } else {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  if (pads->size() != 2 * axes.size()) {
    ctx.Error("pads has " + std::to_string(pads->size()) + " values, expected " +
              std::to_string(2 * axes.size()));
    return;
  }
  std::vector<int64_t> full(2 * rank, 0);
  size_t n = axes.size();
  for (size_t i = 0; i < n; ++i) {
    if ((*pads)[i] < 0 || (*pads)[i + n] < 0) {
      ctx.Unsupported("negative pads (cropping)");
      return;
    }
    full[axes[i]] = (*pads)[i];
    full[axes[i] + rank] = (*pads)[i + n];
  }
  ctx.SetOutput(0, ctx.b().Pad(x, full, mode, value));
}

// Resize of the two spatial dims of an NCHW tensor (N and C scales 1).
void ImportResize(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 4) || !ctx.ExpectMaxOutputs(1)) return;
  std::string mode = ctx.Str("mode", "nearest");
  std::string coord = ctx.Str("coordinate_transformation_mode", "half_pixel");
  std::string nearest = ctx.Str("nearest_mode", "round_prefer_floor");
  ctx.Float("cubic_coeff_a", -0.75);  // cubic only, which is rejected
  if (ctx.Int("exclude_outside", 0) != 0) {
    ctx.Unsupported("exclude_outside=1");
    return;
  }
  if (ctx.Int("antialias", 0) != 0) {
    ctx.Unsupported("antialias=1");
    return;
  }
  std::string policy = ctx.Str("keep_aspect_ratio_policy", "stretch");
  std::vector<int64_t> axes = ctx.Ints("axes");
  if (coord == "tf_crop_and_resize") {
    ctx.Unsupported("coordinate_transformation_mode=tf_crop_and_resize");
    return;
  }
  ctx.Float("extrapolation_value", 0.0);  // tf_crop_and_resize only
  if (policy != "stretch") {
    ctx.Unsupported("keep_aspect_ratio_policy='" + policy + "'");
    return;
  }
  if (mode != "nearest" && mode != "linear") {
    ctx.Unsupported("mode='" + mode + "' (supported: nearest, linear)");
    return;
  }
  if (coord != "half_pixel" && coord != "align_corners" && coord != "asymmetric" &&
      coord != "pytorch_half_pixel") {
    ctx.Unsupported("coordinate_transformation_mode='" + coord + "'");
    return;
  }
  if (nearest != "round_prefer_floor" && nearest != "round_prefer_ceil" && nearest != "floor" &&
      nearest != "ceil") {
    ctx.Error("nearest_mode='" + nearest + "'");
    return;
  }
  Value* x = ctx.Input(0);
  if (!x) return;
  if (x->rank() != 4) {
    ctx.Unsupported("input of rank " + std::to_string(x->rank()) + " (only 4-D NCHW)");
    return;
  }
  if (!axes.empty() && axes != std::vector<int64_t>{2, 3} && axes != std::vector<int64_t>{-2, -1}) {
    ctx.Unsupported("axes other than the two spatial dims");
    return;
  }
  size_t n = axes.empty() ? 4 : 2;
  ResizeOptions o;
  o.mode = mode == "linear" ? "bilinear" : "nearest";
  o.coordinate_mode = coord;
  o.nearest_mode = nearest;
  const Tensor* scales = ctx.has_input(2) ? ctx.Constant(2) : nullptr;
  bool has_scales = scales && scales->numel() > 0;
  bool has_sizes = ctx.has_input(3);
  if (ctx.has_input(2) && !scales) {
    ctx.Unsupported("scales must be known at import time");
    return;
  }
  if (has_scales == has_sizes) {
    ctx.Error("give exactly one of scales and sizes");
    return;
  }
  if (has_scales) {
    std::vector<double> s = scales->ToF64();
    if (s.size() != n) {
      ctx.Error("scales has " + std::to_string(s.size()) + " values, expected " +
                std::to_string(n));
      return;
    }
    if (n == 4 && (s[0] != 1.0 || s[1] != 1.0)) {
      ctx.Unsupported("scaling the batch or channel dim");
      return;
    }
    for (size_t i = n - 2; i < n; ++i) {
      if (!(s[i] > 0) || !(s[i] <= 1 << 20)) {
        ctx.Error("scale " + std::to_string(s[i]) + " must be in (0, 2^20]");
        return;
      }
    }
    o.scales = {s[n - 2], s[n - 1]};
  } else {
    auto sz = ctx.IntsInput(3, "sizes");
    if (!sz) return;
    if (sz->size() != n) {
      ctx.Error("sizes has " + std::to_string(sz->size()) + " values, expected " +
                std::to_string(n));
      return;
    }
    if (n == 4 && (Dim((*sz)[0]) != x->shape()[0] || Dim((*sz)[1]) != x->shape()[1])) {
      ctx.Unsupported("resizing the batch or channel dim");
      return;
    }
    for (size_t i = n - 2; i < n; ++i) {
      if ((*sz)[i] < 1 || (*sz)[i] > kMaxDim) {
        ctx.Error("size " + std::to_string((*sz)[i]) + " must be positive");
        return;
      }
    }
    o.size = {(*sz)[n - 2], (*sz)[n - 1]};
  }
  ctx.SetOutput(0, ctx.b().Resize(x, o));
}

// Axes of Squeeze / Unsqueeze: an attribute before opset 13, an optional input from 13.
std::vector<int64_t> AxesOf(NodeContext& ctx, int input) {
  if (ctx.opset() < 13) return ctx.Ints("axes");
  if (!ctx.has_input(input)) return {};
  auto a = ctx.IntsInput(input, "axes");
  return a ? *a : std::vector<int64_t>{};
}

void ImportSqueeze(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, ctx.opset() < 13 ? 1 : 2) || !ctx.ExpectMaxOutputs(1)) return;
  std::vector<int64_t> axes = AxesOf(ctx, 1);
  if (!ctx.ok()) return;
  if (ctx.IsDims(0)) {
    bool scalar = false;
    auto d = ctx.DimsInput(0, "data", &scalar);
    if (!d) return;
    if (scalar || d->size() != 1) {
      ctx.Unsupported("squeeze of a shape value with " + std::to_string(d->size()) + " elements");
      return;
    }
    ctx.SetDimsOutput(0, *d, true);
    return;
  }
  ctx.SetOutput(0, ctx.b().Squeeze(ctx.Input(0), axes));
}

void ImportUnsqueeze(NodeContext& ctx) {
  if (!ctx.ExpectInputs(ctx.opset() < 13 ? 1 : 2, ctx.opset() < 13 ? 1 : 2) ||
      !ctx.ExpectMaxOutputs(1)) {
    return;
  }
  std::vector<int64_t> axes = AxesOf(ctx, 1);
  if (!ctx.ok()) return;
  if (ctx.IsDims(0)) {
    bool scalar = false;
    auto d = ctx.DimsInput(0, "data", &scalar);
    if (!d) return;
    if (!scalar || axes.size() != 1 || (axes[0] != 0 && axes[0] != -1)) {
      ctx.Unsupported("unsqueeze of a shape value beyond rank 1");
      return;
    }
    ctx.SetDimsOutput(0, *d, false);
    return;
  }
  ctx.SetOutput(0, ctx.b().Unsqueeze(ctx.Input(0), axes));
}

void ImportFlatten(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  int64_t axis = ctx.Int("axis", 1);
  Value* x = ctx.Input(0);
  if (!x) return;
  if (axis < 0) axis += x->rank();
  if (axis < 0 || axis > x->rank()) {
    ctx.Error("axis " + std::to_string(axis) + " out of range for rank " +
              std::to_string(x->rank()));
    return;
  }
  ctx.SetOutput(0, ctx.b().Flatten(x, axis));
}

// Trilu: where(mask, x, 0) over the two (static) last dims: a constant mask when k is known at
// import time, else the comparison of constant diagonal offsets (j - i) with k at run time.
void ImportTrilu(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 2) || !ctx.ExpectMaxOutputs(1)) return;
  bool upper = ctx.Int("upper", 1) != 0;
  Value* x = ctx.Input(0);
  if (!x) return;
  if (x->rank() < 2 || !x->shape()[x->rank() - 2].is_static() ||
      !x->shape()[x->rank() - 1].is_static()) {
    ctx.Unsupported("input " + x->type().ToString() + " (needs rank >= 2 with static last dims)");
    return;
  }
  int64_t n = x->shape()[x->rank() - 2].value(), m = x->shape()[x->rank() - 1].value();
  if (n > (int64_t{1} << 20) || m > (int64_t{1} << 20) || n * m > (int64_t{1} << 20)) {
    ctx.Unsupported("a mask of more than 2^20 elements");
    return;
  }
  Builder& b = ctx.b();
  Value* zero = b.Scalar(0.0, x->dtype());
  if (ctx.has_input(1) && !ctx.Constant(1)) {
    // k known at run time: compare the constant diagonal offsets j - i with it.
    std::optional<TensorType> kt = ctx.InputType(1);
    if (!kt) return;
    if (kt->dtype != DType::kI64 || kt->rank() > 1 || (kt->rank() == 1 && kt->shape[0] != Dim(1))) {
      ctx.Error("k must be a single i64 value, got " + kt->ToString());
      return;
    }
    std::vector<double> offsets;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < m; ++j) offsets.push_back(static_cast<double>(j - i));
    }
    Value* diag = b.Constant(DType::kI64, {n, m}, offsets);
    Value* k = b.Reshape(ctx.Input(1), {});
    Value* mask = upper ? b.GreaterEqual(diag, k) : b.LessEqual(diag, k);
    ctx.SetOutput(0, b.Where(mask, x, zero));
    return;
  }
  int64_t k = 0;
  if (ctx.has_input(1)) {
    auto v = ctx.ScalarInput(1, "k");
    if (!v) return;
    if (std::isnan(*v)) {
      ctx.Error("k is NaN");
      return;
    }
    // Beyond +-2^40 every element is on one side of the diagonal; clamped, the cast is defined.
    k = static_cast<int64_t>(
        std::clamp<double>(*v, -static_cast<double>(kMaxDim), static_cast<double>(kMaxDim)));
  }
  std::vector<double> mask;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < m; ++j) mask.push_back(upper ? (j - i >= k) : (j - i <= k));
  }
  ctx.SetOutput(0, b.Where(b.Constant(DType::kBool, {n, m}, mask), x, zero));
}

}  // namespace

void RegisterShapeOps(OnnxOpRegistry& r) {
  r.Add("Shape", 7, 21, ImportShape);
  r.Add("Size", 7, 21, ImportSize);
  r.Add("Constant", 9, 21, ImportConstant);
  r.Add("ConstantOfShape", 9, 21, ImportConstantOfShape);
  r.Add("Range", 11, 21, ImportRange);
  r.Add("Reshape", 7, 21, ImportReshape);
  r.Add("Transpose", 7, 21, ImportTranspose);
  r.Add("Concat", 11, 21, ImportConcat);
  r.Add("Split", 13, 21, ImportSplit);
  r.Add("Slice", 11, 21, ImportSlice);
  r.Add("Gather", 11, 21, ImportGather);
  r.Add("Expand", 8, 21, ImportExpand);
  r.Add("Pad", 11, 21, ImportPad);
  r.Add("Resize", 13, 21, ImportResize);
  r.Add("Squeeze", 1, 21, ImportSqueeze);
  r.Add("Unsqueeze", 1, 21, ImportUnsqueeze);
  r.Add("Flatten", 11, 21, ImportFlatten);
  r.Add("Trilu", 14, 21, ImportTrilu);
}

}  // namespace kiln::onnx_import
