// ONNX losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (log_softmax along the
// class axis, then the NLL below), written with kiln's gather_elements, gather, where and
// reductions, following ONNX's reference definitions:
//
//   input [N, C, d1..dk], target [N, d1..dk] (integer), weight [C] (optional)
//   t'      = where(target == ignore_index, 0, target)          (only with ignore_index)
//   w       = weight[t'] (or 1), 0 where target == ignore_index
//   loss    = -input[n, t'[n, d..], d..] * w
//   none: loss; sum: sum(loss); mean: sum(loss) / sum(w) (= mean(loss) without weight and
//   ignore_index)
#include "frontend/onnx/onnx_op_table.h"

namespace kiln::onnx_import {

namespace {

Value* First(const std::vector<Value*>& v) { return v.empty() ? nullptr : v[0]; }

// The NLL of `input` (log-probabilities) at `target`; `weight` may be nullptr. Returns nullptr
// after an error.
Value* Nll(NodeContext& ctx, Value* input, Value* target, Value* weight,
           const std::string& reduction, std::optional<int64_t> ignore_index) {
  if (!input || !target) return nullptr;
  Builder& b = ctx.b();
  if (input->rank() < 2 || target->rank() != input->rank() - 1) {
    return ctx.Error("input " + input->type().ToString() + " and target " +
                     target->type().ToString() + " (expected [N, C, d..] and [N, d..])");
  }
  if (target->dtype() != DType::kI64 && target->dtype() != DType::kI32) {
    return ctx.Error("target has dtype " + std::string(DTypeName(target->dtype())) +
                     ", expected i32 or i64");
  }
  if (!IsFloat(input->dtype())) {
    return ctx.Error("input has dtype " + std::string(DTypeName(input->dtype())) +
                     ", expected a float type");
  }
  Value* ignored = nullptr;
  Value* t = target;
  if (ignore_index) {
    ignored = b.Equal(target, b.Scalar(static_cast<double>(*ignore_index), target->dtype()));
    t = b.Where(ignored, b.Scalar(0.0, target->dtype()), target);
  }
  Attrs attrs;
  attrs.Set("axis", int64_t{1});
  Value* picked = First(b.Op(OpKind::kGatherElements, {input, b.Unsqueeze(t, {1})}, attrs));
  if (!picked) return nullptr;
  Value* loss = b.Neg(b.Squeeze(picked, {1}));
  Value* w = weight ? b.Gather(weight, t, 0) : nullptr;
  if (ignored) {
    Value* zero = b.Scalar(0.0, input->dtype());
    if (!w) w = b.Expand(b.Scalar(1.0, input->dtype()), target->shape());
    w = b.Where(ignored, zero, w);
  }
  if (w) loss = b.Mul(loss, w);
  if (reduction == "none") return loss;
  if (reduction == "sum") return b.ReduceSum(loss, {});
  if (!w) return b.ReduceMean(loss, {});
  return b.Div(b.ReduceSum(loss, {}), b.ReduceSum(w, {}));
}

bool ReadReduction(NodeContext& ctx, std::string* reduction) {
  *reduction = ctx.Str("reduction", "mean");
  if (*reduction != "none" && *reduction != "sum" && *reduction != "mean") {
    ctx.Unsupported("reduction='" + *reduction + "' (expected none, sum or mean)");
    return false;
  }
  return true;
}

std::optional<int64_t> ReadIgnoreIndex(NodeContext& ctx) {
  if (!ctx.HasAttr("ignore_index")) return std::nullopt;
  return ctx.Int("ignore_index", 0);
}

// NegativeLogLikelihoodLoss {reduction=mean, ignore_index}(input, target[, weight]).
void ImportNll(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 3) || !ctx.ExpectMaxOutputs(1)) return;
  std::string reduction;
  if (!ReadReduction(ctx, &reduction)) return;
  std::optional<int64_t> ignore = ReadIgnoreIndex(ctx);
  Value* weight = ctx.has_input(2) ? ctx.Input(2) : nullptr;
  ctx.SetOutput(0, Nll(ctx, ctx.Input(0), ctx.Input(1), weight, reduction, ignore));
}

// SoftmaxCrossEntropyLoss {reduction=mean, ignore_index}(scores, labels[, weights]) -> (loss,
// log_prob): NLL of log_softmax(scores) along axis 1.
void ImportSce(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 3) || !ctx.ExpectMaxOutputs(2)) return;
  std::string reduction;
  if (!ReadReduction(ctx, &reduction)) return;
  std::optional<int64_t> ignore = ReadIgnoreIndex(ctx);
  Value* scores = ctx.Input(0);
  if (!scores) return;
  if (scores->rank() < 2) {
    ctx.Error("scores " + scores->type().ToString() + " (expected [N, C, d..])");
    return;
  }
  Value* log_prob = ctx.b().LogSoftmax(scores, 1);
  Value* weight = ctx.has_input(2) ? ctx.Input(2) : nullptr;
  ctx.SetOutput(0, Nll(ctx, log_prob, ctx.Input(1), weight, reduction, ignore));
  if (ctx.has_output(1)) ctx.SetOutput(1, log_prob);
}

}  // namespace

void RegisterLossOps(OnnxOpRegistry& r) {
  r.Add("NegativeLogLikelihoodLoss", 12, 21, ImportNll);
  r.Add("SoftmaxCrossEntropyLoss", 12, 21, ImportSce);
}

}  // namespace kiln::onnx_import
