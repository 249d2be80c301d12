// Kernel tuning on a Hopper GPU (ctest label gpu; skipped elsewhere): the first compile of two
// gemms of one signature profiles the candidates once and stores both shapes' winners in the
// SQLite cache; a second compile takes them from the cache without building anything, and the
// tuned library matches the interpreter (tolerance as in cuda_test_util.h: f16 2e-2 / 2e-2); a
// gemm of a dynamic row count is tuned at bucket points and dispatches between their winners.
#include <unistd.h>

#include "tests/gpu/cuda_test_util.h"
#include "tuning/tuning_cache.h"

namespace kiln {
namespace {

constexpr const char* kGemms = R"(graph @two_gemms(%x: f16[256,512], %y: f16[128,512], %w: f16[384,512], %b: f16[384]) -> (%u, %v) {
  %u = gemm(%x, %w) {trans_b=true, epilogue=[bias(%b), gelu]} : f16[256,384]
  %v = gemm(%y, %w) {trans_b=true, epilogue=[bias(%b), gelu]} : f16[128,384]
})";

TEST(CudaTuningTest, ProfilesOnceThenCompilesFromTheCache) {
  if (!HasGpu()) GTEST_SKIP() << "no CUDA GPU";
  if (TargetOfThisGpu() != "cuda-sm90") GTEST_SKIP() << "tuning covers cuda-sm90 gemms";
  const std::string cache_path = std::string(KILN_BINARY_DIR) + "/tuning-test-" +
                                 std::to_string(getpid()) + ".sqlite";
  std::filesystem::remove(cache_path);
  auto compile = [&](const std::string& name) -> StatusOr<CompileResult> {
    Graph g = ParseVerified(kGemms);
    CompileOptions o;
    o.target = "cuda-sm90";
    o.output_dir = FreshCompileDir(name);
    o.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
    o.tune = TuneMode::kAuto;
    o.tuning_cache = cache_path;
    o.tune_max_candidates = 3;
    return Compile(g, o);
  };
  StatusOr<CompileResult> first = compile("tuning_first");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->tuning.tunable, 2);
  EXPECT_EQ(first->tuning.profiled, 2);
  EXPECT_GT(first->tuning.candidates_built, 0);
  {
    StatusOr<TuningCache> cache = TuningCache::Open(cache_path);
    ASSERT_TRUE(cache.ok());
    EXPECT_EQ(*cache->Size(), 2);  // one winner per shape
  }
  StatusOr<CompileResult> second = compile("tuning_second");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->tuning.cached, 2);
  EXPECT_EQ(second->tuning.profiled, 0);
  EXPECT_EQ(second->tuning.candidates_built, 0);
  // The tuned kernels compute the right thing.
  ExpectCudaMatchesInterpreter(ParseVerified(kGemms),
                               {.tune = TuneMode::kCacheOnly, .tuning_cache = cache_path});
  std::filesystem::remove(cache_path);
}

// A dynamic batch with --tune full: the gemm (rows 16 * N, N in [1, 64]) is profiled at its bucket points (rows 16,
// 64, 256, 1024), and the library dispatches by rows between the winners; it matches the
// interpreter below, between and above the points.
TEST(CudaTuningTest, SymbolicRowsAreTunedAtBucketPoints) {
  if (!HasGpu()) GTEST_SKIP() << "no CUDA GPU";
  if (TargetOfThisGpu() != "cuda-sm90") GTEST_SKIP() << "tuning covers cuda-sm90 gemms";
  const std::string cache_path = std::string(KILN_BINARY_DIR) + "/tuning-rows-" +
                                 std::to_string(getpid()) + ".sqlite";
  std::filesystem::remove(cache_path);
  constexpr const char* kDynamic = R"(graph @rows(%x: f16[N,16,256], %w: f16[512,256], %b: f16[512]) -> (%y) where N in [1, 64] {
  %y = gemm(%x, %w) {trans_b=true, epilogue=[bias(%b), relu]} : f16[N,16,512]
})";
  CompileOptions o;
  o.target = "cuda-sm90";
  o.output_dir = FreshCompileDir("tuning_rows");
  o.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
  o.tune = TuneMode::kFull;
  o.tuning_cache = cache_path;
  o.tune_max_candidates = 3;
  Graph g = ParseVerified(kDynamic);
  StatusOr<CompileResult> r = Compile(g, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tuning.tunable, 1);
  EXPECT_EQ(r->tuning.profiled, 1);
  {
    StatusOr<TuningCache> cache = TuningCache::Open(cache_path);
    ASSERT_TRUE(cache.ok());
    EXPECT_EQ(*cache->Size(), 4);  // one winner per bucket point
  }
  ExpectCudaMatchesInterpreter(ParseVerified(kDynamic),
                               {.bindings = {{{"N", 1}}, {{"N", 3}}, {{"N", 17}}, {{"N", 64}}},
                                .tune = TuneMode::kCacheOnly,
                                .tuning_cache = cache_path});
  std::filesystem::remove(cache_path);
}

}  // namespace
}  // namespace kiln
