// CUDA kernel emitters of conv2d, one of four kernels per node:
//
// - a 1x1 conv with stride 1, no padding, on cuda-sm90: the GEMM it is, out[N*H*W, O] =
//   x[N*H*W, C] @ w[O, C]^T, through the CUTLASS 3.x gemm (kiln_cuda_gemm_sm90.cuh) with a
//   gemm config (tuned or the heuristic's); the epilogue is fused as for a gemm node;
// - any other conv that TMA can move on cuda-sm90 (nhwc, f16/bf16, groups 1, channel counts C
//   and O multiples of 8, a full-size residual): CUTLASS 3.x implicit GEMM
//   (kiln_cuda_conv_sm90.cuh, tile from conv_config.h: tuned or the heuristic's) with the
//   epilogue fused as a visitor tree: bias per output channel, residual add as the source
//   operand C, activations, the output cast;
// - a conv of 4 or 8 input channels on cuda-sm90 (the padded stem of an image net): kiln's
//   few-channel implicit GEMM (kiln_cuda_conv_fixed_channels.cuh: filters and input patch in shared
//   memory, mma.sync), or where those do not fit (a ViT's 16x16 stride-16 patch embedding: 524 KB)
//   CUTLASS 2.x's fixed-channels implicit GEMM (kiln_cuda_conv_fixed_channels_cutlass.cuh); bias
//   and relu fused, other epilogues a pass;
// - the rest, and every conv on cuda-sm80: a direct kernel (kiln_cuda_conv.cuh) followed by the
//   epilogue as one elementwise pass. The generated kernel says which path it takes and why.
// conv_transpose2d takes a direct gather kernel of its own on every CUDA target (same epilogue pass).
//
// With a symbolic batch the CUTLASS paths and the few-channel kernel carry two instantiations
// each: the heuristic's tile for many rows and one for small batches (64-row tiles / the gemm's
// small-size config / 8x16-pixel tiles),
// chosen at run time by whether the large tiles would fill the GPU (emit_util.h UnderOneWave).
//
// The 7x7 stem of an image net has 3 input channels; the pad-conv-channels pass pads those to 4
// before code generation so the stem takes the fixed-channels kernel.
#include <optional>
#include <string>
#include <vector>

#include "codegen/cuda/conv_config.h"
#include "codegen/cuda/emit_util.h"
#include "codegen/cuda/epilogue_sm90.h"
#include "codegen/cuda/families.h"
#include "codegen/cuda/gemm.h"
#include "codegen/cuda/gemm_config.h"
#include "codegen/pool_plan.h"

namespace kiln::codegen::cuda {
namespace {

std::string Int(int64_t v) { return std::to_string(v); }

std::string SourcePtr(int source) { return source >= 0 ? KernelContext::In(source) : "nullptr"; }

std::string SourceType(const Node& node, int source) {
  return source >= 0 ? CutlassType(node.input(source)->dtype()) : "void";
}

// The conv's sizes as the implicit-GEMM kernels take them, from size[] (ConvSizes).
void WriteGeometry(CodeWriter& sw) {
  sw.Line("auto i = [&](int k) { return static_cast<int>(size[k]); };");
  sw.Line("const kiln_cuda::ConvGeometry g{size[0], size[1], size[2], size[3], size[4], size[5], "
          "size[6], size[7],");
  sw.Line("    size[8], i(9), i(10), i(11), i(12), i(13), i(14), i(15), i(16)};");
}

// The size[] of the implicit-GEMM kernels: n, h, w, c; k, r, s; p, q; pads; strides; dilations.
std::vector<std::string> ConvSizes(const KernelContext& ctx, const ConvAttrs& a) {
  return {ctx.Dim(a.n), Int(a.h), Int(a.w), Int(a.c), Int(a.o), Int(a.kh), Int(a.kw), Int(a.oh),
          Int(a.ow), Int(a.pad[0]), Int(a.pad[1]), Int(a.pad[2]), Int(a.pad[3]), Int(a.stride[0]),
          Int(a.stride[1]), Int(a.dilation[0]), Int(a.dilation[1])};
}

// 1x1 stride-1 conv as one gemm of N*H*W rows, with the tuner's gemm config or the heuristic's.
Status EmitPointwiseGemm(const KernelContext& ctx, CodeWriter& w, const ConvSm90Plan& plan) {
  const Node& node = ctx.node();
  const ConvAttrs& a = plan.attrs;
  const GemmProblem& p = plan.gemm;
  KILN_ASSIGN_OR_RETURN(std::vector<RowsConfig<GemmConfig>> by_rows,
                        ParseRowsConfigs<GemmConfig>(node, ctx.config(), [&](const std::string& text) {
                          return ParseGemmConfig(text, p);
                        }));
  GemmConfig config = by_rows.empty() ? HeuristicGemmConfig(p) : by_rows.back().config;
  const std::string why = by_rows.empty() ? "the gemm heuristic's" : by_rows.size() > 1 ? "tuned per row count" : "tuned";
  w.Line("// 1x1 conv, stride 1: one Hopper CUTLASS 3.x GEMM [N*H*W, C] x [O, C]^T, config " +
         config.Name() + " (" + why + "); epilogue fused (visitor tree in the shared function)");
  w.Line("// size: m, n, k");
  Sm90Scratch scratch(ctx, 3);  // size[3]: after m, n, k
  auto body = [&](const GemmConfig& c) {
    CodeWriter sw = SharedBodyWriter(node);
    sw.Line(Sm90GemmInclude(c));
    sw.Line("const int64_t m = size[0], n = size[1], k = size[2];");
    const int root = WriteSm90GemmType(node, c, "cutlass::layout::RowMajor",
                                       "cutlass::layout::ColumnMajor", plan.source, -1, sw);
    sw.Line("kiln_cuda::sm90::Run<Gemm>(what, m, n, k, 1, in0, k, 0, in1, k, 0, " +
            SourcePtr(plan.source) + ", n, 0,");
    sw.Line("                           out0, n, 0, ep" + Int(root) + ", " + scratch.RunEnd(c));
    return sw;
  };
  // A symbolic batch: small batches whose rows give less than a wave of the config's tiles take
  // the heuristic's small-size config.
  const std::vector<SharedVariant> variants =
      Sm90GemmVariants(by_rows, config, ctx.config().empty() ? SmallGemmConfig(p) : std::nullopt,
                       p, "size[0]", "size[1]", body, scratch, w);
  std::vector<std::string> sizes = {ctx.Dim(a.n) + " * " + Int(a.h * a.w), Int(a.o), Int(a.c)};
  scratch.AddTo(sizes);
  CallSharedFunctions(ctx, "gemm_sm90",
                      CppString(node.Describe() + ": CUTLASS sm90 gemm (1x1 conv)"), sizes,
                      variants, w);
  return Status::Ok();
}

// The implicit GEMM with the tuner's tile or the heuristic's.
Status EmitImplicitGemm(const KernelContext& ctx, CodeWriter& w, const ConvSm90Plan& plan) {
  const Node& node = ctx.node();
  const ConvAttrs& a = plan.attrs;
  KILN_ASSIGN_OR_RETURN(std::vector<RowsConfig<ConvTile>> by_rows,
                        ParseRowsConfigs<ConvTile>(node, ctx.config(), ParseConvTile));
  std::string why;
  ConvTile tile = HeuristicConvTile(a, &why);
  if (!by_rows.empty()) {
    tile = by_rows.back().config;
    why = by_rows.size() > 1 ? "tiles tuned per row count (below)" : "tuned tile " + tile.Name();
  }
  w.Line("// Hopper CUTLASS 3.x implicit-GEMM conv2d (TMA im2col), " + why +
         "; epilogue fused (visitor tree in the shared function)");
  w.Line("// size: n, h, w, c; k, r, s; p, q; pads top, left, bottom, right; strides; dilations");
  auto body = [&](const ConvTile& t) {
    CodeWriter sw = SharedBodyWriter(node);
    sw.Line("#include \"kiln_cuda_conv_sm90.cuh\"");
    sw.Line("using Tile = " + t.ShapeType() + ";");
    sw.Line("using Cluster = cute::Shape<cute::_1, cute::_1, cute::_1>;");
    const int root = EmitEpilogueTree(node, plan.source, -1, sw);
    sw.Line("using Conv = kiln_cuda::sm90::Conv<" + CutlassType(node.input(0)->dtype()) + ", " +
            SourceType(node, plan.source) + ", " + CutlassType(node.output()->dtype()) +
            ", Tile, Cluster, E" + Int(root) + (t.ctas_per_sm > 1 ? ", " + Int(t.ctas_per_sm) : "") +
            ">;" + (t.ctas_per_sm > 1 ? "  // " + Int(t.ctas_per_sm) + " CTAs per SM" : ""));
    WriteGeometry(sw);
    sw.Line("kiln_cuda::sm90::RunConv<Conv>(what, g, in0, in1, " + SourcePtr(plan.source) +
            ", out0, ep" + Int(root) + ", stream);");
    return sw;
  };
  std::vector<SharedVariant> variants =
      RowsDispatchVariants(by_rows, "size[0] * size[7] * size[8]", body, w);
  // A symbolic batch takes 128-row tiles; small batches whose N*P*Q rows give less than a wave of
  // them take 64-row tiles, as a static small batch would.
  if (ctx.config().empty() && !a.n.is_static() && tile.m == 128) {
    ConvTile small = tile;
    small.m = 64;
    w.Line("// fewer than " + Int(kSm90Sms) + " " + tile.Name().substr(5) +
           " tiles (small batch): tile " + small.Name());
    variants.push_back(
        {UnderOneWave("size[0] * size[7] * size[8]", "size[4]", tile.m, tile.n), body(small),
         small.Name()});
  }
  if (by_rows.size() < 2) variants.push_back({"", body(tile), variants.empty() ? "" : tile.Name()});
  CallSharedFunctions(ctx, "conv_sm90", CppString(node.Describe() + ": CUTLASS sm90 conv"),
                      ConvSizes(ctx, a), variants, w);
  return Status::Ok();
}

// What the fixed-channels kernel fuses of the node's epilogue: [bias] [relu] [cast], the bias of
// the output's dtype (the kernel reads it as the output dtype).
struct FixedChannelsEpilogue {
  bool fused = false;
  int bias = -1;  // operand index, -1: none
  bool relu = false;
  /// The kernel's bias argument ("in2" or "nullptr") and its relu template flag.
  std::string BiasArg() const { return fused && bias >= 0 ? KernelContext::In(bias) : "nullptr"; }
  std::string ReluArg() const { return fused && relu ? "true" : "false"; }
};

// After a few-channel kernel: nothing when it fused the epilogue, else the epilogue as a pass.
Status FixedChannelsEpilogueTail(const KernelContext& ctx, CodeWriter& w, const ConvAttrs& a,
                                 const FixedChannelsEpilogue& epi) {
  if (epi.fused) return Status::Ok();
  return EmitEpiloguePass(ctx, w, ctx.Dim(a.n) + " * " + Int(a.oh * a.ow * a.o), Int(a.o), "1");
}

FixedChannelsEpilogue PlanFixedChannelsEpilogue(const Node& node) {
  FixedChannelsEpilogue e;
  const Epilogue& ep = node.GetEpilogue();
  size_t i = 0;
  const int first = node.num_explicit_inputs();
  if (i < ep.size() && ep[i].kind == EpilogueOp::Kind::kBias &&
      node.input(first)->dtype() == node.output()->dtype()) {
    e.bias = first;
    ++i;
  }
  if (i < ep.size() && ep[i].kind == EpilogueOp::Kind::kRelu) {
    e.relu = true;
    ++i;
  }
  if (i < ep.size() && ep[i].kind == EpilogueOp::Kind::kCast) ++i;
  e.fused = i == ep.size();
  return e;
}

// A conv of 4 or 8 input channels whose filters or input patch do not fit kiln's kernel (a patch
// embedding): CUTLASS 2.x implicit GEMM with the fixed-channels iterator.
Status EmitFixedChannelsCutlass(const KernelContext& ctx, CodeWriter& w, const ConvSm90Plan& plan) {
  const Node& node = ctx.node();
  const ConvAttrs& a = plan.attrs;
  const FixedChannelsEpilogue epi = PlanFixedChannelsEpilogue(node);
  const DType out = node.output()->dtype();
  const int align_d = Alignment({Dim(a.o)}, out);
  // 64-wide tiles up to 64 output channels; K tiles of 32 (8 taps of 4 channels, 4 of 8).
  const int tile_n = a.o <= 64 ? 64 : 128;
  w.Line("// " + Int(a.c) + " input channels: CUTLASS 2.x implicit-GEMM conv2d with the fixed-channels "
         "iterator (one access per pixel), " + (epi.fused ? "epilogue fused" : "epilogue as a pass after it"));
  w.Line("// size: n, h, w, c; k, r, s; p, q; pads top, left, bottom, right; strides; dilations");
  auto body = [&](int tile_m) {
    CodeWriter sw = SharedBodyWriter(node);
    sw.Line("#include \"kiln_cuda_conv_fixed_channels_cutlass.cuh\"");
    sw.Line("using Conv = kiln_cuda::fixed_channels_cutlass::Conv<" + CutlassType(node.input(0)->dtype()) + ", " +
            CutlassType(out) + ", " + Int(a.c) + ", " + Int(align_d) + ", " + epi.ReluArg() + ", " +
            Int(tile_m) + ", " + Int(tile_n) + ", 32, 4>;");
    WriteGeometry(sw);
    sw.Line("kiln_cuda::fixed_channels_cutlass::RunConv<Conv>(what, g, in0, in1, " + epi.BiasArg() +
            ", out0, stream);");
    return sw;
  };
  std::vector<SharedVariant> variants;
  if (!a.n.is_static()) {
    w.Line("// fewer than " + Int(kSm90Sms) + " 128x" + Int(tile_n) + " tiles (small batch): 64-row tiles");
    variants.push_back({UnderOneWave("size[0] * size[7] * size[8]", "size[4]", 128, tile_n), body(64),
                        "64x" + Int(tile_n)});
  }
  variants.push_back({"", body(128), variants.empty() ? "" : "128x" + Int(tile_n)});
  CallSharedFunctions(ctx, "conv_fixed_channels_cutlass",
                      CppString(node.Describe() + ": CUTLASS fixed-channels conv"), ConvSizes(ctx, a),
                      variants, w);
  return FixedChannelsEpilogueTail(ctx, w, a, epi);
}

// A conv of 4 or 8 input channels: kiln's few-channel kernel, 16x16-pixel tiles (8x16 where the
// 16x16 ones would not fill the GPU twice over: a symbolic batch carries both). With conv2d's
// max_pool attribute the same kernel pools its tile before storing it (RunConvMaxPool): the tiles
// are then the conv pixels of a tile of pooled pixels (kiln_cuda_conv_pool_tile.h).
Status EmitFixedChannels(const KernelContext& ctx, CodeWriter& w, const ConvSm90Plan& plan) {
  const Node& node = ctx.node();
  const ConvAttrs& a = plan.attrs;
  const FixedChannelsEpilogue epi = PlanFixedChannelsEpilogue(node);
  const bool pool = !a.max_pool.empty();
  if (pool && (!epi.fused || DTypeSize(node.output()->dtype()) != 2)) {
    return Unimplemented(node.Describe() + ": a fused max pool after an epilogue other than [bias] [relu], or " +
                         "into a " + std::string(DTypeName(node.output()->dtype())) +
                         " output (the few-channel kernel pools 16-bit outputs after bias and relu)");
  }
  KILN_ASSIGN_OR_RETURN(std::string in, FloatTraits(node, node.input(0)));
  KILN_ASSIGN_OR_RETURN(std::string out, FloatTraits(node, node.output()));
  w.Line("// " + Int(a.c) + " input channels: kiln's few-channel implicit-GEMM conv (filters and input "
         "patch in shared memory, one access per pixel), " +
         (epi.fused ? "epilogue fused" : "epilogue as a pass after it") + (pool ? ", max pool fused" : ""));
  w.Line("// size: n, h, w, c; k, r, s; p, q; pads top, left, bottom, right; strides; dilations" +
         std::string(pool ? "; pool kernel h, w, strides, pads top, left; pooled p, q" : ""));
  auto body = [&](int rows_per_warp) {
    CodeWriter sw = SharedBodyWriter(node);
    sw.Line("#include \"kiln_cuda_conv_fixed_channels.cuh\"");
    WriteGeometry(sw);
    const std::string targs = "<" + in + ", " + out + ", " + Int(a.c) + ", " + Int(a.kh) + ", " + Int(a.kw) +
                              ", " + Int(rows_per_warp) + ", " + epi.ReluArg() + ">";
    if (pool) {
      sw.Line("const kiln_cuda::fixed_channels::MaxPool pool{i(17), i(18), i(19), i(20), i(21), i(22), size[23], "
              "size[24]};");
      sw.Line("kiln_cuda::fixed_channels::RunConvMaxPool" + targs + "(what, g, pool, in0, in1, " + epi.BiasArg() +
              ", out0, stream);");
    } else {
      sw.Line("kiln_cuda::fixed_channels::RunConv" + targs + "(what, g, in0, in1, " + epi.BiasArg() +
              ", out0, stream);");
    }
    return sw;
  };
  // CTAs of 16x16 output pixels (or of the pooled tile of 256 conv pixels) x 64 channels; two run
  // per SM.
  std::string ctas = "size[0] * ((size[7] + 15) / 16) * ((size[8] + 15) / 16) * ((size[4] + 63) / 64)";
  int64_t tiles = ((a.oh + 15) / 16) * ((a.ow + 15) / 16);
  std::vector<std::string> sizes = ConvSizes(ctx, a);
  if (pool) {
    const kiln_cuda::fixed_channels::PoolTile t = kiln_cuda::fixed_channels::PooledTile(FixedChannelsPool(a), 256);
    tiles = ((a.pool_oh + t.ph - 1) / t.ph) * ((a.pool_ow + t.pw - 1) / t.pw);
    ctas = "size[0] * " + Int(tiles) + " * ((size[4] + 63) / 64)";
    for (int i = 0; i < 6; ++i) sizes.push_back(Int(a.max_pool[i]));
    sizes.push_back(Int(a.pool_oh));
    sizes.push_back(Int(a.pool_ow));
  }
  const int64_t static_ctas = a.n.is_static() ? a.n.value() * tiles * ((a.o + 63) / 64) : -1;
  std::vector<SharedVariant> variants;
  if (!a.n.is_static()) {
    w.Line("// fewer than " + Int(2 * kSm90Sms) + " CTAs of 256 conv pixels (small batch): 128-pixel tiles");
    variants.push_back({ctas + " < " + Int(2 * kSm90Sms), body(1), "8x16"});
    variants.push_back({"", body(2), "16x16"});
  } else {
    variants.push_back({"", body(static_ctas < 2 * kSm90Sms ? 1 : 2), ""});
  }
  CallSharedFunctions(ctx, "conv_fixed_channels", CppString(node.Describe() + ": few-channel conv"), sizes,
                      variants, w);
  return FixedChannelsEpilogueTail(ctx, w, a, epi);
}

// The direct kernel `kernel` (kiln_cuda_conv.cuh: Conv2dDirect or ConvTranspose2dDirect), then
// the epilogue as one pass.
Status EmitDirect(const KernelContext& ctx, CodeWriter& w, const ConvAttrs& a,
                  const std::string& kernel = "Conv2dDirect") {
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(std::string t, FloatTraits(node, node.input(0)));
  KILN_ASSIGN_OR_RETURN(std::string tout, FloatTraits(node, node.output()));
  w.Line("#include \"kiln_cuda_conv.cuh\"");
  w.Line("kiln_cuda::ConvShape s;");
  WriteConvShapeFields(ctx, w);
  w.Line("kiln_cuda::" + kernel + "<" + t + ", " + tout + ">(s, in0, in1, out0, stream);");
  const std::string count = ctx.Dim(a.n) + " * " + Int(a.o * a.oh * a.ow);
  return EmitEpiloguePass(ctx, w, count, Int(a.o), a.nhwc ? "1" : Int(a.oh * a.ow));
}

// conv_transpose2d on every CUDA target: the direct gather kernel (correct, not fast), the
// epilogue as a pass after it.
Status EmitConvTranspose(const KernelContext& ctx, CodeWriter& w) {
  w.Line("// conv_transpose2d: the direct kernel, one thread per output element");
  return EmitDirect(ctx, w, ReadConvAttrs(ctx.node()), "ConvTranspose2dDirect");
}

Status EmitConvSm80(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  if (!node.GetInts("max_pool").empty()) {
    return Unimplemented(node.Describe() +
                         ": the max_pool attribute (a max pool fused into the conv) is implemented "
                         "only by the cuda-sm90 few-channel kernel; on the cuda-sm80 target keep "
                         "max_pool2d as its own node");
  }
  w.Line("// direct convolution (cuda-sm80 has no implicit-GEMM kernel yet)");
  return EmitDirect(ctx, w, ReadConvAttrs(ctx.node()));
}

Status EmitConvSm90(const KernelContext& ctx, CodeWriter& w) {
  const ConvSm90Plan plan = PlanConvSm90(ctx.node());
  if (!plan.attrs.max_pool.empty() && !(plan.fixed_channels && plan.fixed_channels_smem)) {
    return Unimplemented(ctx.node().Describe() +
                         ": a fused max pool (conv2d's max_pool attribute) runs only on the few-channel kernel "
                         "(f16/bf16 nhwc, 4 or 8 input channels, output channels a multiple of 8, filters and "
                         "input patch within shared memory); keep max_pool2d as its own node");
  }
  if (plan.fixed_channels) {
    return plan.fixed_channels_smem ? EmitFixedChannels(ctx, w, plan) : EmitFixedChannelsCutlass(ctx, w, plan);
  }
  if (!plan.unsupported.empty()) {
    w.Line("// direct convolution: the Hopper implicit GEMM cannot take " + plan.unsupported);
    return EmitDirect(ctx, w, plan.attrs);
  }
  if (plan.attrs.Pointwise()) return EmitPointwiseGemm(ctx, w, plan);
  return EmitImplicitGemm(ctx, w, plan);
}

}  // namespace

void RegisterConvEmitters() {
  RegisterEmitter(OpKind::kConv2d, EmitConvSm80);
  RegisterSm90Emitter(OpKind::kConv2d, EmitConvSm90);
  RegisterEmitter(OpKind::kConvTranspose2d, EmitConvTranspose);
}

}  // namespace kiln::codegen::cuda
