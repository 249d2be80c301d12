// The `kiln` command line: each user-facing error it reports (stderr text and exit code), run as
// a subprocess of the built binary, plus the values `kiln eval` prints and saves on a small graph.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include "ir/builder.h"
#include "ir/printer.h"
#include "passes/pass.h"
#include "support/safetensors.h"
#include "tests/errors/cli_test_util.h"

namespace kiln {
namespace {

// The pass list `kiln opt` prints after an unknown pass name.
std::string KnownPasses() {
  std::string known;
  for (const std::string& n : PassNames()) known += (known.empty() ? "" : ", ") + n;
  return known.empty() ? "none" : known;
}

using CliErrorsTest = CliTest;

TEST_F(CliErrorsTest, MissingModelFile) {
  CliResult r = Run("opt /nonexistent/model.kir");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text, "kiln: error: no such file: /nonexistent/model.kir\n");
  EXPECT_EQ(r.stdout_text, "");
}

TEST_F(CliErrorsTest, MissingWeightsFile) {
  std::string model = WriteReluModel();
  CliResult r = Run("eval " + model + " --weights /nonexistent/w.safetensors");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text, "kiln: error: no such weights file: /nonexistent/w.safetensors\n");
}

TEST_F(CliErrorsTest, UnknownZooModel) {
  CliResult r = Run("info zoo:no_such_net");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.stderr_text.starts_with(
      "kiln: error: unknown zoo model 'no_such_net' (available: "))
      << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("resnet50"), std::string::npos) << r.stderr_text;
}

TEST_F(CliErrorsTest, BindNeedsAnOnnxModelAndNameEqualsValues) {
  CliResult r = Run("compile zoo:mlp --bind x=1 -o " + Path("bind_lib"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text,
            "kiln: error: --bind applies to .onnx models only (it binds ONNX graph inputs)\n");
  r = Run("compile zoo:mlp --bind shape -o " + Path("bind_lib"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text, "kiln: error: --bind shape: expected NAME=V1,V2,..., e.g. shape=1,3,-1\n");
}

TEST_F(CliErrorsTest, UnknownPass) {
  std::string model = WriteReluModel();
  CliResult r = Run("opt " + model + " --pass=fuse_everything");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text,
            "kiln: error: unknown pass 'fuse_everything' (known: " + KnownPasses() + ")\n");
}

TEST_F(CliErrorsTest, BadIrTextNamesFileLineColumn) {
  std::string path = WriteFile("bad.kir",
                               "graph @g(%x: f32[2]) -> (%y) {\n"
                               "  %y = frobnicate(%x) : f32[2]\n"
                               "}\n");
  CliResult r = Run("opt " + path);
  EXPECT_EQ(r.exit_code, 1);
  std::regex expected("kiln: error: .*" + std::regex_replace(path, std::regex("[.]"), "\\.") +
                      ":2:[0-9]+: .*frobnicate.*\n");
  EXPECT_TRUE(std::regex_match(r.stderr_text, expected)) << r.stderr_text;
}

TEST_F(CliErrorsTest, WrongInputShape) {
  std::string model = WriteReluModel();
  std::string inputs = WriteInputs("wrong.safetensors", "x", {3, 2}, {1, 2, 3, 4, 5, 6});
  CliResult r = Run("eval " + model + " --inputs " + inputs);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.stderr_text.starts_with("kiln: error: " + inputs + ": input %x")) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("f32[2,3]"), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("f32[3,2]"), std::string::npos) << r.stderr_text;
}

TEST_F(CliErrorsTest, InputMissingFromInputsFile) {
  std::string model = WriteReluModel();
  std::string inputs = WriteInputs("other.safetensors", "z", {2, 3}, {1, 2, 3, 4, 5, 6});
  CliResult r = Run("eval " + model + " --inputs " + inputs);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text, "kiln: error: input 'x' (f32[2,3]) is missing from " + inputs +
                               " (it has: z)\n");
}

TEST_F(CliErrorsTest, CudaOnlyFlagsNeedACudaTarget) {
  CliResult r = Run("compile zoo:mlp -q --cuda-graphs -o " + Path("graphs_lib"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text,
            "kiln: error: CUDA graphs (--cuda-graphs) need a CUDA target, not cpu\n");
  r = Run("compile zoo:mlp -q --pdl -o " + Path("pdl_lib"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(
      r.stderr_text,
      "kiln: error: programmatic dependent launch (--pdl) needs the cuda-sm90 target (Hopper), "
      "not cpu\n");
  r = Run("compile zoo:mlp -q --pdl --target cuda-sm80 -o " + Path("pdl_lib"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_text.find("needs the cuda-sm90 target (Hopper), not cuda-sm80"),
            std::string::npos)
      << r.stderr_text;
}

TEST_F(CliErrorsTest, DtypeOnlyForZooModels) {
  std::string model = WriteReluModel();
  CliResult r = Run("eval " + model + " --dtype f16");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.stderr_text.starts_with("kiln: error: --dtype applies to zoo:NAME models only"))
      << r.stderr_text;
}

TEST_F(CliErrorsTest, UsageErrorsExitWithTwo) {
  CliResult no_model = Run("eval");
  EXPECT_EQ(no_model.exit_code, 2);
  EXPECT_NE(no_model.stderr_text.find("model is required"), std::string::npos)
      << no_model.stderr_text;

  CliResult unknown = Run("frobnicate");
  EXPECT_EQ(unknown.exit_code, 2);

  CliResult both = Run("eval zoo:resnet50 --random --inputs x.safetensors");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.stderr_text.find("excludes"), std::string::npos) << both.stderr_text;
}

// Not an error: eval on known inputs prints relu's statistics and saves exact values.
TEST_F(CliErrorsTest, EvalPrintsAndSavesOutputs) {
  std::string model = WriteReluModel();
  std::string inputs = WriteInputs("in.safetensors", "x", {2, 3}, {-1, 2, -3, 4, 0.5f, -0.5f});
  std::string saved = Path("out.safetensors");
  CliResult r = Run("eval " + model + " --inputs " + inputs + " --save " + saved);
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.stderr_text, "");
  StatusOr<TensorMap> out = LoadSafetensors(saved);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 1u);
  const std::string& output_name = out->begin()->first;
  const Tensor& y = out->begin()->second;
  EXPECT_NE(r.stdout_text.find("input %x  f32[2,3]  (from " + inputs + ")\n"), std::string::npos)
      << r.stdout_text;
  // relu -> [0, 2, 0, 4, 0.5, 0]: min 0, max 4, mean 6.5 / 6.
  EXPECT_NE(r.stdout_text.find("\n%" + output_name +
                               "  f32[2,3]  min=0 max=4 mean=1.08333  first=[0, 2, 0, 4, 0.5]\n"),
            std::string::npos)
      << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("time: "), std::string::npos) << r.stdout_text;
  EXPECT_EQ(y.TypeString(), "f32[2,3]");
  EXPECT_EQ(y.ToF32(), (std::vector<float>{0, 2, 0, 4, 0.5f, 0}));
}

// Random inputs: symbolic dims from --batch/--seq, token ids in [0, 1000), *mask* inputs all ones,
// floats in [-1, 1]; the same seed gives the same values and another seed other values.
TEST_F(CliErrorsTest, EvalRandomInputs) {
  Builder b("rand");
  Dim n = b.Sym("N", 1, 8);
  Dim s = b.Sym("S", 1, 512);
  Value* ids = b.Input("input_ids", DType::kI64, {n, s});
  Value* mask = b.Input("attention_mask", DType::kF32, {n, s});
  Value* x = b.Input("x", DType::kF32, {n, 4});
  b.Output(b.Cast(ids, DType::kF32));
  b.Output(b.Abs(mask));
  b.Output(b.Neg(x));
  StatusOr<Graph> g = b.Finish();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::string model = WriteFile("rand.kir", PrintGraph(*g));

  auto run = [&](const std::string& seed, const std::string& file) {
    CliResult r = Run("eval " + model + " --random --batch 2 --seq 300 --seed " + seed +
                      " --save " + Path(file));
    EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
    StatusOr<TensorMap> out = LoadSafetensors(Path(file));
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    std::vector<std::vector<double>> values;
    if (!out.ok()) return values;
    for (const Value* v : g->outputs()) values.push_back(out->at(v->name()).ToF64());
    return values;
  };
  auto a = run("7", "a.safetensors");
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(a[0].size(), 600u);
  ASSERT_EQ(a[2].size(), 8u);
  std::set<double> distinct_ids(a[0].begin(), a[0].end());
  EXPECT_GT(distinct_ids.size(), 200u);
  EXPECT_GE(*distinct_ids.begin(), 0.0);
  EXPECT_LT(*distinct_ids.rbegin(), 1000.0);
  for (double id : a[0]) EXPECT_EQ(id, std::floor(id));
  EXPECT_EQ(a[1], std::vector<double>(600, 1.0));
  for (double v : a[2]) EXPECT_LE(std::abs(v), 1.0);
  auto [lo, hi] = std::minmax_element(a[2].begin(), a[2].end());
  EXPECT_GT(*hi, *lo);

  EXPECT_EQ(run("7", "b.safetensors"), a);
  auto c = run("8", "c.safetensors");
  ASSERT_EQ(c.size(), 3u);
  EXPECT_NE(c[0], a[0]);
  EXPECT_NE(c[2], a[2]);
}

// A zoo model printed by `kiln opt` evaluates to the same numbers as the zoo model itself: the
// weights generated for a .kir file by name match the zoo's.
TEST_F(CliErrorsTest, PrintedZooModelEvaluatesLikeTheZooModel) {
  std::string kir = Path("tiny_cnn.kir");
  CliResult printed = Run("opt zoo:tiny_cnn --batch 1 -o " + kir);
  ASSERT_EQ(printed.exit_code, 0) << printed.stderr_text;
  CliResult zoo = Run("eval zoo:tiny_cnn --batch 1 --seed 3");
  CliResult text = Run("eval " + kir + " --seed 3");
  ASSERT_EQ(zoo.exit_code, 0) << zoo.stderr_text;
  ASSERT_EQ(text.exit_code, 0) << text.stderr_text;
  // Everything but the time line is identical.
  auto strip_time = [](const std::string& s) { return s.substr(0, s.find("time: ")); };
  EXPECT_EQ(strip_time(zoo.stdout_text), strip_time(text.stdout_text));
  EXPECT_NE(zoo.stdout_text.find("%logits  f32[1,10]  min="), std::string::npos)
      << zoo.stdout_text;
}

TEST_F(CliErrorsTest, InfoListsEveryOpAndZooModel) {
  CliResult r = Run("info");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  std::string count = std::to_string(kNumOpKinds);
  EXPECT_TRUE(r.stdout_text.starts_with("ops (" + count + " registered of " + count + "):\n"))
      << r.stdout_text.substr(0, 80);
  std::regex gemm_line("\n  gemm +out-ewise-fusable +\\S.*\n");
  EXPECT_TRUE(std::regex_search(r.stdout_text, gemm_line));
  EXPECT_NE(r.stdout_text.find("\n  resnet50 "), std::string::npos);
}

TEST_F(CliErrorsTest, InfoSummarisesAModel) {
  CliResult r = Run("info zoo:mlp");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  // fc1 784x128 + 128, fc2 128x10 + 10 = 101770 f32 parameters = 407080 bytes = 397.5 KiB.
  EXPECT_NE(r.stdout_text.find("symbols:\n  N in [1, 64]\n"), std::string::npos) << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("inputs:\n  %x: f32[N,784]\n"), std::string::npos) << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("  gemm               2\n"), std::string::npos) << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("weights: 4 tensors, 101770 parameters, 397.5 KiB\n"),
            std::string::npos)
      << r.stdout_text;
  // 2 x 64 rows x (784 x 128 + 128 x 10) multiply-adds = 13.0 M.
  EXPECT_NE(r.stdout_text.find("compute: 13 MFLOP per run (gemm 13 MFLOP, conv 0 FLOP, attention 0 "
                               "FLOP; 2 per multiply-add, symbols at their range maximum)\n"),
            std::string::npos)
      << r.stdout_text;
}

}  // namespace
}  // namespace kiln
