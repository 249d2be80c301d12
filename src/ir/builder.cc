#include "ir/builder.h"

#include "support/check.h"

namespace kiln {
namespace {

EpilogueStep Step(EpilogueOp::Kind kind) { return {EpilogueOp{.kind = kind}, nullptr}; }

// Expands one value to `n` copies; two values [a, b] to a 4-element pad as [a, b, a, b].
std::vector<int64_t> Expand(const Ints& v, size_t n) {
  if (v.v.size() == 1) return std::vector<int64_t>(n, v.v[0]);
  if (n == 4 && v.v.size() == 2) return {v.v[0], v.v[1], v.v[0], v.v[1]};
  return v.v;
}

Attrs ConvAttrs(const Conv2dOptions& o, bool transpose) {
  Attrs a{{"stride", Expand(o.stride, 2)},
          {"pad", Expand(o.pad, 4)},
          {"dilation", Expand(o.dilation, 2)},
          {"groups", o.groups},
          {"layout", EnumValue{LayoutName(o.layout)}}};
  if (transpose) a.Set("output_padding", Expand(o.output_padding, 2));
  // conv_transpose2d has no max_pool: a non-empty one there fails as an unknown attribute.
  if (!transpose || !o.max_pool.empty()) a.Set("max_pool", o.max_pool);
  return a;
}

Attrs PoolAttrs(const Pool2dOptions& o, bool is_max) {
  Attrs a{{"kernel", Expand(o.kernel, 2)},
          {"stride", Expand(o.stride, 2)},
          {"pad", Expand(o.pad, 4)},
          {"ceil_mode", o.ceil_mode},
          {"layout", EnumValue{LayoutName(o.layout)}}};
  if (is_max) a.Set("dilation", Expand(o.dilation, 2));
  else a.Set("count_include_pad", o.count_include_pad);
  return a;
}

}  // namespace

EpilogueStep Bias(Value* b) { return {EpilogueOp{.kind = EpilogueOp::Kind::kBias}, b}; }
EpilogueStep Residual(Value* r) { return {EpilogueOp{.kind = EpilogueOp::Kind::kAdd}, r}; }
EpilogueStep Relu() { return Step(EpilogueOp::Kind::kRelu); }
EpilogueStep Gelu() { return Step(EpilogueOp::Kind::kGelu); }
EpilogueStep GeluTanh() { return Step(EpilogueOp::Kind::kGeluTanh); }
EpilogueStep Silu() { return Step(EpilogueOp::Kind::kSilu); }
EpilogueStep Sigmoid() { return Step(EpilogueOp::Kind::kSigmoid); }
EpilogueStep Tanh() { return Step(EpilogueOp::Kind::kTanh); }
EpilogueStep Scale(double s) { return {EpilogueOp{.kind = EpilogueOp::Kind::kScale, .scale = s}, nullptr}; }
EpilogueStep CastTo(DType dtype) {
  return {EpilogueOp{.kind = EpilogueOp::Kind::kCast, .dtype = dtype}, nullptr};
}

std::string LayoutName(Layout layout) { return layout == Layout::kNCHW ? "nchw" : "nhwc"; }

Builder::Builder(std::string graph_name)
    : owned_(std::make_unique<Graph>(std::move(graph_name))), graph_(owned_.get()) {}

Builder::Builder(Graph* graph) : graph_(graph) {}

bool Builder::Fail(Status status) {
  if (status_.ok()) status_ = std::move(status);
  return false;
}

Dim Builder::Sym(const std::string& name, int64_t min, int64_t max) {
  Fail(graph_->AddSymbol(name, min, max));
  return Dim::Symbol(name);
}

Value* Builder::Input(const std::string& name, DType dtype, Shape shape) {
  if (graph_->FindValue(name)) {
    Fail(InvalidArgument("graph input %" + name + " defined twice"));
    return nullptr;
  }
  return graph_->AddInput(name, {dtype, std::move(shape)});
}

Value* Builder::Weight(const std::string& name, DType dtype, Shape shape) {
  std::vector<int64_t> dims;
  for (const Dim& d : shape) {
    if (!d.is_static()) {
      Fail(InvalidArgument("weight \"" + name + "\" has a symbolic dim " + d.ToString()));
      return nullptr;
    }
    dims.push_back(d.value());
  }
  Attrs attrs{{"name", name}, {"dtype", dtype}, {"shape", dims}};
  return Op1(OpKind::kWeight, {}, std::move(attrs));
}

Value* Builder::Constant(DType dtype, std::vector<int64_t> shape, std::vector<double> values) {
  Attrs attrs{{"value", std::move(values)}, {"dtype", dtype}, {"shape", std::move(shape)}};
  return Op1(OpKind::kConstant, {}, std::move(attrs));
}

void Builder::Output(Value* v) {
  if (!v) return;  // an earlier error is already recorded
  auto outs = graph_->outputs();
  outs.push_back(v);
  graph_->SetOutputs(std::move(outs));
}

void Builder::Output(Value* v, const std::string& name) {
  if (!v) return;
  Status renamed = graph_->RenameValue(v, name);
  if (!renamed.ok()) {
    Fail(renamed);
    return;
  }
  Output(v);
}

StatusOr<Graph> Builder::Finish() {
  KILN_CHECK(owned_) << "Finish() on a Builder over a borrowed graph";
  if (!status_.ok()) return status_;
  if (graph_->outputs().empty()) {
    return InvalidArgument("graph @" + graph_->name() + " has no outputs");
  }
  Graph g = std::move(*owned_);
  owned_.reset();
  graph_ = nullptr;
  return g;
}

std::vector<Value*> Builder::Op(OpKind op, std::vector<Value*> inputs, Attrs attrs) {
  if (!status_.ok()) return {};
  for (Value* v : inputs) {
    if (!v) return {};  // produced by a failed call; the error is recorded
  }
  auto node = graph_->AddNode(op, std::move(inputs), std::move(attrs));
  if (!node.ok()) {
    Fail(node.status());
    return {};
  }
  return (*node)->outputs();
}

Value* Builder::Op1(OpKind op, std::vector<Value*> inputs, Attrs attrs) {
  auto outs = Op(op, std::move(inputs), std::move(attrs));
  return outs.empty() ? nullptr : outs[0];
}

Value* Builder::WithEpilogue(OpKind op, std::vector<Value*> inputs, Attrs attrs,
                             const std::vector<EpilogueStep>& epilogue) {
  Epilogue ep;
  for (const EpilogueStep& step : epilogue) {
    ep.push_back(step.op);
    if (step.op.TakesOperand()) inputs.push_back(step.operand);
  }
  if (!ep.empty()) attrs.Set("epilogue", std::move(ep));
  return Op1(op, std::move(inputs), std::move(attrs));
}

// ---- elementwise
Value* Builder::Abs(Value* x) { return Op1(OpKind::kAbs, {x}); }
Value* Builder::Erf(Value* x) { return Op1(OpKind::kErf, {x}); }
Value* Builder::Exp(Value* x) { return Op1(OpKind::kExp, {x}); }
Value* Builder::Log(Value* x) { return Op1(OpKind::kLog, {x}); }
Value* Builder::Neg(Value* x) { return Op1(OpKind::kNeg, {x}); }
Value* Builder::Relu(Value* x) { return Op1(OpKind::kRelu, {x}); }
Value* Builder::Rsqrt(Value* x) { return Op1(OpKind::kRsqrt, {x}); }
Value* Builder::Sigmoid(Value* x) { return Op1(OpKind::kSigmoid, {x}); }
Value* Builder::Silu(Value* x) { return Op1(OpKind::kSilu, {x}); }
Value* Builder::Sqrt(Value* x) { return Op1(OpKind::kSqrt, {x}); }
Value* Builder::Tanh(Value* x) { return Op1(OpKind::kTanh, {x}); }
Value* Builder::Gelu(Value* x, bool tanh_approximation) {
  return Op1(OpKind::kGelu, {x},
             {{"approximate", EnumValue{tanh_approximation ? "tanh" : "none"}}});
}
Value* Builder::Clip(Value* x, double min, double max) {
  return Op1(OpKind::kClip, {x}, {{"min", min}, {"max", max}});
}
Value* Builder::Cast(Value* x, DType to) { return Op1(OpKind::kCast, {x}, {{"to", to}}); }
Value* Builder::Add(Value* a, Value* b) { return Op1(OpKind::kAdd, {a, b}); }
Value* Builder::Sub(Value* a, Value* b) { return Op1(OpKind::kSub, {a, b}); }
Value* Builder::Mul(Value* a, Value* b) { return Op1(OpKind::kMul, {a, b}); }
Value* Builder::Div(Value* a, Value* b) { return Op1(OpKind::kDiv, {a, b}); }
Value* Builder::Pow(Value* a, Value* b) { return Op1(OpKind::kPow, {a, b}); }
Value* Builder::Max(Value* a, Value* b) { return Op1(OpKind::kMax, {a, b}); }
Value* Builder::Min(Value* a, Value* b) { return Op1(OpKind::kMin, {a, b}); }
Value* Builder::Equal(Value* a, Value* b) { return Op1(OpKind::kEqual, {a, b}); }
Value* Builder::NotEqual(Value* a, Value* b) { return Op1(OpKind::kNotEqual, {a, b}); }
Value* Builder::Less(Value* a, Value* b) { return Op1(OpKind::kLess, {a, b}); }
Value* Builder::LessEqual(Value* a, Value* b) { return Op1(OpKind::kLessEqual, {a, b}); }
Value* Builder::Greater(Value* a, Value* b) { return Op1(OpKind::kGreater, {a, b}); }
Value* Builder::GreaterEqual(Value* a, Value* b) { return Op1(OpKind::kGreaterEqual, {a, b}); }
Value* Builder::Where(Value* c, Value* x, Value* y) { return Op1(OpKind::kWhere, {c, x, y}); }

// ---- contractions
Value* Builder::Gemm(Value* a, Value* b, const GemmOptions& o) {
  std::vector<Value*> inputs{a, b};
  if (o.c) inputs.push_back(o.c);
  Attrs attrs{{"trans_a", o.trans_a}, {"trans_b", o.trans_b}, {"alpha", o.alpha}, {"beta", o.beta}};
  return WithEpilogue(OpKind::kGemm, std::move(inputs), std::move(attrs), o.epilogue);
}
Value* Builder::Linear(Value* x, Value* w, Value* bias) {
  GemmOptions o{.trans_b = true};
  if (bias) o.epilogue.push_back(kiln::Bias(bias));
  return Gemm(x, w, o);
}
Value* Builder::Conv2d(Value* x, Value* w, const Conv2dOptions& o) {
  return WithEpilogue(OpKind::kConv2d, {x, w}, ConvAttrs(o, false), o.epilogue);
}
Value* Builder::ConvTranspose2d(Value* x, Value* w, const Conv2dOptions& o) {
  return WithEpilogue(OpKind::kConvTranspose2d, {x, w}, ConvAttrs(o, true), o.epilogue);
}
Value* Builder::Attention(Value* q, Value* k, Value* v, const AttentionOptions& o) {
  std::vector<Value*> inputs{q, k, v};
  if (o.mask) inputs.push_back(o.mask);
  return Op1(OpKind::kAttention, std::move(inputs), {{"causal", o.causal}, {"scale", o.scale}});
}

// ---- pooling
Value* Builder::MaxPool2d(Value* x, const Pool2dOptions& o) {
  return Op1(OpKind::kMaxPool2d, {x}, PoolAttrs(o, true));
}
Value* Builder::AvgPool2d(Value* x, const Pool2dOptions& o) {
  return Op1(OpKind::kAvgPool2d, {x}, PoolAttrs(o, false));
}
Value* Builder::GlobalAvgPool2d(Value* x, Layout layout) {
  return Op1(OpKind::kGlobalAvgPool2d, {x}, {{"layout", EnumValue{LayoutName(layout)}}});
}
Value* Builder::GlobalMaxPool2d(Value* x, Layout layout) {
  return Op1(OpKind::kGlobalMaxPool2d, {x}, {{"layout", EnumValue{LayoutName(layout)}}});
}

// ---- normalisation
Value* Builder::BatchNorm(Value* x, Value* scale, Value* bias, Value* mean, Value* var,
                          double eps, int64_t axis) {
  return Op1(OpKind::kBatchNorm, {x, scale, bias, mean, var}, {{"eps", eps}, {"axis", axis}});
}
Value* Builder::LayerNorm(Value* x, Value* weight, Value* bias, double eps, int64_t axis) {
  if (!weight && bias) {
    Fail(InvalidArgument("layer_norm: a bias needs a weight (pass a ones weight)"));
    return nullptr;
  }
  std::vector<Value*> inputs{x};
  if (weight) inputs.push_back(weight);
  if (bias) inputs.push_back(bias);
  return Op1(OpKind::kLayerNorm, std::move(inputs), {{"axis", axis}, {"eps", eps}});
}
Value* Builder::GroupNorm(Value* x, Value* weight, Value* bias, int64_t groups, double eps,
                          Layout layout) {
  return Op1(OpKind::kGroupNorm, {x, weight, bias},
             {{"groups", groups}, {"eps", eps}, {"layout", EnumValue{LayoutName(layout)}}});
}
Value* Builder::RmsNorm(Value* x, Value* weight, double eps, int64_t axis) {
  std::vector<Value*> inputs{x};
  if (weight) inputs.push_back(weight);
  return Op1(OpKind::kRmsNorm, std::move(inputs), {{"axis", axis}, {"eps", eps}});
}
Value* Builder::Softmax(Value* x, int64_t axis) { return Op1(OpKind::kSoftmax, {x}, {{"axis", axis}}); }
Value* Builder::LogSoftmax(Value* x, int64_t axis) {
  return Op1(OpKind::kLogSoftmax, {x}, {{"axis", axis}});
}

// ---- reductions
#define KILN_REDUCE(Name)                                                              \
  Value* Builder::Name(Value* x, std::vector<int64_t> axes, bool keepdims) {           \
    return Op1(OpKind::k##Name, {x}, {{"axes", std::move(axes)}, {"keepdims", keepdims}}); \
  }
KILN_REDUCE(ReduceSum)
KILN_REDUCE(ReduceMean)
KILN_REDUCE(ReduceMax)
KILN_REDUCE(ReduceMin)
KILN_REDUCE(ReduceProd)
#undef KILN_REDUCE

// ---- shape and data movement
Value* Builder::Reshape(Value* x, Shape shape) {
  if (!x) return nullptr;
  // Resolve one static -1 from the element count.
  int minus_one = -1;
  Dim known(1);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == Dim(-1)) {
      if (minus_one >= 0) {
        Fail(InvalidArgument("reshape of %" + x->name() + ": more than one -1 in " +
                             ShapeToString(shape)));
        return nullptr;
      }
      minus_one = static_cast<int>(i);
    } else {
      known = known * shape[i];
    }
  }
  if (minus_one >= 0) {
    auto d = NumElements(x->shape()).DivExact(known);
    if (!d.ok()) {
      Fail(InvalidArgument("reshape of %" + x->name() + " " + x->type().ToString() + " to " +
                           ShapeToString(shape) + ": cannot infer -1: " + d.status().message()));
      return nullptr;
    }
    shape[minus_one] = *d;
  }
  return Op1(OpKind::kReshape, {x}, {{"shape", std::vector<Dim>(shape.begin(), shape.end())}});
}
Value* Builder::Transpose(Value* x, std::vector<int64_t> perm) {
  return Op1(OpKind::kTranspose, {x}, {{"perm", std::move(perm)}});
}
Value* Builder::Squeeze(Value* x, std::vector<int64_t> axes) {
  return Op1(OpKind::kSqueeze, {x}, {{"axes", std::move(axes)}});
}
Value* Builder::Unsqueeze(Value* x, std::vector<int64_t> axes) {
  return Op1(OpKind::kUnsqueeze, {x}, {{"axes", std::move(axes)}});
}
Value* Builder::Flatten(Value* x, int64_t axis) { return Op1(OpKind::kFlatten, {x}, {{"axis", axis}}); }
Value* Builder::Expand(Value* x, Shape shape) {
  return Op1(OpKind::kExpand, {x}, {{"shape", std::vector<Dim>(shape.begin(), shape.end())}});
}
Value* Builder::Concat(std::vector<Value*> xs, int64_t axis) {
  return Op1(OpKind::kConcat, std::move(xs), {{"axis", axis}});
}
std::vector<Value*> Builder::Split(Value* x, std::vector<int64_t> sizes, int64_t axis) {
  return Op(OpKind::kSplit, {x}, {{"axis", axis}, {"sizes", std::move(sizes)}});
}
Value* Builder::Slice(Value* x, const SliceOptions& o) {
  return Op1(OpKind::kSlice, {x},
             {{"starts", o.starts}, {"ends", o.ends}, {"axes", o.axes}, {"steps", o.steps}});
}
Value* Builder::Pad(Value* x, std::vector<int64_t> pads, const std::string& mode, double value) {
  return Op1(OpKind::kPad, {x},
             {{"pads", std::move(pads)}, {"mode", EnumValue{mode}}, {"value", value}});
}
Value* Builder::Gather(Value* data, Value* indices, int64_t axis) {
  return Op1(OpKind::kGather, {data, indices}, {{"axis", axis}});
}
Value* Builder::Embedding(Value* weight, Value* ids) { return Op1(OpKind::kEmbedding, {weight, ids}); }
Value* Builder::Resize(Value* x, const ResizeOptions& o) {
  return Op1(OpKind::kResize, {x},
             {{"mode", EnumValue{o.mode}},
              {"scales", o.scales},
              {"size", o.size},
              {"coordinate_mode", EnumValue{o.coordinate_mode}},
              {"nearest_mode", EnumValue{o.nearest_mode}},
              {"layout", EnumValue{LayoutName(o.layout)}}});
}

}  // namespace kiln
