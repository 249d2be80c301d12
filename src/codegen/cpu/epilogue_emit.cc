#include "codegen/cpu/epilogue_emit.h"

#include <string_view>

#include "codegen/cpu/emit_util.h"

namespace kiln::codegen::cpu {
namespace {

// Whether `operand` indexes like `out` element for element (equal after leading 1s are dropped).
bool SameFlatLayout(const Shape& out, const Shape& operand) {
  auto skip_ones = [](const Shape& s) {
    size_t i = 0;
    while (i < s.size() && s[i].is_static() && s[i].value() == 1) ++i;
    return Shape(s.begin() + static_cast<std::ptrdiff_t>(i), s.end());
  };
  return skip_ones(out) == skip_ones(operand);
}

// One fused step: the epilogue op and, for bias / add, the index of its operand.
struct Step {
  const EpilogueOp* op;
  int operand = -1;
};

// The statement applying `step` to the local `v`; `element` is the operand element's expression.
std::string StepCode(const Step& step, const std::string& element) {
  using K = EpilogueOp::Kind;
  switch (step.op->kind) {
    case K::kBias:
    case K::kAdd:
      return "v += " + element + ";";
    case K::kRelu:
      return "v = kiln_cpu::EpilogueRelu(v);";
    case K::kGelu:
      return "v = kiln_cpu::EpilogueGelu(v);";
    case K::kGeluTanh:
      return "v = kiln_cpu::EpilogueGeluTanh(v);";
    case K::kSilu:
      return "v = kiln_cpu::EpilogueSilu(v);";
    case K::kSigmoid:
      return "v = kiln_cpu::EpilogueSigmoid(v);";
    case K::kTanh:
      return "v = kiln_cpu::EpilogueTanh(v);";
    case K::kScale:
      return "v *= " + FloatLiteralExpr(step.op->scale) + ";";
    case K::kCast:
      break;
  }
  return "";
}

// One pass over out0 applying `steps` to every element. Without a bias it is one flat loop;
// with one it walks [outer, channels, inner] so the bias value is known per channel.
void EmitPass(const KernelContext& ctx, CodeWriter& w, const std::vector<Step>& steps,
              int64_t channel_axis) {
  if (steps.empty()) return;
  const Shape& out = ctx.node().output()->shape();
  bool has_bias = false;
  for (const Step& s : steps) has_bias = has_bias || s.op->kind == EpilogueOp::Kind::kBias;
  auto in = [](const Step& s) { return KernelContext::In(s.operand); };
  if (!has_bias) {
    w.Open("for (int64_t i = 0; i < " + ctx.Numel(out) + "; ++i) {");
    w.Line("float v = out0[i];");
    for (const Step& s : steps) w.Line(StepCode(s, s.operand >= 0 ? in(s) + "[i]" : ""));
    w.Line("out0[i] = v;");
    w.Close();
    return;
  }
  const std::string outer = ctx.Product(out, 0, channel_axis);
  const std::string channels = ctx.Dim(out[channel_axis]);
  const std::string inner = ctx.Product(out, channel_axis + 1, static_cast<int64_t>(out.size()));
  if (inner == "1") {
    // Channels innermost (gemm, nhwc): one row of `channels` per iteration, vectorised over it.
    w.Open("for (int64_t r = 0; r < " + outer + "; ++r) {");
    w.Line("float* __restrict__ y = out0 + r * " + channels + ";");
    for (const Step& s : steps) {
      if (s.op->kind == EpilogueOp::Kind::kAdd) {
        w.Line("const float* __restrict__ res" + std::to_string(s.operand) + " = " + in(s) +
               " + r * " + channels + ";");
      }
    }
    w.Open("for (int64_t c = 0; c < " + channels + "; ++c) {");
    w.Line("float v = y[c];");
    for (const Step& s : steps) {
      const bool bias = s.op->kind == EpilogueOp::Kind::kBias;
      w.Line(StepCode(s, s.operand < 0 ? ""
                         : bias        ? in(s) + "[c]"
                                       : "res" + std::to_string(s.operand) + "[c]"));
    }
    w.Line("y[c] = v;");
    w.Close();
    w.Close();
    return;
  }
  // Channels outside the innermost axes (nchw): a plane of `inner` elements per channel.
  w.Open("for (int64_t r = 0; r < " + outer + "; ++r) {");
  w.Open("for (int64_t c = 0; c < " + channels + "; ++c) {");
  w.Line("const int64_t base = (r * " + channels + " + c) * " + inner + ";");
  w.Line("float* __restrict__ y = out0 + base;");
  for (const Step& s : steps) {
    const std::string k = std::to_string(s.operand);
    if (s.op->kind == EpilogueOp::Kind::kBias) w.Line("const float b" + k + " = " + in(s) + "[c];");
    if (s.op->kind == EpilogueOp::Kind::kAdd) {
      w.Line("const float* __restrict__ res" + k + " = " + in(s) + " + base;");
    }
  }
  w.Open("for (int64_t i = 0; i < " + inner + "; ++i) {");
  w.Line("float v = y[i];");
  for (const Step& s : steps) {
    const std::string k = std::to_string(s.operand);
    const bool bias = s.op->kind == EpilogueOp::Kind::kBias;
    w.Line(StepCode(s, s.operand < 0 ? "" : bias ? "b" + k : "res" + k + "[i]"));
  }
  w.Line("y[i] = v;");
  w.Close();
  w.Close();
  w.Close();
}

}  // namespace

std::vector<std::string> BroadcastStrides(const KernelContext& ctx, const Shape& out,
                                          const Shape& operand, size_t num_axes) {
  std::vector<std::string> strides;
  const int64_t offset = static_cast<int64_t>(out.size()) - static_cast<int64_t>(operand.size());
  for (size_t d = 0; d < num_axes; ++d) {
    const int64_t od = static_cast<int64_t>(d) - offset;  // the operand's axis
    const bool broadcast = od < 0 || (operand[od].is_static() && operand[od].value() == 1 &&
                                      !(out[d].is_static() && out[d].value() == 1));
    strides.push_back(
        broadcast ? "0" : ctx.Product(operand, od + 1, static_cast<int64_t>(operand.size())));
  }
  return strides;
}

Status EmitEpilogue(const KernelContext& ctx, CodeWriter& w, int64_t channel_axis) {
  const Node& node = ctx.node();
  const Epilogue& ep = node.GetEpilogue();
  if (ep.empty()) return Status::Ok();
  const Shape& out = node.output()->shape();
  std::string names;
  for (const EpilogueOp& op : ep) {
    names += (names.empty() ? "" : ", ") + std::string(EpilogueKindName(op.kind));
  }
  w.Line("// epilogue: " + names);
  std::vector<Step> pass;
  int next = node.num_explicit_inputs();
  for (const EpilogueOp& op : ep) {
    if (op.kind == EpilogueOp::Kind::kCast) {
      if (op.dtype != DType::kF32) {
        return Unimplemented(node.Describe() + ": epilogue cast to " +
                             std::string(DTypeName(op.dtype)) +
                             " is not supported on the cpu target (only f32 results)");
      }
      continue;  // a cast to f32 of an f32 accumulator changes nothing
    }
    if (!op.TakesOperand()) {
      pass.push_back({&op});
      continue;
    }
    const int operand = next++;
    const Shape& shape = node.input(operand)->shape();
    if (op.kind == EpilogueOp::Kind::kBias || SameFlatLayout(out, shape)) {
      pass.push_back({&op, operand});
      continue;
    }
    // A residual smaller than the output: finish the fused pass, then add it with broadcasting.
    EmitPass(ctx, w, pass, channel_axis);
    pass.clear();
    w.Open("{");
    IntArray(w, "dims", DimExprs(ctx, out));
    IntArray(w, "strides", BroadcastStrides(ctx, out, shape, out.size()));
    w.Line("kiln_cpu::BroadcastAdd(out0, " + KernelContext::In(operand) + ", " +
           std::to_string(out.size()) + ", dims, strides);");
    w.Close();
  }
  EmitPass(ctx, w, pass, channel_axis);
  return Status::Ok();
}

}  // namespace kiln::codegen::cpu
