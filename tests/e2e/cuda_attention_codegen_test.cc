// The CUDA attention emitter (src/codegen/cuda/attention.cc) without nvcc or a GPU: which kernel
// the generated call builds (the flash kernel's padded head dims, or the fallback and why), the
// sizes as symbolic expressions, the mask's broadcast strides over [B, H, Sq, Sk], the causal flag
// and the resolved scale, on both cuda targets. That the generated code compiles is checked by
// tests/e2e/cuda_compile_test.cc (nvcc); that it computes the reference op by tests/gpu.
#include <gtest/gtest.h>

#include <string>

#include "codegen/cuda/cuda_target.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

// The body the `target` emitter writes for the node producing %`name`.
std::string AttentionBody(const Graph& g, const std::string& name,
                          const std::string& target = "cuda-sm90") {
  for (const auto& node : g.nodes()) {
    if (node->output()->name() != name) continue;
    codegen::KernelContext ctx(*node, {"N", "S"});
    codegen::CodeWriter w;
    Status s = codegen::cuda::CudaTarget(target).find(OpKind::kAttention)(ctx, w);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return w.str();
  }
  ADD_FAILURE() << "no node %" << name;
  return "";
}

// The body the `target` emitter writes for node `node` of g with the tiling `config`, or the
// emitter's error.
std::string ForcedBody(const Graph& g, int node, const std::string& config,
                       const std::string& target = "cuda-sm90") {
  codegen::KernelContext ctx(*g.nodes()[node], {}, config);
  codegen::CodeWriter w;
  Status s = codegen::cuda::CudaTarget(target).find(OpKind::kAttention)(ctx, w);
  return s.ok() ? w.str() : s.ToString();
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(CudaAttentionEmitter, FlashKernelForHalfHeadDims) {
  Graph g = ParseVerified(
      R"(graph @a(%q: f16[N,S,12,64], %k: f16[N,S,12,64], %v: f16[N,S,12,64], %m: f32[N,1,1,S], %q2: bf16[2,17,8,80], %k2: bf16[2,9,2,80], %v2: bf16[2,9,2,40], %mh: bf16[8,17,9]) -> (%y, %z) where N in [1, 32], S in [1, 512] {
  %y = attention(%q, %k, %v, %m) : f16[N,S,12,64]
  %z = attention(%q2, %k2, %v2, %mh) {causal=true, scale=0.5} : bf16[2,17,8,40]
})");
  for (const std::string target : {"cuda-sm90", "cuda-sm80"}) {
    const std::string y = AttentionBody(g, "y", target);
    EXPECT_TRUE(Has(y, "#include \"kiln_cuda_attention.cuh\"")) << y;
    EXPECT_TRUE(Has(y, "// flash kernel for head dims 64 / 64")) << y;
    EXPECT_TRUE(Has(y, "a.batch = sym_N;")) << y;
    EXPECT_TRUE(Has(y, "a.sq = sym_S;")) << y;
    EXPECT_TRUE(Has(y, "a.sk = sym_S;")) << y;
    EXPECT_TRUE(Has(y, "a.heads = 12;")) << y;
    // [N,1,1,S]: batch stride S, broadcast over heads and query rows.
    EXPECT_TRUE(Has(y, "a.mask_stride[0] = sym_S;")) << y;
    EXPECT_TRUE(Has(y, "a.mask_stride[1] = 0;")) << y;
    EXPECT_TRUE(Has(y, "a.mask_stride[2] = 0;")) << y;
    EXPECT_TRUE(Has(y, "a.mask_stride[3] = 1;")) << y;
    EXPECT_TRUE(Has(y, "a.scale = 0.125f;  // 1/sqrt(D)")) << y;
  }
  // sm90: the warp-specialized kernel; sm80: the mma.sync kernel.
  const std::string y90 = AttentionBody(g, "y", "cuda-sm90");
  EXPECT_TRUE(Has(y90, "#include \"kiln_cuda_attention_sm90_ws.cuh\"")) << y90;
  EXPECT_TRUE(Has(y90, "128-key tiles in 2 stages, head dims padded to 64 (the sm90 default)")) << y90;
  EXPECT_TRUE(Has(y90,
                  "kiln_cuda::AttentionSm90Ws<kiln_cuda::F16, kiln_cuda::F32, /*kD=*/64, /*kBlockN=*/128, "
                  "/*kStages=*/2, /*kPingPong=*/true, /*causal=*/false, /*mask=*/true>(a, stream);"))
      << y90;
  const std::string y80 = AttentionBody(g, "y", "cuda-sm80");
  EXPECT_TRUE(Has(y80, "// tiling 4x1x64: 4 warps of 16 query rows, 64-key tiles (default)")) << y80;
  EXPECT_TRUE(Has(y80,
                  "kiln_cuda::Attention<kiln_cuda::F16, kiln_cuda::F32, /*kD=*/64, /*kDv=*/64, "
                  "/*kWarps=*/4, /*kMF=*/1, /*kBlockN=*/64, /*causal=*/false, /*mask=*/true>"
                  "(a, stream);"))
      << y80;
  // mma.sync (sm80): D=80 stays 80 (five k-steps of 16), Dv=40 is padded to 48; a rank-3 mask
  // [H,Sq,Sk]. sm90 pads both to 128.
  const std::string z = AttentionBody(g, "z", "cuda-sm80");
  EXPECT_TRUE(Has(AttentionBody(g, "z", "cuda-sm90"),
                  "kiln_cuda::AttentionSm90Ws<kiln_cuda::BF16, kiln_cuda::BF16, /*kD=*/128, "));
  EXPECT_TRUE(Has(z, "a.kv_heads = 2;")) << z;
  EXPECT_TRUE(Has(z, "a.dv = 40;")) << z;
  EXPECT_TRUE(Has(z, "a.mask_stride[0] = 0;")) << z;
  EXPECT_TRUE(Has(z, "a.mask_stride[1] = 153;")) << z;
  EXPECT_TRUE(Has(z, "a.mask_stride[2] = 9;")) << z;
  EXPECT_TRUE(Has(z, "a.scale = 0.5f;")) << z;
  EXPECT_TRUE(Has(z,
                  "kiln_cuda::Attention<kiln_cuda::BF16, kiln_cuda::BF16, /*kD=*/80, /*kDv=*/48, "
                  "/*kWarps=*/4, /*kMF=*/1, /*kBlockN=*/64, /*causal=*/true, /*mask=*/true>"
                  "(a, stream);"))
      << z;
}

// Head dim 128: the warp-specialized kernel on sm90, the mma.sync kernel's 16-row warps on sm80.
TEST(CudaAttentionEmitter, HeadDim128TakesTheWarpSpecializedKernelOnSm90) {
  Graph g = ParseVerified(R"(graph @a(%q: f16[2,33,4,128]) -> (%y) {
  %y = attention(%q, %q, %q) : f16[2,33,4,128]
})");
  const std::string y = AttentionBody(g, "y");
  EXPECT_TRUE(Has(y, "head dims padded to 128 (the sm90 default)")) << y;
  EXPECT_TRUE(Has(y, "kiln_cuda::AttentionSm90Ws<kiln_cuda::F16, kiln_cuda::F32, /*kD=*/128, /*kBlockN=*/128, "
                     "/*kStages=*/2, /*kPingPong=*/true")) << y;
  const std::string y80 = AttentionBody(g, "y", "cuda-sm80");
  EXPECT_TRUE(Has(y80, "/*kD=*/128, /*kDv=*/128, /*kWarps=*/4, /*kMF=*/1, /*kBlockN=*/64")) << y80;
}

TEST(CudaAttentionEmitter, ForcedTilingAndItsErrors) {
  Graph g = ParseVerified(R"(graph @a(%q: f16[2,33,4,128]) -> (%y) {
  %y = attention(%q, %q, %q) : f16[2,33,4,128]
})");
  const int node = static_cast<int>(g.nodes().size()) - 1;
  const auto body = [&](const std::string& config) { return ForcedBody(g, node, config); };
  const std::string forced = body("8x1x32");
  EXPECT_TRUE(Has(forced, "// tiling 8x1x32: 8 warps of 16 query rows, 32-key tiles (forced"))
      << forced;
  EXPECT_TRUE(Has(forced, "/*kWarps=*/8, /*kMF=*/1, /*kBlockN=*/32")) << forced;
  EXPECT_EQ(body("4x3x32"),
            "invalid argument: %y = attention (line 2): attention tiling \"4x3x32\" "
            "(KILN_ATTENTION_TILING) does not parse: expected <warps>x<mf>x<keys> with warps in "
            "{1, 2, 4, 8}, mf in {1, 2}, keys in {16, 32, 64, 128}, e.g. 4x2x32");
}

// Two attention nodes for the forced sm90 tilings: %y f16 head dim 128, causal with a padding
// mask; %z bf16 head dim 40.
Graph TwoHeadDims() {
  return ParseVerified(R"(graph @a(%q: f16[2,33,4,128], %m: f32[2,1,1,33], %p: bf16[2,9,4,40]) -> (%y, %z) {
  %y = attention(%q, %q, %q, %m) {causal=true} : f16[2,33,4,128]
  %z = attention(%p, %p, %p) : bf16[2,9,4,40]
})");
}

// "wgmma[<rows>x<keys>]": the warp-group-MMA kernel (kiln_cuda_attention_sm90.cuh), head dims
// padded to 64 or 128; cuda-sm90 only.
TEST(CudaAttentionEmitter, WgmmaTilingSelectsTheSm90Kernel) {
  const Graph g = TwoHeadDims();
  const auto body = [&](int node, const std::string& config, const std::string& target) {
    return ForcedBody(g, node, config, target);
  };
  const int y = static_cast<int>(g.nodes().size()) - 2, z = y + 1;
  const std::string big = body(y, "wgmma", "cuda-sm90");
  EXPECT_TRUE(Has(big, "#include \"kiln_cuda_attention_sm90.cuh\"")) << big;
  EXPECT_TRUE(Has(big, "kiln_cuda::AttentionSm90<kiln_cuda::F16, kiln_cuda::F32, /*kD=*/128, "
                       "/*kWG=*/2, /*kBlockN=*/128, /*causal=*/true, /*mask=*/true>(a, stream);"))
      << big;
  const std::string small = body(z, "wgmma64x64", "cuda-sm90");
  EXPECT_TRUE(Has(small, "// warp-group MMA kernel: 64 query rows per CTA, 64-key tiles, head dims "
                         "padded to 64")) << small;
  EXPECT_TRUE(Has(small, "/*kD=*/64, /*kWG=*/1, /*kBlockN=*/64, /*causal=*/false, /*mask=*/false>"))
      << small;
  EXPECT_EQ(body(z, "wgmma32x64", "cuda-sm90"),
            "invalid argument: %z = attention (line 3): attention tiling \"wgmma32x64\" "
            "(KILN_ATTENTION_TILING) does not parse: expected wgmma or wgmma<rows>x<keys> with "
            "rows and keys in {64, 128}, e.g. wgmma64x128");
  EXPECT_EQ(body(z, "wgmma", "cuda-sm80"),
            "invalid argument: %z = attention (line 3): attention tiling \"wgmma\" "
            "(KILN_ATTENTION_TILING) needs the cuda-sm90 target (warp-group MMA)");
}

// "wgmma-ws[<keys>x<stages>]": the warp-specialized kernel (kiln_cuda_attention_sm90_ws.cuh),
// 128 query rows per CTA; cuda-sm90 only.
TEST(CudaAttentionEmitter, WgmmaWsTilingSelectsTheWarpSpecializedKernel) {
  const Graph g = TwoHeadDims();
  const auto body = [&](int node, const std::string& config, const std::string& target) {
    return ForcedBody(g, node, config, target);
  };
  const int y = static_cast<int>(g.nodes().size()) - 2, z = y + 1;
  const std::string big = body(y, "wgmma-ws", "cuda-sm90");
  EXPECT_TRUE(Has(big, "#include \"kiln_cuda_attention_sm90_ws.cuh\"")) << big;
  EXPECT_TRUE(Has(big, "kiln_cuda::AttentionSm90Ws<kiln_cuda::F16, kiln_cuda::F32, /*kD=*/128, "
                       "/*kBlockN=*/128, /*kStages=*/2, /*kPingPong=*/false, /*causal=*/true, "
                       "/*mask=*/true>(a, stream);"))
      << big;
  const std::string small = body(z, "wgmma-wspp64x3", "cuda-sm90");
  EXPECT_TRUE(Has(small, "consumers taking turns): 128 query rows per CTA, 64-key tiles in 3 stages, "
                         "head dims padded to 64")) << small;
  EXPECT_TRUE(Has(small, "/*kD=*/64, /*kBlockN=*/64, /*kStages=*/3, /*kPingPong=*/true, /*causal=*/false, "
                         "/*mask=*/false>")) << small;
  EXPECT_EQ(body(z, "wgmma-ws128x5", "cuda-sm90"),
            "invalid argument: %z = attention (line 3): attention tiling \"wgmma-ws128x5\" "
            "(KILN_ATTENTION_TILING) does not parse: expected wgmma-ws[pp] or wgmma-ws[pp]<keys>x<stages> "
            "with keys in {64, 128} and 2 to 4 stages, e.g. wgmma-ws128x3 (pp: the consumers take turns "
            "at the tensor cores)");
  EXPECT_EQ(body(z, "wgmma-ws", "cuda-sm80"),
            "invalid argument: %z = attention (line 3): attention tiling \"wgmma-ws\" "
            "(KILN_ATTENTION_TILING) needs the cuda-sm90 target (TMA, warp-group MMA)");
}

TEST(CudaAttentionEmitter, FallbackForOtherHeadDimsAndF32) {
  Graph g = ParseVerified(
      R"(graph @a(%q: f16[1,4,2,20], %v: f16[1,4,2,20], %q2: f16[1,4,2,160], %q3: f32[1,4,2,64]) -> (%y, %z, %w) {
  %y = attention(%q, %q, %v) : f16[1,4,2,20]
  %z = attention(%q2, %q2, %q2) : f16[1,4,2,160]
  %w = attention(%q3, %q3, %q3) {causal=true} : f32[1,4,2,64]
})");
  const std::string y = AttentionBody(g, "y");
  EXPECT_TRUE(Has(y,
                  "// fallback kernel (one warp per query row): D = 20 is not a multiple of 8 "
                  "in [8, 128]"))
      << y;
  EXPECT_TRUE(Has(y,
                  "kiln_cuda::AttentionFallback<kiln_cuda::F16, kiln_cuda::F32, /*causal=*/false, "
                  "/*mask=*/false>(a, stream);"))
      << y;
  EXPECT_TRUE(Has(y, "a.mask = nullptr;")) << y;
  const std::string z = AttentionBody(g, "z");
  EXPECT_TRUE(Has(z, "D = 160 is not a multiple of 8 in [8, 128]")) << z;
  const std::string w = AttentionBody(g, "w");
  EXPECT_TRUE(Has(w, "f32 (the flash kernel takes f16 / bf16)")) << w;
  EXPECT_TRUE(Has(w,
                  "kiln_cuda::AttentionFallback<kiln_cuda::F32, kiln_cuda::F32, /*causal=*/true, "
                  "/*mask=*/false>(a, stream);"))
      << w;
}

}  // namespace
}  // namespace kiln
