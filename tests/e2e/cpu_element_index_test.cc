// The cpu target end to end on arg_max / arg_min, gather_elements, scatter_elements and the
// trigonometric / rounding unary ops: compiled, loaded, run and compared with the reference
// interpreter (tests/e2e/cpu_e2e_util.h). The cuda target has no kernels for the index ops and
// must reject them by name. Index inputs are given explicitly (in range, with
// negative and duplicate entries); the other inputs are random.
#include <filesystem>

#include "build/toolchain.h"
#include "tests/e2e/cpu_e2e_util.h"

namespace kiln {
namespace {

Tensor I64s(std::vector<int64_t> shape, const std::vector<int64_t>& v) {
  Tensor t(DType::kI64, std::move(shape));
  for (size_t i = 0; i < v.size(); ++i) t.mutable_data_as<int64_t>()[i] = v[i];
  return t;
}

Tensor F32s(std::vector<int64_t> shape, const std::vector<double>& v) {
  return Tensor::FromF64(DType::kF32, std::move(shape), v);
}

TEST(CpuElementIndexTest, ArgMaxArgMinWithTies) {
  CpuE2eOptions o;
  o.inputs = {F32s({3, 4}, {2, 7, 7, 1, 5, 0, 5, -3, 9, 9, 9, 9})};
  ExpectCpuMatchesInterpreter(ParseVerified(R"(graph @a(%x: f32[3,4]) -> (%p, %q, %r) {
  %p = arg_max(%x) {axis=1, keepdims=false} : i64[3]
  %q = arg_max(%x) {axis=1, select_last_index=true} : i64[3,1]
  %r = arg_min(%x) {axis=0} : i64[1,4]
})"),
                              o);
}

TEST(CpuElementIndexTest, ArgMaxI32Symbolic) {
  ExpectCpuMatchesInterpreter(ParseVerified(R"(graph @a(%x: i32[N,3,5]) -> (%p) where N in [1, 8] {
  %p = arg_min(%x) {axis=-1, keepdims=false} : i64[N,3]
})"));
}

TEST(CpuElementIndexTest, GatherElementsAxis0And1) {
  CpuE2eOptions o;
  o.inputs = {F32s({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}), I64s({2, 3}, {1, 2, 0, 2, 0, -3}),
              I64s({3, 2}, {0, 0, 2, 1, -1, 0})};
  ExpectCpuMatchesInterpreter(
      ParseVerified(R"(graph @g(%d: f32[3,3], %i: i64[2,3], %j: i64[3,2]) -> (%a, %b) {
  %a = gather_elements(%d, %i) : f32[2,3]
  %b = gather_elements(%d, %j) {axis=1} : f32[3,2]
})"),
      o);
}

TEST(CpuElementIndexTest, ScatterElementsReductions) {
  for (const char* r : {"none", "add", "mul", "max", "min"}) {
    SCOPED_TRACE(r);
    CpuE2eOptions o;
    o.inputs = {F32s({2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}), I64s({2, 3}, {1, 3, 1, -1, 0, 0}),
                F32s({2, 3}, {1.5, 2.5, 10, -4, 0.5, 3})};
    ExpectCpuMatchesInterpreter(
        ParseVerified(std::string(R"(graph @s(%d: f32[2,5], %i: i64[2,3], %u: f32[2,3]) -> (%y) {
  %y = scatter_elements(%d, %i, %u) {axis=1, reduction=)") +
                      r + R"(} : f32[2,5]
})"),
        o);
  }
}

TEST(CpuElementIndexTest, TrigAndRoundingUnaryOps) {
  for (const char* op :
       {"sin", "cos", "tan", "atan", "sinh", "cosh", "asinh", "floor", "ceil", "round"}) {
    ExpectCpuMatchesInterpreter(
        ParseVerified(std::string("graph @u(%x: f32[2,3,5]) -> (%y) {\n  %y = ") + op +
                      "(%x) : f32[2,3,5]\n}\n"));
  }
  // Domains [-1, 1] (random inputs are in [-1, 1]) and [1, inf) for acosh.
  CpuE2eOptions o;
  o.inputs = {F32s({4}, {1.0, 1.5, 2.0, 10.0})};
  ExpectCpuMatchesInterpreter(ParseVerified(R"(graph @v(%x: f32[4]) -> (%y) {
  %y = acosh(%x) : f32[4]
})"),
                              o);
  for (const char* op : {"asin", "acos", "atanh"}) {
    CpuE2eOptions p;
    p.inputs = {F32s({5}, {-0.9, -0.5, 0.0, 0.25, 0.75})};
    ExpectCpuMatchesInterpreter(
        ParseVerified(std::string("graph @w(%x: f32[5]) -> (%y) {\n  %y = ") + op +
                      "(%x) : f32[5]\n}\n"),
        p);
  }
}

// (arg_max / arg_min and gather_elements have CUDA kernels: tests/gpu/cuda_ops_test.cc.)
TEST(CpuElementIndexTest, CudaTargetRejectsScatterElementsByName) {
  if (!FindNvcc().ok()) GTEST_SKIP() << FindNvcc().status().ToString();
  const char* graphs[][2] = {
      {"scatter_elements",
       "graph @s(%x: f32[2,8], %i: i64[2,8]) -> (%y) {\n"
       "  %y = scatter_elements(%x, %i, %x) : f32[2,8]\n}\n"},
  };
  for (const auto& [op, text] : graphs) {
    SCOPED_TRACE(op);
    CompileOptions options;
    options.target = "cuda-sm90";
    options.output_dir = FreshCompileDir(std::string(op) + "_cuda");
    options.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
    Graph g = ParseVerified(text);
    StatusOr<CompileResult> r = Compile(g, options);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().ToString(), "unimplemented: %y = " + std::string(op) + " (line 2): op " +
                                         op + " is not supported on the cuda-sm90 target yet");
    std::filesystem::remove_all(options.output_dir);
  }
}

// The new unary ops go through the elementwise plan shared with the cuda target: the generated
// CUDA must compile (numbers are checked on a GPU by the lead's GPU runs, not here).
TEST(CpuElementIndexTest, CudaTargetCompilesTrigAndRoundingOps) {
  if (!FindNvcc().ok()) GTEST_SKIP() << FindNvcc().status().ToString();
  Graph g = ParseVerified(R"(graph @trig(%x: f16[4,8]) -> (%y) {
  %a = sin(%x) : f16[4,8]
  %b = cos(%a) : f16[4,8]
  %c = tan(%b) : f16[4,8]
  %d = asin(%c) : f16[4,8]
  %e = acos(%d) : f16[4,8]
  %f = atan(%e) : f16[4,8]
  %g = sinh(%f) : f16[4,8]
  %h = cosh(%g) : f16[4,8]
  %i = asinh(%h) : f16[4,8]
  %j = acosh(%i) : f16[4,8]
  %k = atanh(%j) : f16[4,8]
  %l = floor(%k) : f16[4,8]
  %m = ceil(%l) : f16[4,8]
  %y = round(%m) : f16[4,8]
})");
  CompileOptions options;
  options.target = "cuda-sm90";
  options.output_dir = FreshCompileDir("trig_cuda");
  options.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
  StatusOr<CompileResult> r = Compile(g, options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  std::filesystem::remove_all(options.output_dir);
}

}  // namespace
}  // namespace kiln
