// The gemm op: out = epilogue(alpha * op(a) @ op(b) + beta * c), batched with numpy broadcasting
// of the batch dims (all but the last two). See Builder::Gemm in ir/builder.h.
#include <algorithm>
#include <string>

#include "ops/epilogue.h"
#include "ops/families.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

std::string Operand(const Node& node, int i) {
  const Value* v = node.input(i);
  return "%" + v->name() + ": " + v->type().ToString();
}

StatusOr<std::vector<TensorType>> InferGemm(const Node& node) {
  const int num_explicit = node.num_explicit_inputs();
  if (num_explicit < 2 || num_explicit > 3) {
    return OpError(node, "expects a, b and an optional c before its epilogue operands, got " +
                             std::to_string(num_explicit) + " explicit operands");
  }
  const bool has_c = num_explicit == 3;
  const Value* a = node.input(0);
  const Value* b = node.input(1);
  if (!IsComputeFloat(a->dtype())) {
    return OpError(node, "operand a (" + Operand(node, 0) + ") must have dtype f32, f16 or bf16");
  }
  KILN_RETURN_IF_ERROR(
      CheckSameDType(node, has_c ? std::vector<int>{0, 1, 2} : std::vector<int>{0, 1}));
  for (int i = 0; i < 2; ++i) {
    if (node.input(i)->rank() < 2) {
      return OpError(node, std::string(i == 0 ? "a" : "b") + " (" + Operand(node, i) +
                               ") must have rank >= 2");
    }
  }
  const bool trans_a = node.GetBool("trans_a");
  const bool trans_b = node.GetBool("trans_b");
  const Shape& sa = a->shape();
  const Shape& sb = b->shape();
  const size_t ra = sa.size(), rb = sb.size();
  const Dim m = trans_a ? sa[ra - 1] : sa[ra - 2];
  const Dim ka = trans_a ? sa[ra - 2] : sa[ra - 1];
  const Dim kb = trans_b ? sb[rb - 1] : sb[rb - 2];
  const Dim n = trans_b ? sb[rb - 2] : sb[rb - 1];
  if (ka != kb) {
    return OpError(node, "contraction dims differ: a " + ShapeToString(sa) + " (trans_a=" +
                             (trans_a ? "true" : "false") + ") has K=" + ka.ToString() + ", b " +
                             ShapeToString(sb) + " (trans_b=" + (trans_b ? "true" : "false") +
                             ") has K=" + kb.ToString());
  }
  Shape batch_a(sa.begin(), sa.end() - 2);
  Shape batch_b(sb.begin(), sb.end() - 2);
  auto batch = BroadcastShapes(node, batch_a, batch_b);
  if (!batch.ok()) {
    return OpError(node, "batch dims of a " + ShapeToString(sa) + " and b " + ShapeToString(sb) +
                             " do not broadcast");
  }
  Shape out = *batch;
  out.push_back(m);
  out.push_back(n);
  if (has_c) {
    auto bc = BroadcastShapes(node, out, node.input(2)->shape());
    if (!bc.ok() || *bc != out) {
      return OpError(node, "c (" + Operand(node, 2) + ") does not broadcast to the output shape " +
                               ShapeToString(out));
    }
  }
  const int64_t channel_axis = static_cast<int64_t>(out.size()) - 1;
  KILN_ASSIGN_OR_RETURN(DType dtype, InferEpilogue(node, out, channel_axis, 2, 3));
  return std::vector<TensorType>{{dtype, out}};
}

// Copies the row-major [rows, cols] matrix `src` transposed into `dst` ([cols, rows]).
void TransposeInto(const float* src, int64_t rows, int64_t cols, std::vector<float>& dst) {
  dst.resize(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  }
}

Status RefGemm(const Node& node, std::span<const Tensor> inputs, std::span<Tensor> outputs) {
  const int num_explicit = node.num_explicit_inputs();
  const Tensor& a = inputs[0];
  const Tensor& b = inputs[1];
  Tensor& out = outputs[0];
  const bool trans_a = node.GetBool("trans_a");
  const bool trans_b = node.GetBool("trans_b");
  const std::vector<int64_t>& out_shape = out.shape();
  const size_t r = out_shape.size();
  const int64_t m = out_shape[r - 2];
  const int64_t n = out_shape[r - 1];
  const int64_t k = trans_a ? a.dim(a.rank() - 2) : a.dim(a.rank() - 1);

  // Flat batch index of a and b for each output batch index (numpy broadcasting).
  std::vector<int64_t> out_batch(out_shape.begin(), out_shape.end() - 2);
  std::vector<int64_t> a_batch(a.shape().begin(), a.shape().end() - 2);
  std::vector<int64_t> b_batch(b.shape().begin(), b.shape().end() - 2);
  std::vector<int64_t> map_a = BroadcastIndexMap(out_batch, a_batch);
  std::vector<int64_t> map_b = BroadcastIndexMap(out_batch, b_batch);

  const std::vector<float> af = a.ToF32();
  const std::vector<float> bf = b.ToF32();
  std::vector<float> acc(out.numel(), 0.0f);
  std::vector<float> at, bt;
  int64_t at_index = -1, bt_index = -1;  // which batch the transposed copies hold
  for (size_t bi = 0; bi < map_a.size(); ++bi) {
    const float* ap = af.data() + map_a[bi] * m * k;
    const float* bp = bf.data() + map_b[bi] * k * n;
    if (trans_a) {
      if (at_index != map_a[bi]) TransposeInto(ap, k, m, at);
      at_index = map_a[bi];
      ap = at.data();
    }
    if (trans_b) {
      if (bt_index != map_b[bi]) TransposeInto(bp, n, k, bt);
      bt_index = map_b[bi];
      bp = bt.data();
    }
    MatMulAccF32(ap, bp, acc.data() + bi * m * n, m, k, n, k, n, n);
  }

  const float alpha = static_cast<float>(node.GetFloat("alpha"));
  if (alpha != 1.0f) {
    for (float& x : acc) x *= alpha;
  }
  if (num_explicit == 3) {
    const float beta = static_cast<float>(node.GetFloat("beta"));
    const std::vector<float> cf = inputs[2].ToF32();
    const std::vector<int64_t> map = BroadcastIndexMap(out_shape, inputs[2].shape());
    for (size_t i = 0; i < acc.size(); ++i) acc[i] += beta * cf[map[i]];
  }
  ApplyEpilogue(node, out_shape, static_cast<int64_t>(r) - 1, inputs.subspan(num_explicit), acc);
  StoreF32(acc, out);
  return Status::Ok();
}

}  // namespace

void RegisterGemmOps() {
  OpDef def;
  def.kind = OpKind::kGemm;
  def.fusion = FusionKind::kOutEwiseFusable;
  def.min_inputs = 2;
  def.max_inputs = 3;
  def.attrs = {
      {"trans_a", AttrKind::kBool, AttrValue(false)},
      {"trans_b", AttrKind::kBool, AttrValue(false)},
      {"alpha", AttrKind::kFloat, AttrValue(1.0)},
      {"beta", AttrKind::kFloat, AttrValue(1.0)},
      {"epilogue", AttrKind::kEpilogue, AttrValue(Epilogue{})},
  };
  def.infer = InferGemm;
  def.reference = RefGemm;
  def.summary = "alpha * op(a) @ op(b) + beta * c, batched with broadcasting, then an epilogue";
  RegisterOp(std::move(def));
}

}  // namespace kiln
