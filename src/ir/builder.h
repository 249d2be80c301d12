// Builder: constructs a Graph with calls that read like model code,
//
//   Builder b("mlp");
//   Value* x = b.Input("x", DType::kF32, {b.Sym("N", 1, 64), 784});
//   Value* h = b.Gemm(x, b.Weight("fc1.weight", DType::kF32, {256, 784}),
//                     {.trans_b = true, .epilogue = {Bias(b.Weight("fc1.bias", ..., {256})), Relu()}});
//   b.Output(h);
//   StatusOr<Graph> g = b.Finish();
//
// Errors are sticky: the first failed op (bad shapes, bad attributes) is recorded, later calls
// return nullptr, and Finish() returns that error. Each method documents its op's attributes;
// this header is the reference for attribute names and meanings.
#ifndef KILN_IR_BUILDER_H_
#define KILN_IR_BUILDER_H_

#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln {

/// A list of ints that also accepts one int (expanded per op: stride=2 means [2,2]).
struct Ints {
  std::vector<int64_t> v;
  Ints() = default;
  Ints(int64_t x) : v{x} {}  // NOLINT: implicit by design
  Ints(std::initializer_list<int64_t> l) : v(l) {}
  Ints(std::vector<int64_t> l) : v(std::move(l)) {}  // NOLINT
};

/// An epilogue step plus its tensor operand (bias, residual add).
struct EpilogueStep {
  EpilogueOp op;
  Value* operand = nullptr;
};
/// bias(%b): adds b (shape [C]) along the output channel axis (last axis for gemm and nhwc conv,
/// axis 1 for nchw conv).
EpilogueStep Bias(Value* b);
/// add(%r): adds r, broadcast (numpy rules) to the output shape: residual connections.
EpilogueStep Residual(Value* r);
EpilogueStep Relu();
EpilogueStep Gelu();      // erf form
EpilogueStep GeluTanh();  // tanh approximation
EpilogueStep Silu();
EpilogueStep Sigmoid();
EpilogueStep Tanh();
EpilogueStep Scale(double s);
/// cast(dtype): the output's dtype; must be the last step.
EpilogueStep CastTo(DType dtype);

enum class Layout { kNCHW, kNHWC };

struct GemmOptions {
  bool trans_a = false;  // a is [..., K, M]
  bool trans_b = false;  // b is [..., N, K] (nn.Linear weights)
  double alpha = 1.0;
  double beta = 1.0;     // scales c
  Value* c = nullptr;    // optional addend, broadcast to [..., M, N]
  std::vector<EpilogueStep> epilogue = {};
};

struct Conv2dOptions {
  Ints stride = 1;    // [sh, sw]
  Ints pad = 0;       // one value, [ph, pw], or [top, left, bottom, right]
  Ints dilation = 1;  // [dh, dw]
  int64_t groups = 1;
  Layout layout = Layout::kNCHW;  // nchw: w [O, C/g, kh, kw]; nhwc: w [O, kh, kw, C/g]
  std::vector<EpilogueStep> epilogue = {};
  Ints output_padding = 0;  // conv_transpose2d only; w is [C, O/g, kh, kw] (nhwc: [C, kh, kw, O/g])
  // conv2d only: [] (no pool) or [kh, kw, sh, sw, pt, pl, pb, pr], a max pool applied to the
  // conv's result after its epilogue; the node's output is the pooled tensor. Dilation 1, floor
  // mode (ceil_mode=false), padding never wins, NaN propagates: max_pool2d's semantics, with
  // 1 <= kernel, 1 <= stride and 0 <= pad < kernel in each direction. The epilogue's operands
  // (bias, residual add) have the unpooled conv output's shape. Made by the fuse-conv-max-pool
  // pass for the cuda-sm90 few-channel kernel (a ResNet stem); other kernels reject it.
  std::vector<int64_t> max_pool = {};
};

struct Pool2dOptions {
  Ints kernel = {};   // required
  Ints stride = 1;
  Ints pad = 0;       // as in Conv2dOptions; padded elements never win a max / are excluded from
                      // an average unless count_include_pad
  Ints dilation = 1;  // max pool only
  bool ceil_mode = false;
  bool count_include_pad = false;  // avg pool only
  Layout layout = Layout::kNCHW;
};

struct SliceOptions {
  std::vector<Dim> starts = {};
  std::vector<Dim> ends = {};  // exclusive; static values are clamped like ONNX Slice
  std::vector<int64_t> axes = {};   // default: 0..len(starts)-1
  std::vector<int64_t> steps = {};  // default: all 1; negative steps walk backwards
};

struct ResizeOptions {
  std::string mode = "nearest";  // nearest | bilinear
  std::vector<double> scales = {};  // [sh, sw]; or give size
  std::vector<int64_t> size = {};   // [H_out, W_out]
  std::string coordinate_mode = "half_pixel";  // half_pixel | align_corners | asymmetric | pytorch_half_pixel
  std::string nearest_mode = "round_prefer_floor";  // floor | ceil | round_prefer_floor | round_prefer_ceil
  Layout layout = Layout::kNCHW;
};

struct AttentionOptions {
  Value* mask = nullptr;  // additive, broadcastable to [B, H, Sq, Sk]
  bool causal = false;    // query i sees keys j <= i (top-left aligned, as torch SDPA)
  double scale = 0.0;     // 0 means 1/sqrt(D)
};

class Builder {
 public:
  explicit Builder(std::string graph_name);
  /// Builds into an existing graph (e.g. a fusion body or an importer's graph).
  explicit Builder(Graph* graph);

  Graph& graph() { return *graph_; }
  /// Declares a symbolic dim with its inclusive range and returns it.
  Dim Sym(const std::string& name, int64_t min, int64_t max);

  Value* Input(const std::string& name, DType dtype, Shape shape);
  /// A weight by reference; data comes from graph().weights() at run time.
  Value* Weight(const std::string& name, DType dtype, Shape shape);
  /// A small constant, values row-major (or one value to fill the shape).
  Value* Constant(DType dtype, std::vector<int64_t> shape, std::vector<double> values);
  Value* Scalar(double value, DType dtype = DType::kF32) { return Constant(dtype, {}, {value}); }
  void Output(Value* v);
  /// Marks `v` as a graph output and renames it to `name` (e.g. "logits").
  void Output(Value* v, const std::string& name);

  /// The first error, or ok.
  const Status& status() const { return status_; }
  /// The finished graph (outputs must be set), or the first error. Only for the own-graph form.
  StatusOr<Graph> Finish();

  // ---- elementwise (numpy broadcasting for binary ops; operands share a dtype) ----
  Value* Abs(Value* x);
  Value* Erf(Value* x);
  Value* Exp(Value* x);
  Value* Log(Value* x);
  Value* Neg(Value* x);
  Value* Relu(Value* x);
  Value* Rsqrt(Value* x);
  Value* Sigmoid(Value* x);
  Value* Silu(Value* x);
  Value* Sqrt(Value* x);
  Value* Tanh(Value* x);
  /// gelu {approximate=none|tanh}.
  Value* Gelu(Value* x, bool tanh_approximation = false);
  /// clip {min, max} (floats; defaults are the f32 range).
  Value* Clip(Value* x, double min, double max);
  /// cast {to=dtype}.
  Value* Cast(Value* x, DType to);
  Value* Add(Value* a, Value* b);
  Value* Sub(Value* a, Value* b);
  Value* Mul(Value* a, Value* b);
  Value* Div(Value* a, Value* b);
  Value* Pow(Value* a, Value* b);
  Value* Max(Value* a, Value* b);
  Value* Min(Value* a, Value* b);
  /// Comparisons give bool.
  Value* Equal(Value* a, Value* b);
  Value* NotEqual(Value* a, Value* b);
  Value* Less(Value* a, Value* b);
  Value* LessEqual(Value* a, Value* b);
  Value* Greater(Value* a, Value* b);
  Value* GreaterEqual(Value* a, Value* b);
  /// where(cond: bool, x, y), three-way broadcast.
  Value* Where(Value* cond, Value* x, Value* y);

  // ---- contractions ----
  /// gemm(a, b[, c]) {trans_a, trans_b, alpha, beta, epilogue}: alpha*op(a)@op(b) + beta*c, then
  /// the epilogue. Batch dims (all but the last two) broadcast; out [..., M, N].
  Value* Gemm(Value* a, Value* b, const GemmOptions& options = {});
  /// x @ w^T + bias (nn.Linear): Gemm with trans_b and a bias epilogue.
  Value* Linear(Value* x, Value* w, Value* bias);
  /// conv2d(x, w) {stride, pad, dilation, groups, layout, epilogue, max_pool}.
  Value* Conv2d(Value* x, Value* w, const Conv2dOptions& options = {});
  /// conv_transpose2d(x, w) {stride, pad, output_padding, dilation, groups, layout, epilogue}.
  Value* ConvTranspose2d(Value* x, Value* w, const Conv2dOptions& options = {});
  /// attention(q, k, v[, mask]) {causal, scale}: q [B,Sq,H,D], k [B,Sk,Hk,D], v [B,Sk,Hk,Dv]
  /// (BSHD; H a multiple of Hk) -> [B,Sq,H,Dv].
  Value* Attention(Value* q, Value* k, Value* v, const AttentionOptions& options = {});

  // ---- pooling ----
  /// max_pool2d / avg_pool2d {kernel, stride, pad, dilation, ceil_mode, count_include_pad, layout}.
  Value* MaxPool2d(Value* x, const Pool2dOptions& options);
  Value* AvgPool2d(Value* x, const Pool2dOptions& options);
  /// global_avg_pool2d / global_max_pool2d {layout}: keeps H and W as 1.
  Value* GlobalAvgPool2d(Value* x, Layout layout = Layout::kNCHW);
  Value* GlobalMaxPool2d(Value* x, Layout layout = Layout::kNCHW);

  // ---- normalisation ----
  /// batch_norm(x, scale, bias, mean, var) {eps=1e-5, axis=1}: inference form.
  Value* BatchNorm(Value* x, Value* scale, Value* bias, Value* mean, Value* var,
                   double eps = 1e-5, int64_t axis = 1);
  /// layer_norm(x[, weight[, bias]]) {axis=-1, eps=1e-5}: normalises over axes axis..rank-1;
  /// weight/bias have shape x.shape[axis:]. Pass nullptr to omit weight or bias.
  Value* LayerNorm(Value* x, Value* weight, Value* bias, double eps = 1e-5, int64_t axis = -1);
  /// group_norm(x, weight, bias) {groups, eps=1e-5, layout}: weight/bias [C].
  Value* GroupNorm(Value* x, Value* weight, Value* bias, int64_t groups, double eps = 1e-5,
                   Layout layout = Layout::kNCHW);
  /// rms_norm(x[, weight]) {axis=-1, eps=1e-6}.
  Value* RmsNorm(Value* x, Value* weight, double eps = 1e-6, int64_t axis = -1);
  /// softmax / log_softmax {axis=-1}.
  Value* Softmax(Value* x, int64_t axis = -1);
  Value* LogSoftmax(Value* x, int64_t axis = -1);

  // ---- reductions {axes (empty: all), keepdims=false} ----
  Value* ReduceSum(Value* x, std::vector<int64_t> axes, bool keepdims = false);
  Value* ReduceMean(Value* x, std::vector<int64_t> axes, bool keepdims = false);
  Value* ReduceMax(Value* x, std::vector<int64_t> axes, bool keepdims = false);
  Value* ReduceMin(Value* x, std::vector<int64_t> axes, bool keepdims = false);
  Value* ReduceProd(Value* x, std::vector<int64_t> axes, bool keepdims = false);

  // ---- shape and data movement ----
  /// reshape {shape=dims}: same element count; one static -1 is resolved here.
  Value* Reshape(Value* x, Shape shape);
  /// transpose {perm}.
  Value* Transpose(Value* x, std::vector<int64_t> perm);
  /// squeeze {axes} (empty: every static 1) / unsqueeze {axes} (positions in the output).
  Value* Squeeze(Value* x, std::vector<int64_t> axes);
  Value* Unsqueeze(Value* x, std::vector<int64_t> axes);
  /// flatten {axis=1}: to 2-D [prod(shape[:axis]), prod(shape[axis:])].
  Value* Flatten(Value* x, int64_t axis = 1);
  /// expand {shape=dims}: numpy broadcast to shape.
  Value* Expand(Value* x, Shape shape);
  /// concat {axis}.
  Value* Concat(std::vector<Value*> xs, int64_t axis);
  /// split {axis, sizes}: one output per size.
  std::vector<Value*> Split(Value* x, std::vector<int64_t> sizes, int64_t axis);
  /// slice {starts, ends, axes, steps}.
  Value* Slice(Value* x, const SliceOptions& options);
  /// pad {pads=[begin_0..begin_{r-1}, end_0..end_{r-1}], mode=constant|reflect|edge, value=0}.
  Value* Pad(Value* x, std::vector<int64_t> pads, const std::string& mode = "constant",
             double value = 0.0);
  /// gather(data, indices) {axis=0}: out = data.shape[:axis] + indices.shape + data.shape[axis+1:];
  /// negative indices count from the end.
  Value* Gather(Value* data, Value* indices, int64_t axis = 0);
  /// embedding(weight [V, D], ids) -> ids.shape + [D].
  Value* Embedding(Value* weight, Value* ids);
  /// resize(x) {mode, scales | size, coordinate_mode, nearest_mode, layout}.
  Value* Resize(Value* x, const ResizeOptions& options);

  /// Any op by kind: adds the node and returns its outputs (empty after an error).
  std::vector<Value*> Op(OpKind op, std::vector<Value*> inputs, Attrs attrs = {});

 private:
  Value* Op1(OpKind op, std::vector<Value*> inputs, Attrs attrs = {});
  Value* WithEpilogue(OpKind op, std::vector<Value*> inputs, Attrs attrs,
                      const std::vector<EpilogueStep>& epilogue);
  bool Fail(Status status);

  std::unique_ptr<Graph> owned_;
  Graph* graph_;
  Status status_;
};

/// "nchw" / "nhwc".
std::string LayoutName(Layout layout);

}  // namespace kiln

#endif  // KILN_IR_BUILDER_H_
