// CUDA kernel emitters of conv2d, one of three kernels per node:
//
// - a 1x1 conv with stride 1, no padding, on cuda-sm90: the GEMM it is, out[N*H*W, O] =
//   x[N*H*W, C] @ w[O, C]^T, through the CUTLASS 3.x gemm (kiln_cuda_gemm_sm90.cuh) with the
//   heuristic's gemm config; the epilogue is fused as for a gemm node;
// - any other conv that TMA can move on cuda-sm90 (nhwc, f16/bf16, groups 1, channel counts C
//   and O multiples of 8, a full-size residual): CUTLASS 3.x implicit GEMM
//   (kiln_cuda_conv_sm90.cuh) with the epilogue fused as a visitor tree: bias per output
//   channel, residual add as the source operand C, activations, the output cast;
// - the rest, and every conv on cuda-sm80: a direct kernel (kiln_cuda_conv.cuh) followed by the
//   epilogue as one elementwise pass. The generated kernel says which path it takes and why.
//
// The 7x7 stem of an image net has 3 input channels; the pad-conv-channels pass pads those to 8
// before code generation so the stem takes the implicit GEMM too.
#include <string>

#include "codegen/cuda/emit_util.h"
#include "codegen/cuda/epilogue_sm90.h"
#include "codegen/cuda/families.h"
#include "codegen/cuda/gemm.h"
#include "codegen/cuda/gemm_config.h"
#include "codegen/pool_plan.h"
#include "ops/epilogue.h"

namespace kiln::codegen::cuda {
namespace {

std::string Int(int64_t v) { return std::to_string(v); }

// Validated attributes and extents of an nhwc or nchw conv2d node.
struct ConvAttrs {
  bool nhwc = true;
  int64_t groups = 1;
  std::vector<int64_t> stride, pad, dilation;  // [h, w], [top, left, bottom, right], [h, w]
  int64_t c = 0, o = 0, kh = 0, kw = 0, h = 0, w = 0, oh = 0, ow = 0;  // static extents
  Dim n;                                                               // batch (maybe symbolic)
};

ConvAttrs ReadAttrs(const Node& node) {
  ConvAttrs a;
  a.nhwc = node.GetEnum("layout") == "nhwc";
  a.groups = node.GetInt("groups");
  a.stride = node.GetInts("stride");
  a.pad = node.GetInts("pad");
  a.dilation = node.GetInts("dilation");
  const Shape& x = node.input(0)->shape();
  const Shape& wt = node.input(1)->shape();
  const Shape& y = node.output()->shape();
  const int c = a.nhwc ? 3 : 1, h = a.nhwc ? 1 : 2, w = a.nhwc ? 2 : 3;
  a.n = x[0];
  a.c = x[c].value();
  a.h = x[h].value();
  a.w = x[w].value();
  a.o = y[c].value();
  a.oh = y[h].value();
  a.ow = y[w].value();
  a.kh = wt[h].value();
  a.kw = wt[w].value();
  return a;
}

// The full-size residual read as the source operand C by the sm90 kernels (-1: none), or why
// those kernels cannot take the epilogue.
struct EpiloguePlan {
  int source = -1;
  std::string unsupported;
};

EpiloguePlan PlanEpilogue(const Node& node) {
  EpiloguePlan plan;
  int operand = node.num_explicit_inputs();
  for (const EpilogueOp& step : node.GetEpilogue()) {
    if (step.kind == EpilogueOp::Kind::kBias) ++operand;
    if (step.kind != EpilogueOp::Kind::kAdd) continue;
    const Value* r = node.input(operand++);
    if (r->shape() != node.output()->shape()) {
      plan.unsupported = "a residual add of %" + r->name() + " (" + r->type().ToString() + "), which broadcasts";
    } else if (plan.source >= 0) {
      plan.unsupported = "two residual adds";
    } else {
      plan.source = operand - 1;
    }
  }
  return plan;
}

// Why the sm90 kernels cannot take the conv, or "".
std::string Sm90ConvUnsupported(const Node& node, const ConvAttrs& a, const EpiloguePlan& epi) {
  const DType d = node.input(0)->dtype();
  if (d != DType::kF16 && d != DType::kBF16) return std::string(DTypeName(d)) + " operands";
  if (!a.nhwc) return "nchw layout";
  if (a.groups != 1) return "groups " + Int(a.groups);
  if (a.c % 8 != 0) return "input channels " + Int(a.c) + " not a multiple of 8 (16 bytes for TMA)";
  if (a.o % 8 != 0) return "output channels " + Int(a.o) + " not a multiple of 8 (16 bytes for TMA)";
  for (int64_t p : a.pad) {
    if (p > 256) return "padding " + Int(p) + " > 256 (TMA im2col's limit)";
  }
  if ((a.kh - 1) * a.dilation[0] >= 255 || (a.kw - 1) * a.dilation[1] >= 255)
    return "a dilated kernel wider than TMA im2col's offsets reach";
  return epi.unsupported;
}

bool IsPointwise(const ConvAttrs& a) {
  return a.kh == 1 && a.kw == 1 && a.stride[0] == 1 && a.stride[1] == 1 && a.dilation[0] == 1 &&
         a.dilation[1] == 1 && a.pad[0] == 0 && a.pad[1] == 0 && a.pad[2] == 0 && a.pad[3] == 0;
}

std::string SourcePtr(int source) { return source >= 0 ? KernelContext::In(source) : "nullptr"; }

std::string SourceType(const Node& node, int source) {
  return source >= 0 ? CutlassType(node.input(source)->dtype()) : "void";
}

// 1x1 stride-1 conv as one gemm of N*H*W rows.
Status EmitPointwiseGemm(const KernelContext& ctx, CodeWriter& w, const ConvAttrs& a,
                         const EpiloguePlan& epi) {
  const Node& node = ctx.node();
  GemmProblem p;
  p.a = node.input(0)->dtype();
  p.d = node.output()->dtype();
  if (epi.source >= 0) p.c = node.input(epi.source)->dtype();
  p.trans_b = true;  // w [O, C]: K contiguous
  p.align_a = p.align_b = p.align_c = p.align_d = 8;
  p.m = a.n.is_static() ? a.n.value() * a.h * a.w : -1;
  p.n = a.o;
  p.k = a.c;
  p.batch = 1;
  if (const std::string why = Sm90Unsupported(p); !why.empty()) {
    return InternalError(node.Describe() + ": 1x1 conv as gemm: " + why);
  }
  const GemmConfig config = HeuristicGemmConfig(p);
  const std::string t = CutlassType(p.a), td = CutlassType(p.d);
  w.Line("// 1x1 conv, stride 1: one Hopper CUTLASS 3.x GEMM [N*H*W, C] x [O, C]^T, config " +
         config.Name() + " (the gemm heuristic's); epilogue fused (visitor tree below)");
  w.Line("#include \"kiln_cuda_gemm_sm90.cuh\"");
  w.Line("const int64_t m = " + ctx.Dim(a.n) + " * " + Int(a.h * a.w) + ", n = " + Int(a.o) +
         ", k = " + Int(a.c) + ";");
  w.Line("using Tile = " + config.TileShapeType() + ";");
  w.Line("using Cluster = " + config.ClusterShapeType() + ";");
  const int root = EmitEpilogueTree(node, epi.source, -1, w);
  w.Line("using Gemm = kiln_cuda::sm90::Gemm<" + t + ", cutlass::layout::RowMajor, " + t +
         ", cutlass::layout::ColumnMajor, " + SourceType(node, epi.source) + ", " + td +
         ", Tile, Cluster, " + Int(config.stages) + ",");
  w.Line("    " + config.KernelScheduleType() + ", " + config.EpilogueScheduleType() + ", E" +
         Int(root) + ">;");
  w.Line("kiln_cuda::sm90::Run<Gemm>(" + CppString(node.Describe() + ": CUTLASS sm90 gemm (1x1 conv)") +
         ", m, n, k, 1, in0, k, 0, in1, k, 0, " + SourcePtr(epi.source) + ", n, 0,");
  w.Line("                           out0, n, 0, ep" + Int(root) + ", stream);");
  return Status::Ok();
}

// The implicit-GEMM tile: N 64 when there are at most 64 output channels (no wasted columns),
// else 128; M 64 when 128-row tiles would not fill the 132 SMs once (small batches, late
// stages), else 128. Non-persistent kernel: one consumer warp group, at most 128x128. K: one
// k-block reads tile-K channels of one filter tap, so input channels fewer than 64 (the padded
// stem's 8) take a K tile of 16 or 32 instead of multiplying mostly zeros.
std::string ConvTile(const ConvAttrs& a, std::string* why) {
  const int64_t tn = a.o <= 64 ? 64 : 128;
  int64_t tm = 128;
  if (a.n.is_static()) {
    const int64_t m = a.n.value() * a.oh * a.ow;
    const int64_t tiles = (m + 127) / 128 * ((a.o + tn - 1) / tn);
    if (tiles < 132) tm = 64;
  }
  *why = tm == 64 ? "fewer 128-row tiles than SMs: 64-row tiles"
                  : (a.n.is_static() ? "at least a wave of 128-row tiles" : "symbolic batch: 128-row tiles");
  if (tn == 64) *why += "; <= 64 output channels: 64-wide tiles";
  const int64_t tk = a.c <= 16 ? 16 : (a.c <= 32 ? 32 : 64);
  if (tk < 64) *why += "; " + Int(a.c) + " input channels: K tile " + Int(tk);
  return "cute::Shape<cute::_" + Int(tm) + ", cute::_" + Int(tn) + ", cute::Shape<cute::_" + Int(tk) + ">>";
}

Status EmitImplicitGemm(const KernelContext& ctx, CodeWriter& w, const ConvAttrs& a,
                        const EpiloguePlan& epi) {
  const Node& node = ctx.node();
  std::string why;
  const std::string tile = ConvTile(a, &why);
  w.Line("// Hopper CUTLASS 3.x implicit-GEMM conv2d (TMA im2col), " + why +
         "; epilogue fused (visitor tree below)");
  w.Line("#include \"kiln_cuda_conv_sm90.cuh\"");
  w.Line("using Tile = " + tile + ";");
  w.Line("using Cluster = cute::Shape<cute::_1, cute::_1, cute::_1>;");
  const int root = EmitEpilogueTree(node, epi.source, -1, w);
  w.Line("using Conv = kiln_cuda::sm90::Conv<" + CutlassType(node.input(0)->dtype()) + ", " +
         SourceType(node, epi.source) + ", " + CutlassType(node.output()->dtype()) +
         ", Tile, Cluster, E" + Int(root) + ">;");
  w.Line("// n, h, w, c; k, r, s; p, q; pads top, left, bottom, right; strides; dilations");
  w.Line("const kiln_cuda::sm90::ConvGeometry g{" + ctx.Dim(a.n) + ", " + Int(a.h) + ", " + Int(a.w) +
         ", " + Int(a.c) + ", " + Int(a.o) + ", " + Int(a.kh) + ", " + Int(a.kw) + ", " + Int(a.oh) +
         ", " + Int(a.ow) + ", " + Int(a.pad[0]) + ", " + Int(a.pad[1]) + ", " + Int(a.pad[2]) + ", " +
         Int(a.pad[3]) + ", " + Int(a.stride[0]) + ", " + Int(a.stride[1]) + ", " +
         Int(a.dilation[0]) + ", " + Int(a.dilation[1]) + "};");
  w.Line("kiln_cuda::sm90::RunConv<Conv>(" + CppString(node.Describe() + ": CUTLASS sm90 conv") +
         ", g, in0, in1, " + SourcePtr(epi.source) + ", out0, ep" + Int(root) + ", stream);");
  return Status::Ok();
}

Status EmitDirect(const KernelContext& ctx, CodeWriter& w, const ConvAttrs& a) {
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(std::string t, FloatTraits(node, node.input(0)));
  KILN_ASSIGN_OR_RETURN(std::string tout, FloatTraits(node, node.output()));
  w.Line("#include \"kiln_cuda_conv.cuh\"");
  w.Line("kiln_cuda::ConvShape s;");
  WriteConvShapeFields(ctx, w);
  w.Line("kiln_cuda::Conv2dDirect<" + t + ", " + tout + ">(s, in0, in1, out0, stream);");
  const std::string count = ctx.Dim(a.n) + " * " + Int(a.o * a.oh * a.ow);
  return EmitEpiloguePass(ctx, w, count, Int(a.o), a.nhwc ? "1" : Int(a.oh * a.ow));
}

Status EmitConvSm80(const KernelContext& ctx, CodeWriter& w) {
  w.Line("// direct convolution (cuda-sm80 has no implicit-GEMM kernel yet)");
  return EmitDirect(ctx, w, ReadAttrs(ctx.node()));
}

Status EmitConvSm90(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const ConvAttrs a = ReadAttrs(node);
  const EpiloguePlan epi = PlanEpilogue(node);
  if (const std::string why = Sm90ConvUnsupported(node, a, epi); !why.empty()) {
    w.Line("// direct convolution: the Hopper implicit GEMM cannot take " + why);
    return EmitDirect(ctx, w, a);
  }
  if (IsPointwise(a)) return EmitPointwiseGemm(ctx, w, a, epi);
  return EmitImplicitGemm(ctx, w, a, epi);
}

}  // namespace

void RegisterConvEmitters() {
  RegisterEmitter(OpKind::kConv2d, EmitConvSm80);
  RegisterSm90Emitter(OpKind::kConv2d, EmitConvSm90);
}

}  // namespace kiln::codegen::cuda
