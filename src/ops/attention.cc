// attention(q, k, v[, mask]): softmax(scale * q @ k^T + mask [+ causal]) @ v per batch and head,
// in BSHD layout with grouped-query heads. See Builder::Attention in ir/builder.h.
//
// packed=true: attention(qkv[, mask]) with qkv [B, S, 3, H, D] holding q, k and v at index 0, 1,
// 2 of its third axis (one projection gemm's [B, S, 3*H*D] output, reshaped: the pack-qkv pass
// makes these so that kernels read q, k and v in place instead of after a split).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ops/epilogue.h"
#include "ops/families.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

std::string Describe(const Value* v) { return "%" + v->name() + ": " + v->type().ToString(); }

// The checks and output of a packed attention(qkv[, mask]): q, k and v all [B, S, H, D].
StatusOr<Shape> InferPacked(const Node& node) {
  if (node.num_inputs() > 2) {
    return OpError(node, "packed=true takes qkv and an optional mask, got " +
                             std::to_string(node.num_inputs()) + " inputs");
  }
  const Value* qkv = node.input(0);
  KILN_RETURN_IF_ERROR(CheckRank(node, 0, 5));
  const Shape& s = qkv->shape();
  if (s[2] != Dim(3)) {
    return OpError(node, "packed qkv (" + Describe(qkv) + ") must be [B, S, 3, H, D]");
  }
  return Shape{s[0], s[1], s[3], s[4]};
}

StatusOr<std::vector<TensorType>> InferAttention(const Node& node) {
  const bool packed = node.GetBool("packed");
  const Value* q = node.input(0);
  if (!IsComputeFloat(q->dtype())) {
    return OpError(node, "q (" + Describe(q) + ") must have dtype f32, f16 or bf16");
  }
  Shape qs, ks, vs;  // [B, Sq, H, D], [B, Sk, Hk, D], [B, Sk, Hk, Dv]
  if (packed) {
    KILN_ASSIGN_OR_RETURN(qs, InferPacked(node));
    ks = vs = qs;
  } else {
    if (node.num_inputs() < 3) {
      return OpError(node, "takes q, k, v and an optional mask, got " +
                               std::to_string(node.num_inputs()) + " inputs");
    }
    KILN_RETURN_IF_ERROR(CheckSameDType(node, {0, 1, 2}));
    for (int i = 0; i < 3; ++i) KILN_RETURN_IF_ERROR(CheckRank(node, i, 4));
    qs = q->shape();
    ks = node.input(1)->shape();
    vs = node.input(2)->shape();
  }
  const std::string all = "q " + ShapeToString(qs) + ", k " + ShapeToString(ks) + ", v " +
                          ShapeToString(vs) + " (layout [B, S, H, D])";
  if (qs[0] != ks[0] || qs[0] != vs[0]) {
    return OpError(node, "batch dims differ: " + all);
  }
  if (qs[3] != ks[3]) {
    return OpError(node, "head dim D of q (" + qs[3].ToString() + ") differs from k (" +
                             ks[3].ToString() + "): " + all);
  }
  if (ks[1] != vs[1] || ks[2] != vs[2]) {
    return OpError(node, "k and v must agree on the key length and head count: " + all);
  }
  const Dim& heads = qs[2];
  const Dim& kv_heads = ks[2];
  bool divisible;
  if (heads.is_static() && kv_heads.is_static()) {
    divisible = kv_heads.value() > 0 && heads.value() % kv_heads.value() == 0;
  } else {
    divisible = heads.DivExact(kv_heads).ok();
  }
  if (!divisible) {
    return OpError(node, "query heads H=" + heads.ToString() +
                             " must be a multiple of key/value heads Hk=" + kv_heads.ToString() +
                             ": " + all);
  }
  const double scale = node.GetFloat("scale");
  if (!std::isfinite(scale)) {
    return OpError(node, "scale must be finite, got " + std::to_string(scale));
  }
  if (node.num_inputs() == (packed ? 2 : 4)) {
    const Value* m = node.input(packed ? 1 : 3);
    if (!IsComputeFloat(m->dtype())) {
      return OpError(
          node, "mask (" + Describe(m) + ") must be an additive float mask (f32, f16 or bf16)");
    }
    const Shape scores = {qs[0], heads, qs[1], ks[1]};
    auto b = BroadcastShapes(node, scores, m->shape());
    if (m->rank() > 4 || !b.ok() || *b != scores) {
      return OpError(node, "mask (" + Describe(m) +
                               ") does not broadcast to the scores [B, H, "
                               "Sq, Sk] = " +
                               ShapeToString(scores));
    }
  }
  return std::vector<TensorType>{{q->dtype(), Shape{qs[0], qs[1], heads, vs[3]}}};
}

// Flat-index strides of `shape` right-aligned against [B, H, Sq, Sk]; 0 on broadcast axes.
std::vector<int64_t> MaskStrides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> out(4, 0);
  const std::vector<int64_t> s = Strides(shape);
  const size_t offset = 4 - shape.size();
  for (size_t i = 0; i < shape.size(); ++i) out[offset + i] = shape[i] == 1 ? 0 : s[i];
  return out;
}

KILN_HOT_LOOP Status RefAttention(const Node& node, std::span<const Tensor> inputs,
                                  std::span<Tensor> outputs) {
  const bool packed = node.GetBool("packed");
  const Tensor& q = inputs[0];
  const Tensor& k = packed ? inputs[0] : inputs[1];
  const Tensor& v = packed ? inputs[0] : inputs[2];
  const int64_t batch = q.dim(0), sq = q.dim(1);
  const int64_t heads = q.dim(packed ? 3 : 2), d = q.dim(packed ? 4 : 3);
  const int64_t sk = k.dim(1), kv_heads = packed ? heads : k.dim(2), dv = packed ? d : v.dim(3);
  const int64_t group = heads / kv_heads;
  const bool causal = node.GetBool("causal");
  double scale = node.GetFloat("scale");
  if (scale == 0.0) scale = 1.0 / std::sqrt(static_cast<double>(d));
  const float fscale = static_cast<float>(scale);

  std::vector<float> qf = q.ToF32(), kf, vf;
  if (packed) {
    // [B, S, 3, H*D] -> three [B, S, H*D] arrays.
    const int64_t row = heads * d;
    std::vector<float> all = std::move(qf);
    for (std::vector<float>* part : {&qf, &kf, &vf}) part->resize(batch * sq * row);
    for (int64_t r = 0; r < batch * sq; ++r) {
      for (int p = 0; p < 3; ++p) {
        const float* src = all.data() + (r * 3 + p) * row;
        std::copy(src, src + row, (p == 0 ? qf : p == 1 ? kf : vf).data() + r * row);
      }
    }
  } else {
    kf = k.ToF32();
    vf = v.ToF32();
  }
  std::vector<float> mf;
  std::vector<int64_t> ms;
  const size_t mask_input = packed ? 1 : 3;
  if (inputs.size() == mask_input + 1) {
    mf = inputs[mask_input].ToF32();
    ms = MaskStrides(inputs[mask_input].shape());
  }
  std::vector<float> out(batch * sq * heads * dv);
  std::vector<double> scores(sk);
  std::vector<double> acc(dv);
  const double neg_inf = -std::numeric_limits<double>::infinity();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t hk = h / group;
      for (int64_t i = 0; i < sq; ++i) {
        const float* qrow = qf.data() + ((b * sq + i) * heads + h) * d;
        double row_max = neg_inf;
        for (int64_t j = 0; j < sk; ++j) {
          if (causal && j > i) {
            scores[j] = neg_inf;
            continue;
          }
          const float* krow = kf.data() + ((b * sk + j) * kv_heads + hk) * d;
          float dot = 0.0f;
          for (int64_t t = 0; t < d; ++t) dot += qrow[t] * krow[t];
          double s = static_cast<double>(dot * fscale);
          if (!mf.empty()) s += mf[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]];
          scores[j] = s;
          row_max = std::max(row_max, s);
        }
        float* orow = out.data() + ((b * sq + i) * heads + h) * dv;
        if (row_max == neg_inf) {
          // Every key is masked: zeros, as torch's scaled_dot_product_attention (safe softmax).
          std::fill(orow, orow + dv, 0.0f);
          continue;
        }
        double denom = 0.0;
        for (int64_t j = 0; j < sk; ++j) {
          scores[j] = std::exp(scores[j] - row_max);
          denom += scores[j];
        }
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t j = 0; j < sk; ++j) {
          if (scores[j] == 0.0) continue;
          const double p = scores[j] / denom;
          const float* vrow = vf.data() + ((b * sk + j) * kv_heads + hk) * dv;
          for (int64_t t = 0; t < dv; ++t) acc[t] += p * vrow[t];
        }
        for (int64_t t = 0; t < dv; ++t) orow[t] = static_cast<float>(acc[t]);
      }
    }
  }
  StoreF32(out, outputs[0]);
  return Status::Ok();
}

}  // namespace

void RegisterAttentionOps() {
  OpDef def;
  def.kind = OpKind::kAttention;
  def.fusion = FusionKind::kOpaque;
  def.min_inputs = 1;  // packed: qkv[, mask]; else q, k, v[, mask] (checked by InferAttention)
  def.max_inputs = 4;
  def.attrs = {
      {"causal", AttrKind::kBool, AttrValue(false)},
      {"scale", AttrKind::kFloat, AttrValue(0.0)},
      {"packed", AttrKind::kBool, AttrValue(false)},
  };
  def.infer = InferAttention;
  def.reference = RefAttention;
  def.summary =
      "softmax(scale * q @ k^T + mask) @ v, BSHD, grouped-query heads, causal option; packed: "
      "q, k, v from one [B, S, 3, H, D] input";
  RegisterOp(std::move(def));
}

}  // namespace kiln
