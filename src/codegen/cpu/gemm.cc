// CPU kernel emitter of gemm: out = epilogue(alpha * op(a) @ op(b) + beta * c), batched with
// broadcast batch dims (src/ops/gemm.cc). The body calls kiln_cpu::Gemm (no batch dims) or
// kiln_cpu::GemmBatched, both over cblas_sgemm; an optional c is first broadcast into the output
// (scaled by beta) and the gemm accumulates onto it. The epilogue follows (epilogue_emit.h).
#include "codegen/cpu/emit_util.h"
#include "codegen/cpu/epilogue_emit.h"
#include "codegen/cpu/families.h"

namespace kiln::codegen::cpu {
namespace {

Status EmitGemm(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(RequireF32(node));
  const bool trans_a = node.GetBool("trans_a");
  const bool trans_b = node.GetBool("trans_b");
  const bool has_c = node.num_explicit_inputs() == 3;
  const Shape& sa = node.input(0)->shape();
  const Shape& out = node.output()->shape();
  const size_t rank = out.size();
  const size_t batch_rank = rank - 2;
  const std::string m = ctx.Dim(out[rank - 2]);
  const std::string n = ctx.Dim(out[rank - 1]);
  const std::string k = ctx.Dim(trans_a ? sa[sa.size() - 2] : sa[sa.size() - 1]);
  const std::string alpha = FloatLiteralExpr(node.GetFloat("alpha"));
  const std::string ta = trans_a ? "true" : "false";
  const std::string tb = trans_b ? "true" : "false";

  std::string beta = "0.0f";
  if (has_c) {
    // out = beta * c (broadcast); the gemm then accumulates with beta 1.
    w.Open("{");
    w.Line("// c, scaled by beta, broadcast into the output");
    IntArray(w, "dims", DimExprs(ctx, out));
    IntArray(w, "c_strides", BroadcastStrides(ctx, out, node.input(2)->shape(), rank));
    w.Line("kiln_cpu::BroadcastCopy(out0, in2, " + std::to_string(rank) + ", dims, c_strides, " +
           FloatLiteralExpr(node.GetFloat("beta")) + ");");
    w.Close();
    beta = "1.0f";
  }
  w.Line(std::string("// [") + m + ", " + k + "] @ [" + k + ", " + n + "]" +
         (trans_a ? ", a transposed" : "") + (trans_b ? ", b transposed" : ""));
  if (batch_rank == 0) {
    const std::string lda = trans_a ? m : k, ldb = trans_b ? k : n;
    w.Line("kiln_cpu::Gemm(" + ta + ", " + tb + ", " + m + ", " + n + ", " + k + ", " + alpha +
           ", in0, " + lda + ", in1, " + ldb + ", " + beta + ", out0, " + n + ");");
  } else {
    w.Open("{");
    IntArray(w, "batch_dims", DimExprs(ctx, Shape(out.begin(), out.end() - 2)));
    IntArray(w, "a_strides", BroadcastStrides(ctx, out, sa, batch_rank));
    IntArray(w, "b_strides", BroadcastStrides(ctx, out, node.input(1)->shape(), batch_rank));
    w.Line("kiln_cpu::GemmBatched(" + ta + ", " + tb + ", " + m + ", " + n + ", " + k + ", " +
           alpha + ", in0, in1, " + beta + ", out0, " + std::to_string(batch_rank) +
           ", batch_dims, a_strides, b_strides);");
    w.Close();
  }
  return EmitEpilogue(ctx, w, static_cast<int64_t>(rank) - 1);
}

}  // namespace

void RegisterGemmEmitters() { RegisterEmitter(OpKind::kGemm, EmitGemm); }

}  // namespace kiln::codegen::cpu
