// CUDA kernel emitter of gemm on the Ampere path: out = epilogue(alpha * op(a) @ op(b)), batched
// over the output's batch dims, through CUTLASS's 2.x device-level GEMM (Ampere-style tensor-core
// mainloop, which also runs on Hopper). cuda-sm80 uses it for every gemm, cuda-sm90 for those its
// TMA kernels (gemm_sm90.cc) cannot take. Registers both emitters.
//
// Tensor cores for f16/bf16 (f32 accumulate), SIMT for f32. The access alignment (elements per
// vector load) is the largest of 8, 4, 2, 1 that divides every contiguous extent, so odd sizes
// pick a narrower kernel instead of a wrong answer. The epilogue runs as one elementwise pass over
// the output after the GEMM; a `c` operand is not supported on this path.
#include "codegen/cuda/gemm.h"

#include "codegen/cuda/families.h"
#include "support/dtype.h"

namespace kiln::codegen::cuda {

std::string CutlassType(DType d) {
  switch (d) {
    case DType::kF16: return "cutlass::half_t";
    case DType::kBF16: return "cutlass::bfloat16_t";
    default: return "float";
  }
}

int Alignment(const std::vector<Dim>& dims, DType d) {
  int best = d == DType::kF32 ? 4 : 8;
  for (const Dim& dim : dims) {
    // A symbolic dim divides exactly when every term's coefficient does ("K8*8").
    while (best > 1 && (dim.is_static() ? dim.value() % best != 0 : !dim.DivExact(best).ok())) best /= 2;
  }
  return best;
}

std::string BatchKind(const Shape& operand, const Shape& out) {
  const size_t ob = out.size() - 2, vb = operand.size() - 2;
  bool all_one = true;
  for (size_t i = 0; i < vb; ++i) all_one &= operand[i].is_static() && operand[i].value() == 1;
  if (all_one) return "shared";
  if (vb != ob) return "";
  for (size_t i = 0; i < vb; ++i) {
    if (operand[i] != out[i]) return "";
  }
  return "full";
}

std::string CppString(const std::string& text) {
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

Status EmitEpiloguePass(const KernelContext& ctx, CodeWriter& w, const std::string& count,
                        const std::string& channels, const std::string& channel_stride) {
  const Node& node = ctx.node();
  const Epilogue& epilogue = node.GetEpilogue();
  if (epilogue.empty()) return Status::Ok();
  const DType out_dtype = node.output()->dtype();
  auto load = [&](DType d, const std::string& e) {
    if (d == DType::kF16) return "kiln_scalar::HalfToFloat(" + e + ")";
    if (d == DType::kBF16) return "kiln_scalar::BF16ToFloat(" + e + ")";
    return e;
  };
  w.Line("// epilogue, one pass over the output");
  w.Line("const int64_t ep_channels = " + channels + ", ep_stride = " + channel_stride + ";");
  w.Open("kiln_cuda::LaunchElementwise(" + count + ", stream, [=] __device__(int64_t o) {");
  w.Line("float v = " + load(out_dtype, "out0[o]") + ";");
  int operand = node.num_explicit_inputs();
  for (const EpilogueOp& step : epilogue) {
    switch (step.kind) {
      case EpilogueOp::Kind::kBias: {
        DType d = node.input(operand)->dtype();
        w.Line("v += " + load(d, KernelContext::In(operand) + "[o / ep_stride % ep_channels]") + ";  // bias");
        ++operand;
        break;
      }
      case EpilogueOp::Kind::kAdd: {
        const Value* r = node.input(operand);
        if (r->shape() != node.output()->shape()) {
          return Unimplemented(node.Describe() + ": a residual add whose operand %" + r->name() + " (" +
                               r->type().ToString() + ") broadcasts is not supported on the " + "cuda targets yet");
        }
        w.Line("v += " + load(r->dtype(), KernelContext::In(operand) + "[o]") + ";  // residual add");
        ++operand;
        break;
      }
      case EpilogueOp::Kind::kRelu: w.Line("v = v > 0.f ? v : 0.f;  // relu"); break;
      case EpilogueOp::Kind::kGelu: w.Line("v = kiln_scalar::Gelu(v);"); break;
      case EpilogueOp::Kind::kGeluTanh: w.Line("v = kiln_scalar::GeluTanh(v);"); break;
      case EpilogueOp::Kind::kSilu: w.Line("v = v * kiln_scalar::Sigmoid(v);  // silu"); break;
      case EpilogueOp::Kind::kSigmoid: w.Line("v = kiln_scalar::Sigmoid(v);"); break;
      case EpilogueOp::Kind::kTanh: w.Line("v = tanhf(v);"); break;
      case EpilogueOp::Kind::kScale: w.Line("v *= " + FloatLiteralExpr(step.scale) + ";  // scale"); break;
      case EpilogueOp::Kind::kCast: break;  // the output already has the cast dtype
    }
  }
  if (out_dtype == DType::kF16) {
    w.Line("out0[o] = kiln_scalar::FloatToHalf(v);");
  } else if (out_dtype == DType::kBF16) {
    w.Line("out0[o] = kiln_scalar::FloatToBF16(v);");
  } else {
    w.Line("out0[o] = v;");
  }
  w.Close(");");
  return Status::Ok();
}

Status EmitGemmSm80(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  if (node.num_explicit_inputs() == 3) {
    return Unimplemented(node.Describe() + ": gemm with a c operand is not supported on the cuda targets yet");
  }
  const DType in = node.input(0)->dtype();
  const DType out_dtype = node.output()->dtype();
  if (in != DType::kF32 && in != DType::kF16 && in != DType::kBF16) {
    return Unimplemented(node.Describe() + ": dtype " + std::string(DTypeName(in)) + " on the cuda targets");
  }
  const bool trans_a = node.GetBool("trans_a"), trans_b = node.GetBool("trans_b");
  const Shape& sa = node.input(0)->shape();
  const Shape& sb = node.input(1)->shape();
  const Shape& out = node.output()->shape();
  const size_t rank = out.size();
  const Dim m = out[rank - 2], n = out[rank - 1];
  const Dim k = trans_a ? sa[sa.size() - 2] : sa[sa.size() - 1];
  std::string a_batch = BatchKind(sa, out), b_batch = BatchKind(sb, out);
  if (a_batch.empty() || b_batch.empty()) {
    return Unimplemented(node.Describe() + ": broadcast batch dims of a " + node.input(0)->type().ToString() +
                         " and b " + node.input(1)->type().ToString() + " on the cuda targets yet");
  }
  // Contiguous extents: a's rows (k, or m when transposed), b's rows (n, or k when transposed), out's n.
  int align_a = Alignment({trans_a ? m : k}, in), align_b = Alignment({trans_b ? k : n}, in);
  int align_c = Alignment({n}, out_dtype);
  const std::string ta = CutlassType(in), tc = CutlassType(out_dtype);
  const std::string la = trans_a ? "cutlass::layout::ColumnMajor" : "cutlass::layout::RowMajor";
  const std::string lb = trans_b ? "cutlass::layout::ColumnMajor" : "cutlass::layout::RowMajor";
  const std::string batch = ctx.Product(out, 0, static_cast<int64_t>(rank) - 2);
  w.Line("#include \"kiln_cuda_gemm.cuh\"");
  w.Line("const int64_t m = " + ctx.Dim(m) + ", n = " + ctx.Dim(n) + ", k = " + ctx.Dim(k) + ", batch = " + batch + ";");
  if (in == DType::kF32) {
    w.Line("// f32: CUTLASS's SIMT kernel");
    w.Line("using Gemm = cutlass::gemm::device::Gemm<float, " + la + ", float, " + lb + ", " + tc +
           ", cutlass::layout::RowMajor, float>;");
  } else {
    // The multistage (cp.async) mainloop needs at least 4-byte accesses; a contiguous extent that
    // is odd takes the two-stage Turing-style mainloop, whose plain loads take any alignment.
    const bool multistage = align_a >= 2 && align_b >= 2;
    w.Line("// " + std::string(DTypeName(in)) + " tensor cores, f32 accumulate; alignment a/b/c = " +
           std::to_string(align_a) + "/" + std::to_string(align_b) + "/" + std::to_string(align_c) +
           (multistage ? "" : " (odd extents: two-stage mainloop)"));
    w.Line("using Gemm = cutlass::gemm::device::Gemm<");
    w.Line("    " + ta + ", " + la + ", " + ta + ", " + lb + ", " + tc + ", cutlass::layout::RowMajor, float,");
    if (multistage) {
      w.Line("    cutlass::arch::OpClassTensorOp, cutlass::arch::Sm80, cutlass::gemm::GemmShape<128, 128, 32>,");
      w.Line("    cutlass::gemm::GemmShape<64, 64, 32>, cutlass::gemm::GemmShape<16, 8, 16>,");
    } else {
      w.Line("    cutlass::arch::OpClassTensorOp, cutlass::arch::Sm75, cutlass::gemm::GemmShape<64, 64, 32>,");
      w.Line("    cutlass::gemm::GemmShape<32, 32, 32>, cutlass::gemm::GemmShape<16, 8, 8>,");
    }
    w.Line("    cutlass::epilogue::thread::LinearCombination<" + tc + ", " + std::to_string(align_c) + ", float, float>,");
    w.Line("    cutlass::gemm::threadblock::GemmIdentityThreadblockSwizzle<>, " + std::string(multistage ? "3" : "2") +
           ", " + std::to_string(align_a) + ", " + std::to_string(align_b) + ">;");
  }
  w.Line("const auto* a = reinterpret_cast<const " + ta + "*>(in0);");
  w.Line("const auto* b = reinterpret_cast<const " + ta + "*>(in1);");
  w.Line("auto* d = reinterpret_cast<" + tc + "*>(out0);");
  w.Line("const int64_t lda = " + std::string(trans_a ? "m" : "k") + ", ldb = " + (trans_b ? "k" : "n") + ";");
  w.Open("for (int64_t l = 0; l < batch; ++l) {");
  w.Line("const auto* al = a + " + std::string(a_batch == "full" ? "l * m * k" : "0") + ";");
  w.Line("const auto* bl = b + " + std::string(b_batch == "full" ? "l * k * n" : "0") + ";");
  w.Line("auto* dl = d + l * m * n;");
  w.Line("typename Gemm::Arguments args({int(m), int(n), int(k)}, {al, lda}, {bl, ldb}, {dl, n}, {dl, n},");
  w.Line("                              {" + FloatLiteralExpr(node.GetFloat("alpha")) + ", 0.0f});");
  w.Line("Gemm op;");
  w.Line("cutlass::Status status = op(args, nullptr, static_cast<cudaStream_t>(stream));");
  w.Open("if (status != cutlass::Status::kSuccess) {");
  w.Line("kiln_rt::DeviceReportError(" + CppString(node.Describe() + ": CUTLASS gemm failed") +
         ", cutlass::cutlassGetStatusString(status));");
  w.Line("return;");
  w.Close();
  w.Close();
  return EmitEpiloguePass(ctx, w, "batch * m * n", "n", "1");
}

void RegisterGemmEmitters() {
  RegisterEmitter(OpKind::kGemm, EmitGemmSm80);
  RegisterSm90Emitter(OpKind::kGemm, EmitGemmSm90);
}

}  // namespace kiln::codegen::cuda
