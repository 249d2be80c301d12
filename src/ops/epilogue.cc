#include "ops/epilogue.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "ops/op_util.h"
#include "support/check.h"

namespace kiln {
namespace {

std::string StepName(const Epilogue& ep, size_t s) {
  return "epilogue step " + std::to_string(s) + " (" + std::string(EpilogueKindName(ep[s].kind)) +
         ")";
}

KILN_HOT_LOOP void ApplyUnary(EpilogueOp::Kind kind, std::span<float> acc) {
  using K = EpilogueOp::Kind;
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  constexpr float kSqrt2OverPi = 0.79788456080286536f;
  switch (kind) {
    case K::kRelu:
      for (float& x : acc) x = x > 0.0f ? x : 0.0f;
      break;
    case K::kGelu:
      for (float& x : acc) x = 0.5f * x * (1.0f + std::erf(x * kInvSqrt2));
      break;
    case K::kGeluTanh:
      for (float& x : acc) {
        x = 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
      }
      break;
    case K::kSilu:
      for (float& x : acc) x = x / (1.0f + std::exp(-x));
      break;
    case K::kSigmoid:
      for (float& x : acc) x = 1.0f / (1.0f + std::exp(-x));
      break;
    case K::kTanh:
      for (float& x : acc) x = std::tanh(x);
      break;
    default:
      KILN_CHECK(false) << "not a unary epilogue step: " << EpilogueKindName(kind);
  }
}

}  // namespace

StatusOr<DType> InferEpilogue(const Node& node, const Shape& out_shape, int64_t channel_axis,
                              int min_explicit, int max_explicit) {
  const Epilogue& ep = node.GetEpilogue();
  int num_operands = 0;
  for (const EpilogueOp& op : ep) num_operands += op.TakesOperand() ? 1 : 0;
  const int num_explicit = node.num_explicit_inputs();
  if (num_explicit < min_explicit || num_explicit > max_explicit) {
    return OpError(
        node,
        "has " + std::to_string(node.num_inputs()) + " operands of which " +
            std::to_string(num_operands) +
            " belong to the epilogue (one per bias/add step), leaving " +
            std::to_string(num_explicit) + " explicit operands; expected " +
            std::to_string(min_explicit) +
            (max_explicit == min_explicit ? std::string() : " to " + std::to_string(max_explicit)));
  }
  KILN_CHECK(channel_axis >= 0 && channel_axis < static_cast<int64_t>(out_shape.size()))
      << "channel axis " << channel_axis << " out of range for " << ShapeToString(out_shape);

  const DType in_dtype = node.input(0)->dtype();
  DType out_dtype = in_dtype;
  int next = num_explicit;
  for (size_t s = 0; s < ep.size(); ++s) {
    const EpilogueOp& op = ep[s];
    const std::string where = StepName(ep, s);
    if (op.TakesOperand()) {
      const Value* v = node.input(next);
      const std::string operand =
          "operand " + std::to_string(next) + " (%" + v->name() + ": " + v->type().ToString() + ")";
      ++next;
      if (v->dtype() != in_dtype) {
        return OpError(node, where + ": " + operand + " has dtype " +
                                 std::string(DTypeName(v->dtype())) + ", expected " +
                                 std::string(DTypeName(in_dtype)) + " (the dtype of operand 0)");
      }
      if (op.kind == EpilogueOp::Kind::kBias) {
        const Dim& channels = out_shape[channel_axis];
        if (v->rank() != 1 || v->shape()[0] != channels) {
          return OpError(node, where + ": " + operand + " must have shape [" + channels.ToString() +
                                   "] (the output channel count, axis " +
                                   std::to_string(channel_axis) + " of output " +
                                   ShapeToString(out_shape) + ")");
        }
      } else {
        auto b = BroadcastShapes(node, out_shape, v->shape());
        if (!b.ok() || *b != out_shape) {
          return OpError(node, where + ": " + operand + " does not broadcast to the output shape " +
                                   ShapeToString(out_shape));
        }
      }
      continue;
    }
    if (op.kind == EpilogueOp::Kind::kScale && !std::isfinite(op.scale)) {
      return OpError(node, where + ": the factor must be finite, got " + std::to_string(op.scale));
    }
    if (op.kind == EpilogueOp::Kind::kCast) {
      if (s + 1 != ep.size()) {
        return OpError(node, where + ": cast must be the last epilogue step, but " +
                                 std::to_string(ep.size() - s - 1) + " step(s) follow it");
      }
      if (!IsComputeFloat(op.dtype)) {
        return OpError(node, where + ": cannot cast the accumulator to " +
                                 std::string(DTypeName(op.dtype)) + " (expected f32, f16 or bf16)");
      }
      out_dtype = op.dtype;
    }
  }
  return out_dtype;
}

void ApplyEpilogue(const Node& node, const std::vector<int64_t>& out_shape, int64_t channel_axis,
                   std::span<const Tensor> operands, std::span<float> acc) {
  size_t next = 0;
  for (const EpilogueOp& op : node.GetEpilogue()) {
    switch (op.kind) {
      case EpilogueOp::Kind::kBias: {
        KILN_CHECK(next < operands.size()) << "missing epilogue operand on " << node.Describe();
        std::vector<float> bias = operands[next++].ToF32();
        const int64_t channels = out_shape[channel_axis];
        KILN_CHECK(static_cast<int64_t>(bias.size()) == channels) << "bias length";
        int64_t inner = 1;
        for (size_t a = channel_axis + 1; a < out_shape.size(); ++a) inner *= out_shape[a];
        const int64_t outer =
            static_cast<int64_t>(acc.size()) / std::max<int64_t>(1, inner * channels);
        float* p = acc.data();
        for (int64_t o = 0; o < outer; ++o) {
          for (int64_t c = 0; c < channels; ++c) {
            const float b = bias[c];
            for (int64_t i = 0; i < inner; ++i) *p++ += b;
          }
        }
        break;
      }
      case EpilogueOp::Kind::kAdd: {
        KILN_CHECK(next < operands.size()) << "missing epilogue operand on " << node.Describe();
        const Tensor& r = operands[next++];
        std::vector<float> rv = r.ToF32();
        if (r.shape() == out_shape) {
          for (size_t i = 0; i < acc.size(); ++i) acc[i] += rv[i];
        } else {
          std::vector<int64_t> map = BroadcastIndexMap(out_shape, r.shape());
          for (size_t i = 0; i < acc.size(); ++i) acc[i] += rv[map[i]];
        }
        break;
      }
      case EpilogueOp::Kind::kScale: {
        const float s = static_cast<float>(op.scale);
        for (float& x : acc) x *= s;
        break;
      }
      case EpilogueOp::Kind::kCast:
        break;  // the dtype conversion happens when the accumulator is stored
      default:
        ApplyUnary(op.kind, acc);
    }
  }
}

void StoreF32(std::span<const float> values, Tensor& out) {
  KILN_CHECK(static_cast<int64_t>(values.size()) == out.numel())
      << "storing " << values.size() << " values into " << out.TypeString();
  if (out.dtype() == DType::kF32) {
    std::memcpy(out.mutable_data(), values.data(), values.size() * sizeof(float));
    return;
  }
  Tensor converted = Tensor::FromF32(out.dtype(), out.shape(), values);
  std::memcpy(out.mutable_data(), converted.data(), converted.nbytes());
}

KILN_HOT_LOOP void MatMulAccF32(const float* a, const float* b, float* c, int64_t m, int64_t k,
                                int64_t n, int64_t lda, int64_t ldb, int64_t ldc) {
  // A kBlockK x kBlockN panel of b (128 KiB) stays in L2 while every row of a streams past it;
  // four rows of c share each load of b in the innermost loop, which vectorises over n.
  constexpr int64_t kBlockN = 256;
  constexpr int64_t kBlockK = 128;
  for (int64_t j0 = 0; j0 < n; j0 += kBlockN) {
    const int64_t jn = std::min(kBlockN, n - j0);
    for (int64_t p0 = 0; p0 < k; p0 += kBlockK) {
      const int64_t pn = std::min(kBlockK, k - p0);
      int64_t i = 0;
      for (; i + 4 <= m; i += 4) {
        float* __restrict__ c0 = c + (i + 0) * ldc + j0;
        float* __restrict__ c1 = c + (i + 1) * ldc + j0;
        float* __restrict__ c2 = c + (i + 2) * ldc + j0;
        float* __restrict__ c3 = c + (i + 3) * ldc + j0;
        for (int64_t p = p0; p < p0 + pn; ++p) {
          const float a0 = a[(i + 0) * lda + p];
          const float a1 = a[(i + 1) * lda + p];
          const float a2 = a[(i + 2) * lda + p];
          const float a3 = a[(i + 3) * lda + p];
          const float* __restrict__ br = b + p * ldb + j0;
          for (int64_t j = 0; j < jn; ++j) {
            const float bj = br[j];
            c0[j] += a0 * bj;
            c1[j] += a1 * bj;
            c2[j] += a2 * bj;
            c3[j] += a3 * bj;
          }
        }
      }
      for (; i < m; ++i) {
        float* __restrict__ c0 = c + i * ldc + j0;
        for (int64_t p = p0; p < p0 + pn; ++p) {
          const float a0 = a[i * lda + p];
          const float* __restrict__ br = b + p * ldb + j0;
          for (int64_t j = 0; j < jn; ++j) c0[j] += a0 * br[j];
        }
      }
    }
  }
}

}  // namespace kiln
