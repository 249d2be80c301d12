// The Hopper gemm configs without a GPU or nvcc (src/codegen/cuda/gemm_config.cc): the candidate
// list, its validity filters, the config names and the heuristic's choices.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codegen/cuda/gemm_config.h"

namespace kiln {
namespace {

using codegen::cuda::GemmConfig;
using codegen::cuda::GemmProblem;
using codegen::cuda::HeuristicGemmConfig;
using codegen::cuda::ParseGemmConfig;
using codegen::cuda::SmallGemmConfig;
using codegen::cuda::Sm90GemmCandidates;
using codegen::cuda::Sm90Unsupported;
using codegen::cuda::ValidSm90Config;

GemmProblem F16Problem(int64_t m, int64_t n, int64_t k, int64_t batch = 1) {
  GemmProblem p;
  p.m = m;
  p.n = n;
  p.k = k;
  p.batch = batch;
  p.align_a = k % 8 == 0 ? 8 : 1;
  p.align_b = p.align_d = n % 8 == 0 ? 8 : 1;
  return p;
}

TEST(CudaGemmSm90Config, CandidatesAreValidAndHeuristicPicksOne) {
  for (const GemmProblem& p : {F16Problem(8192, 8192, 8192), F16Problem(384, 768, 768), F16Problem(100352, 64, 576),
                               F16Problem(16, 24, 32, 4)}) {
    std::vector<GemmConfig> candidates = Sm90GemmCandidates(p);
    ASSERT_FALSE(candidates.empty()) << p.m << "x" << p.n << "x" << p.k;
    EXPECT_LE(candidates.size(), 12u);
    for (const GemmConfig& c : candidates) EXPECT_TRUE(ValidSm90Config(c)) << c.Name();
    const std::string pick = HeuristicGemmConfig(p).Name();
    EXPECT_TRUE(std::any_of(candidates.begin(), candidates.end(), [&](const GemmConfig& c) { return c.Name() == pick; }))
        << pick;
  }
  EXPECT_EQ(HeuristicGemmConfig(F16Problem(8192, 8192, 8192)).Name(), "128x256x64_2x1_coop");
  EXPECT_EQ(HeuristicGemmConfig(F16Problem(100352, 64, 576)).Name(), "128x64x64_1x1_pingpong");
  EXPECT_EQ(HeuristicGemmConfig(F16Problem(384, 768, 768)).Name(), "64x128x64_1x1_pingpong");
  // Less than a wave of tiles and K >= 1024 (BERT's FFN2 at batch 1, ResNet's last 1x1 convs at
  // batch 1): 64x128 pingpong; stream-K is a tuner candidate only (measured 40-45% slower).
  EXPECT_EQ(HeuristicGemmConfig(F16Problem(384, 768, 3072)).Name(), "64x128x64_1x1_pingpong");
  EXPECT_EQ(HeuristicGemmConfig(F16Problem(49, 512, 2048)).Name(), "64x128x64_1x1_pingpong");
  EXPECT_EQ(SmallGemmConfig(F16Problem(-1, 768, 3072))->Name(), "64x128x64_1x1_pingpong");
  EXPECT_EQ(HeuristicGemmConfig(F16Problem(6272, 2048, 512)).Name(), "128x128x64_1x1_pingpong");
  EXPECT_EQ(HeuristicGemmConfig(F16Problem(49152, 3072, 768)).Name(), "128x256x64_2x1_coop");
  // N <= 1024 takes pingpong at any K; K <= 1024 also takes it with a transcendental activation
  // in the epilogue (which a cooperative kernel cannot overlap with a mainloop); K > 1024 with a
  // wide N does not.
  EXPECT_EQ(HeuristicGemmConfig(F16Problem(49152, 768, 768)).Name(), "128x128x64_1x1_pingpong");
  EXPECT_EQ(HeuristicGemmConfig(F16Problem(49152, 768, 3072)).Name(), "128x128x64_1x1_pingpong");
  EXPECT_EQ(HeuristicGemmConfig(F16Problem(49152, 2048, 3072)).Name(), "128x256x64_2x1_coop");
  GemmProblem gelu = F16Problem(49152, 3072, 768);
  gelu.costly_epilogue = true;
  EXPECT_EQ(HeuristicGemmConfig(gelu).Name(), "128x128x64_1x1_pingpong");
  gelu.k = 3072;
  EXPECT_EQ(HeuristicGemmConfig(gelu).Name(), "128x256x64_2x1_coop");
  EXPECT_EQ(HeuristicGemmConfig(F16Problem(-1, 3072, 768)).Name(), "128x128x64_1x1_pingpong");
  EXPECT_EQ(HeuristicGemmConfig(F16Problem(-1, 768, 3072)).Name(), "128x128x64_1x1_pingpong");
  EXPECT_EQ(HeuristicGemmConfig(F16Problem(-1, 2048, 3072)).Name(), "128x128x64_1x1_coop");
  // A residual (source C) with K <= 256 stays cooperative: ResNet-50's 1x1 expansions. Without
  // the residual, or with K = 512, pingpong as above.
  for (int64_t k : {64, 128, 256, 512}) {
    GemmProblem residual = F16Problem(-1, 4 * k, k);
    residual.c = DType::kF16;
    residual.align_c = 8;
    const char* want = k <= 256 ? "128x128x64_1x1_coop" : "128x128x64_1x1_pingpong";
    EXPECT_EQ(HeuristicGemmConfig(residual).Name(), want) << "symbolic M, K " << k;
    residual.m = 64 * 56 * 56;
    EXPECT_EQ(HeuristicGemmConfig(residual).Name(), want) << "static M, K " << k;
    residual.c.reset();
    EXPECT_EQ(HeuristicGemmConfig(residual).Name(), "128x128x64_1x1_pingpong") << "no residual, K " << k;
  }
  // A 24-column problem keeps no 128-wide-or-more N tile.
  for (const GemmConfig& c : Sm90GemmCandidates(F16Problem(16, 24, 32, 4))) EXPECT_EQ(c.tile_n, 64) << c.Name();
}

TEST(CudaGemmSm90Config, TmaNeedsSixteenByteExtents) {
  EXPECT_EQ(Sm90Unsupported(F16Problem(64, 64, 64)), "");
  EXPECT_NE(Sm90Unsupported(F16Problem(64, 7, 64)), "");  // N = 7
  EXPECT_NE(Sm90Unsupported(F16Problem(64, 64, 1)), "");  // K = 1
  EXPECT_TRUE(Sm90GemmCandidates(F16Problem(64, 1, 64)).empty());
  GemmProblem f32 = F16Problem(64, 64, 64);
  f32.a = DType::kF32;
  EXPECT_NE(Sm90Unsupported(f32), "");
}

TEST(CudaGemmSm90Config, ParsesItsNames) {
  const GemmProblem p = F16Problem(512, 512, 2048);  // K >= 1024: stream-K candidates too
  for (const GemmConfig& c : Sm90GemmCandidates(p)) {
    StatusOr<GemmConfig> back = ParseGemmConfig(c.Name(), p);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->Name(), c.Name());
  }
  StatusOr<GemmConfig> staged = ParseGemmConfig("128x128x64_1x1_coop_s5", p);
  ASSERT_TRUE(staged.ok());
  EXPECT_EQ(staged->stages, 5);
  EXPECT_EQ(ParseGemmConfig("128x128", p).status().ToString(),
            "invalid argument: gemm config \"128x128\" does not parse: expected "
            "<tileM>x<tileN>x<tileK>_<clusterM>x<clusterN>_<coop|pingpong>[_s<stages>][_sw<swizzle>]"
            "[_streamk|_splitk<N>], e.g. 128x256x64_2x1_coop, 128x128x64_1x1_pingpong_sw8, "
            "128x128x64_1x1_coop_streamk or 128x128x64_1x1_coop_splitk4, or sm80");
  StatusOr<GemmConfig> stream_k = ParseGemmConfig("128x64x64_1x1_coop_s4_streamk", p);
  ASSERT_TRUE(stream_k.ok());
  EXPECT_TRUE(stream_k->stream_k);
  EXPECT_EQ(stream_k->TileSchedulerType(), "cutlass::gemm::StreamKScheduler");
  EXPECT_FALSE(ParseGemmConfig("128x128x64_1x1_pingpong_streamk", p).ok());  // cooperative only
  StatusOr<GemmConfig> split = ParseGemmConfig("128x128x64_1x1_coop_splitk4", p);
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  EXPECT_TRUE(split->stream_k);
  EXPECT_EQ(split->splits, 4);
  EXPECT_EQ(split->Name(), "128x128x64_1x1_coop_splitk4");
  EXPECT_FALSE(ParseGemmConfig("128x128x64_1x1_coop_splitk1", p).ok());      // 2..16 splits
  EXPECT_FALSE(ParseGemmConfig("128x128x64_1x1_coop_splitk17", p).ok());
  EXPECT_FALSE(ParseGemmConfig("128x128x64_1x1_pingpong_splitk2", p).ok());  // cooperative only
  StatusOr<GemmConfig> swizzled = ParseGemmConfig("256x128x64_1x2_coop_s4_sw8_streamk", p);
  ASSERT_TRUE(swizzled.ok()) << swizzled.status().ToString();
  EXPECT_EQ(swizzled->swizzle, 8);
  EXPECT_EQ(swizzled->stages, 4);
  EXPECT_TRUE(swizzled->stream_k);
  EXPECT_EQ(swizzled->Name(), "256x128x64_1x2_coop_s4_sw8_streamk");
  EXPECT_EQ(ParseGemmConfig("128x128x64_1x1_pingpong", p)->swizzle, 1);
  EXPECT_FALSE(ParseGemmConfig("128x128x64_1x1_pingpong_sw3", p).ok());  // 1, 2, 4 or 8
  EXPECT_FALSE(ParseGemmConfig("128x128x64_1x1_pingpong_sw16", p).ok());
  EXPECT_FALSE(ParseGemmConfig("64x128x64_1x1_coop", p).ok());       // cooperative needs tile M >= 128
  EXPECT_FALSE(ParseGemmConfig("128x256x64_1x1_pingpong", p).ok());  // 256 accumulator registers
}

}  // namespace
}  // namespace kiln
