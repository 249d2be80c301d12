// `kiln run DIR --inputs TESTDATA --expect TESTDATA` with ONNX test-data directories
// (input_N.pb / output_N.pb TensorProtos): each user-facing error (stderr text, exit code), the
// mismatch exit code, and end to end on ONNX backend node tests compiled for the cpu target
// (skipped when /usr/share/libonnx-testdata is not installed).
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "frontend/onnx/onnx_tensor.h"
#include "tests/errors/cli_test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

// z = x + y with x: f32[N,4], N in [1, 4], y: f32[4].
constexpr const char* kModel = R"(graph @add2(%x: f32[N,4], %y: f32[4]) -> (%z) where N in [1, 4] {
  %z = add(%x, %y) : f32[N,4]
}
)";

constexpr const char* kNodeTests = "/usr/share/libonnx-testdata/data/node";

class RunTestDataTest : public CliTest {
 protected:
  std::string Cache() {
    return " --cache-dir " + std::string(KILN_BINARY_DIR) + "/test-object-cache";
  }

  // Compiles kModel into a fresh directory (a few seconds with a warm object cache).
  std::string CompiledDir() {
    std::string model = WriteFile("add2.kir", kModel);
    std::string dir = Path("add2_lib");
    fs::remove_all(dir);
    CliResult r = Run("compile " + model + " -o " + dir + " -q" + Cache());
    EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
    return dir;
  }

  // An empty test-data directory named `name`.
  std::string DataDir(const std::string& name) {
    std::string dir = Path(name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
  }

  static void WritePb(const std::string& dir, const std::string& file, const Tensor& t,
                      const std::string& proto_name = "") {
    std::ofstream out(dir + "/" + file, std::ios::binary | std::ios::trunc);
    out << onnx_import::ToTensorProto(t, proto_name).SerializeAsString();
  }

  static Tensor X() {  // f32[2,4]: 0..7
    return Tensor::FromF32(DType::kF32, {2, 4}, std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7});
  }
  static Tensor Y() {
    return Tensor::FromF32(DType::kF32, {4}, std::vector<float>{10, 20, 30, 40});
  }
  static Tensor Z(float delta = 0) {  // X + Y, the last element off by `delta`
    return Tensor::FromF32(DType::kF32, {2, 4},
                           std::vector<float>{10, 21, 32, 43, 14, 25, 36, 47 + delta});
  }

  // A directory with input_0.pb = X, input_1.pb = Y and output_0.pb = Z(delta).
  std::string GoodData(const std::string& name, float delta = 0) {
    std::string dir = DataDir(name);
    WritePb(dir, "input_0.pb", X());
    WritePb(dir, "input_1.pb", Y());
    WritePb(dir, "output_0.pb", Z(delta));
    return dir;
  }
};

TEST_F(RunTestDataTest, MissingInputsDirectory) {
  std::string lib = CompiledDir();
  CliResult r = Run("run " + lib + " --inputs /nonexistent/test_data_set_0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text,
            "kiln: error: --inputs /nonexistent/test_data_set_0: no such file or directory "
            "(expected a .safetensors file or an ONNX test-data directory holding input_0.pb, "
            "input_1.pb, ...)\n");
  r = Run("run " + lib + " --expect /nonexistent/test_data_set_0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text,
            "kiln: error: --expect /nonexistent/test_data_set_0: no such file or directory "
            "(expected an ONNX test-data directory holding output_0.pb, ... or a .safetensors "
            "file)\n");
}

TEST_F(RunTestDataTest, MissingInputFile) {
  std::string lib = CompiledDir();
  std::string dir = DataDir("only_input_0");
  WritePb(dir, "input_0.pb", X());
  CliResult r = Run("run " + lib + " --inputs " + dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text, "kiln: error: " + dir +
                               "/input_1.pb not found: the model has 2 inputs (%x: f32[N,4], %y: "
                               "f32[4]), one input_N.pb per input (the directory has: "
                               "input_0.pb)\n");
}

TEST_F(RunTestDataTest, TooManyInputFiles) {
  std::string dir = GoodData("three_inputs");
  WritePb(dir, "input_2.pb", Y());
  CliResult r = Run("run " + CompiledDir() + " --inputs " + dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text, "kiln: error: " + dir +
                               " has input_2.pb but the model has 2 inputs (%x: f32[N,4], %y: "
                               "f32[4]) (the directory has: input_0.pb, input_1.pb, input_2.pb)\n");
}

TEST_F(RunTestDataTest, ShapeDtypeAndRangeMismatch) {
  std::string lib = CompiledDir();
  std::string dir = GoodData("bad_shape");
  WritePb(dir, "input_1.pb", Tensor::FromF32(DType::kF32, {5}, std::vector<float>(5, 1.f)));
  CliResult r = Run("run " + lib + " --inputs " + dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text,
            "kiln: error: " + dir +
                "/input_1.pb: model input %y expects f32[4], the file holds f32[5]\n");

  WritePb(dir, "input_1.pb", Tensor::FromF64(DType::kI64, {4}, std::vector<double>{1, 2, 3, 4}));
  r = Run("run " + lib + " --inputs " + dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text,
            "kiln: error: " + dir +
                "/input_1.pb: model input %y expects f32[4], the file holds i64[4]\n");

  // N = 9 is outside the declared range [1, 4].
  WritePb(dir, "input_0.pb", Tensor::FromF32(DType::kF32, {9, 4}, std::vector<float>(36, 0.f)));
  WritePb(dir, "input_1.pb", Y());
  r = Run("run " + lib + " --inputs " + dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text,
            "kiln: error: " + dir + ": dynamic dim N = 9 is outside its declared range [1, 4]\n");
}

TEST_F(RunTestDataTest, NotATensorProto) {
  std::string dir = GoodData("garbage");
  std::ofstream(dir + "/input_0.pb", std::ios::binary | std::ios::trunc) << "\xff\xff\xff";
  CliResult r = Run("run " + CompiledDir() + " --inputs " + dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text, "kiln: error: " + dir +
                               "/input_0.pb: not a serialized ONNX TensorProto (the protobuf does "
                               "not parse)\n");
}

TEST_F(RunTestDataTest, ExpectMatchesAndMismatchExitsWith1) {
  std::string lib = CompiledDir();
  std::string dir = GoodData("good");
  CliResult r = Run("run " + lib + " --inputs " + dir + " --expect " + dir);
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_NE(r.stdout_text.find("input %x  f32[2,4]  (from " + dir + ")"), std::string::npos)
      << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("expect %z: max abs err 0, max rel err 0 (tolerance 0.0001): ok"),
            std::string::npos)
      << r.stdout_text;

  // 47 -> 47.5: abs error 0.5, relative to max |reference| 47.5 about 0.0105.
  std::string off = GoodData("off_by_half", 0.5f);
  r = Run("run " + lib + " --inputs " + off + " --expect " + off);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stdout_text.find(
                "expect %z: max abs err 0.5, max rel err 0.0105 (tolerance 0.0001): MISMATCH"),
            std::string::npos)
      << r.stdout_text;
  EXPECT_EQ(r.stderr_text, "kiln: error: outputs differ from the expected outputs in " + off +
                               " beyond the tolerance\n");
  // Within a looser tolerance.
  r = Run("run " + lib + " --inputs " + off + " --expect " + off + " --tolerance 0.02");
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;

  // A wrongly shaped expected output is a mismatch, not a crash.
  WritePb(off, "output_0.pb", Y());
  r = Run("run " + lib + " --inputs " + off + " --expect " + off);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stdout_text.find("expect %z: expected f32[4], got f32[2,4]: MISMATCH"),
            std::string::npos)
      << r.stdout_text;

  // Missing output_0.pb.
  fs::remove(off + "/output_0.pb");
  r = Run("run " + lib + " --inputs " + off + " --expect " + off);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text,
            "kiln: error: " + off +
                "/output_0.pb not found: the model has 1 output (%z), one "
                "output_N.pb per output (the directory has: no output_N.pb files)\n");
}

TEST_F(RunTestDataTest, MatchesByTensorProtoNameAndExpectsSafetensors) {
  std::string lib = CompiledDir();
  // input_0.pb holds y and input_1.pb x, each named: matched by name, not position.
  std::string dir = DataDir("swapped");
  WritePb(dir, "input_0.pb", Y(), "y");
  WritePb(dir, "input_1.pb", X(), "x");
  std::string expect = WriteInputs("z.safetensors", "z", {2, 4}, Z().ToF32());
  CliResult r = Run("run " + lib + " --inputs " + dir + " --expect " + expect);
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("expect %z: max abs err 0"), std::string::npos) << r.stdout_text;

  std::string wrong = WriteInputs("w.safetensors", "w", {2, 4}, Z().ToF32());
  r = Run("run " + lib + " --inputs " + dir + " --expect " + wrong);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text, "kiln: error: output 'z' is missing from " + wrong + " (it has: w)\n");
}

// ONNX backend node tests compiled for the cpu target, run on their test_data_set_0.
TEST_F(RunTestDataTest, OnnxNodeTestsEndToEnd) {
  if (!fs::is_directory(kNodeTests)) GTEST_SKIP() << kNodeTests << " not installed";
  for (const char* test : {"test_relu", "test_add_bcast", "test_softmax_axis_1"}) {
    SCOPED_TRACE(test);
    std::string src = std::string(kNodeTests) + "/" + test;
    std::string lib = Path(std::string(test) + "_lib");
    fs::remove_all(lib);
    CliResult r = Run("compile " + src + "/model.onnx -o " + lib + " --target cpu -q" + Cache());
    ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
    std::string data = src + "/test_data_set_0";
    r = Run("run " + lib + " --inputs " + data + " --expect " + data);
    EXPECT_EQ(r.exit_code, 0) << r.stderr_text << r.stdout_text;
    EXPECT_NE(r.stdout_text.find("(tolerance 0.0001): ok"), std::string::npos) << r.stdout_text;
    EXPECT_EQ(r.stdout_text.find("MISMATCH"), std::string::npos) << r.stdout_text;
  }
}

// An ONNX node test whose shape input is bound on the command line (`--bind`): the library
// takes the data input only and reproduces the expected output.
TEST_F(RunTestDataTest, OnnxInputBoundOnTheCommandLine) {
  if (!fs::is_directory(kNodeTests)) GTEST_SKIP() << kNodeTests << " not installed";
  const std::string src = std::string(kNodeTests) + "/test_reshape_reordered_all_dims";
  const std::string lib = Path("bound_reshape_lib");
  fs::remove_all(lib);
  CliResult r = Run("compile " + src + "/model.onnx -o " + lib + " --target cpu -q" + Cache());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_text.find("kiln compile --bind NAME=V1,V2,..."), std::string::npos)
      << r.stderr_text;
  r = Run("compile " + src + "/model.onnx --bind shape=4,2,3 -o " + lib + " --target cpu -q" +
          Cache());
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  const std::string inputs = DataDir("bound_reshape_inputs");
  fs::copy_file(src + "/test_data_set_0/input_0.pb", inputs + "/input_0.pb");
  r = Run("run " + lib + " --inputs " + inputs + " --expect " + src + "/test_data_set_0");
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("(tolerance 0.0001): ok"), std::string::npos) << r.stdout_text;
  // The node test's own directory: input_1.pb (the bound %shape) is matched by name and ignored.
  r = Run("run " + lib + " --inputs " + src + "/test_data_set_0 --expect " + src +
          "/test_data_set_0");
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("(tolerance 0.0001): ok"), std::string::npos) << r.stdout_text;
  EXPECT_NE(r.stderr_text.find("kiln: note: ignoring " + src +
                               "/test_data_set_0/input_1.pb: it names "
                               "no input of the library (bound at compile time with --bind?)"),
            std::string::npos)
      << r.stderr_text;
}

}  // namespace
}  // namespace kiln
