// CPU kernel emitter: attention(q, k, v[, mask]) in BSHD layout, one call of
// kiln_cpu::Attention (kiln_cpu_attention.h) with the sizes, the mask's broadcast strides, the
// causal flag and the resolved scale baked in. f32 only (q, k, v and the mask).
#include <cmath>
#include <string>
#include <vector>

#include "codegen/cpu/emit_util.h"
#include "codegen/cpu/families.h"

namespace kiln::codegen::cpu {
namespace {

Status EmitAttention(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(RequireF32(node));
  if (node.GetBool("packed")) {
    // Only the CUDA pipelines make packed attention (pack-qkv); a hand-written one stops here.
    return Unimplemented(node.Describe() + ": packed attention (qkv in one input) is not supported on the cpu target");
  }
  const Shape& qs = node.input(0)->shape();  // [B, Sq, H, D]
  const Shape& ks = node.input(1)->shape();  // [B, Sk, Hk, D]
  const Shape& vs = node.input(2)->shape();  // [B, Sk, Hk, Dv]
  // scale 0 means 1/sqrt(D), computed in double and rounded to float as the reference does.
  std::string scale;
  const double attr_scale = node.GetFloat("scale");
  if (attr_scale != 0.0) {
    scale = FloatLiteralExpr(attr_scale);
  } else if (qs[3].is_static()) {
    scale = FloatLiteralExpr(1.0 / std::sqrt(static_cast<double>(qs[3].value())));
  } else {
    scale = "static_cast<float>(1.0 / std::sqrt(static_cast<double>(" + ctx.Dim(qs[3]) + ")))";
  }
  std::string mask = "nullptr";
  if (node.num_inputs() == 4) {
    // Strides of the mask right-aligned against the scores [B, H, Sq, Sk]; 0 where it
    // broadcasts (a missing or static-1 dim).
    const Shape& ms = node.input(3)->shape();
    const int64_t offset = 4 - static_cast<int64_t>(ms.size());
    std::vector<std::string> strides(4, "0");
    for (int64_t i = 0; i < static_cast<int64_t>(ms.size()); ++i) {
      if (ms[i] == kiln::Dim(1)) continue;
      strides[offset + i] = ctx.Product(ms, i + 1, static_cast<int64_t>(ms.size()));
    }
    body.Line("const int64_t mask_strides[] = " + BraceList(strides) +
              ";  // over [B, H, Sq, Sk]; 0 broadcasts");
    mask = "in3";
  } else {
    body.Line("const int64_t* mask_strides = nullptr;");
  }
  body.Line("// batch, sq, sk, heads, kv_heads, d, dv, causal, scale");
  body.Line("kiln_cpu::Attention(in0, in1, in2, " + mask + ", mask_strides, out0,");
  body.Line("                    " + ctx.Dim(qs[0]) + ", " + ctx.Dim(qs[1]) + ", " +
            ctx.Dim(ks[1]) + ", " + ctx.Dim(qs[2]) + ", " + ctx.Dim(ks[2]) + ", " + ctx.Dim(qs[3]) +
            ", " + ctx.Dim(vs[3]) + ", " + (node.GetBool("causal") ? "true" : "false") + ", " +
            scale + ");");
  return Status::Ok();
}

}  // namespace

void RegisterAttentionEmitters() { RegisterEmitter(OpKind::kAttention, EmitAttention); }

}  // namespace kiln::codegen::cpu
