// Every error the runtime reports when loading a module library, creating an instance or
// validating inputs, against the fixture modules (tests/runtime/fixture_module.cc).
#include <gtest/gtest.h>

#include <fstream>

#include "kiln/module.h"
#include "tests/runtime/runtime_test_util.h"

namespace kiln {
namespace {

using runtime_test::DefaultFixtureWeights;
using runtime_test::kFixtureModule;
using runtime_test::kFixtureModuleAbi999;
using runtime_test::kFixtureModuleOldCuda;
using runtime_test::kFixtureModuleResidual;
using runtime_test::RuntimeTempPath;

void ExpectError(const Status& status, StatusCode code, const std::string& what) {
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), code) << status.ToString();
  EXPECT_NE(status.message().find(what), std::string::npos)
      << "expected '" << what << "' in: " << status.message();
}

class RuntimeErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto module = Module::Load(kFixtureModule);
    ASSERT_TRUE(module.ok()) << module.status().ToString();
    auto instance = (*module)->CreateInstance(DefaultFixtureWeights());
    ASSERT_TRUE(instance.ok()) << instance.status().ToString();
    instance_ = std::move(instance).value();
  }

  Status Run(std::vector<Tensor> inputs) {
    std::vector<Tensor> outputs;
    return instance_->Run(inputs, &outputs);
  }

  std::unique_ptr<Instance> instance_;
};

TEST_F(RuntimeErrorsTest, MissingLibraryFile) {
  std::string path = RuntimeTempPath("no_such_model.so");
  ExpectError(Module::Load(path).status(), StatusCode::kNotFound,
              "cannot open module library " + path + ": No such file or directory");
}

TEST_F(RuntimeErrorsTest, NotASharedLibrary) {
  std::string path = RuntimeTempPath("not_a_library.so");
  std::ofstream(path) << "this is a text file, not an ELF shared library; "
                         "it is long enough for the loader to read a whole ELF header\n";
  auto status = Module::Load(path).status();
  ExpectError(status, StatusCode::kInvalidArgument, "cannot load module library " + path + ": ");
  // The loader's own words follow (glibc: "...: invalid ELF header").
  EXPECT_NE(status.message().find("invalid ELF header"), std::string::npos) << status.message();
}

TEST_F(RuntimeErrorsTest, SharedLibraryWithoutTheAbi) {
  // libm is a valid shared library on every glibc system but exports no kiln ABI.
  ExpectError(Module::Load("libm.so.6").status(), StatusCode::kInvalidArgument,
              "libm.so.6 is not a kiln module (missing kiln_module_abi_version)");
}

TEST_F(RuntimeErrorsTest, AbiVersionMismatch) {
  ExpectError(Module::Load(kFixtureModuleAbi999).status(), StatusCode::kInvalidArgument,
              "module " + kFixtureModuleAbi999 +
                  " was built for module ABI 999, this runtime "
                  "supports 1: recompile the model with this kiln");
}

TEST_F(RuntimeErrorsTest, MissingWeightsFile) {
  auto module = Module::Load(kFixtureModule);
  ASSERT_TRUE(module.ok());
  std::string path = RuntimeTempPath("no_such_weights.safetensors");
  ExpectError((*module)->CreateInstance(path).status(), StatusCode::kNotFound,
              "module " + kFixtureModule + ": creating an instance: " + path +
                  ": cannot open safetensors file: No such file or directory");
}

TEST_F(RuntimeErrorsTest, WeightsFileMissingATensor) {
  std::string path = RuntimeTempPath("only_w.safetensors");
  TensorMap tensors;
  tensors["w"] = Tensor(DType::kF32, {4});
  ASSERT_TRUE(SaveSafetensors(path, tensors).ok());
  auto module = Module::Load(kFixtureModule);
  ASSERT_TRUE(module.ok());
  ExpectError((*module)->CreateInstance(path).status(), StatusCode::kInvalidArgument,
              "weights file " + path + ": missing tensor \"b\" (expected f32[4])");
}

TEST_F(RuntimeErrorsTest, WeightsFileWrongTensorType) {
  std::string path = RuntimeTempPath("w_f16.safetensors");
  TensorMap tensors;
  tensors["w"] = Tensor(DType::kF16, {4});
  tensors["b"] = Tensor(DType::kF32, {4});
  ASSERT_TRUE(SaveSafetensors(path, tensors).ok());
  auto module = Module::Load(kFixtureModule);
  ASSERT_TRUE(module.ok());
  ExpectError((*module)->CreateInstance(path).status(), StatusCode::kInvalidArgument,
              "weights file " + path + ": tensor \"w\" is f16[4], expected f32[4]");
}

TEST_F(RuntimeErrorsTest, WrongInputDType) {
  ExpectError(Run({Tensor(DType::kF16, {2, 4})}), StatusCode::kInvalidArgument,
              "input x: expected dtype f32, got f16");
}

TEST_F(RuntimeErrorsTest, WrongInputRank) {
  ExpectError(Run({Tensor(DType::kF32, {4})}), StatusCode::kInvalidArgument,
              "input x: expected f32[N,4] (rank 2), got f32[4]");
}

TEST_F(RuntimeErrorsTest, WrongStaticDim) {
  ExpectError(Run({Tensor(DType::kF32, {2, 5})}), StatusCode::kInvalidArgument,
              "input x: dim 1 must be 4, got 5 (expected f32[N,4], got f32[2,5])");
}

TEST_F(RuntimeErrorsTest, DynamicDimAboveRange) {
  ExpectError(Run({Tensor(DType::kF32, {9, 4})}), StatusCode::kOutOfRange,
              "dynamic dim N = 9 (input x dim 0) is outside its declared range [1, 8]");
}

TEST_F(RuntimeErrorsTest, DynamicDimBelowRange) {
  ExpectError(Run({Tensor(DType::kF32, {0, 4})}), StatusCode::kOutOfRange,
              "dynamic dim N = 0 (input x dim 0) is outside its declared range [1, 8]");
}

TEST_F(RuntimeErrorsTest, InconsistentSymbolicDims) {
  auto module = Module::Load(kFixtureModuleResidual);
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  auto instance = (*module)->CreateInstance(DefaultFixtureWeights());
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();
  std::vector<Tensor> outputs;
  ExpectError(
      (*instance)->Run({Tensor(DType::kF32, {2, 4}), Tensor(DType::kF32, {3, 4})}, &outputs),
      StatusCode::kInvalidArgument,
      "input r dim 0 binds N = 3 but input x dim 0 bound N = 2 (got f32[3,4])");
}

TEST_F(RuntimeErrorsTest, WrongNumberOfInputs) {
  ExpectError(Run({Tensor(DType::kF32, {2, 4}), Tensor(DType::kF32, {2, 4})}),
              StatusCode::kInvalidArgument,
              "module " + kFixtureModule + " takes 1 input (x), got 2");
}

// The library's own range check, reached through the raw API: its error code and
// kiln_last_error() text come back as the Status.
TEST_F(RuntimeErrorsTest, LibraryRejectsDimsOutOfRange) {
  ExpectError(instance_->SetDims({9}), StatusCode::kOutOfRange,
              "module " + kFixtureModule +
                  ": setting the dynamic dims: dynamic dim N = 9 is "
                  "outside its declared range [1, 8]");
}

TEST_F(RuntimeErrorsTest, WrongNumberOfSymbolValues) {
  ExpectError(instance_->SetDims({2, 3}), StatusCode::kInvalidArgument,
              "module " + kFixtureModule + " has 1 dynamic dims, got 2 values");
}

TEST_F(RuntimeErrorsTest, OutputShapeBeforeSetDims) {
  ExpectError(instance_->OutputShape(0).status(), StatusCode::kInvalidArgument,
              "module " + kFixtureModule +
                  ": output shape of y: dynamic dims not set: call "
                  "kiln_instance_set_dims");
}

TEST_F(RuntimeErrorsTest, OutputIndexOutOfRange) {
  ExpectError(instance_->OutputShape(1).status(), StatusCode::kOutOfRange,
              "module " + kFixtureModule + " has 1 outputs, no output 1");
}

TEST_F(RuntimeErrorsTest, RunRawWithWrongPointerCounts) {
  const void* in[] = {nullptr, nullptr};
  void* out[] = {nullptr};
  ExpectError(instance_->RunRaw(in, out, nullptr), StatusCode::kInvalidArgument,
              "module " + kFixtureModule + " takes 1 inputs and 1 outputs, got 2 and 1");
}

TEST_F(RuntimeErrorsTest, RunRawBeforeSetDims) {
  const void* in[] = {nullptr};
  void* out[] = {nullptr};
  ExpectError(instance_->RunRaw(in, out, nullptr), StatusCode::kInvalidArgument,
              "module " + kFixtureModule +
                  ": run: dynamic dims not set: call "
                  "kiln_instance_set_dims");
}

// A CUDA library from a kiln before kiln_instance_run_host (the symbol is optional in ABI 1): it
// loads and its instances are created, but host-tensor runs are refused by name, not run on host
// pointers the library would take for device pointers.
TEST_F(RuntimeErrorsTest, HostRunOfACudaLibraryWithoutRunHost) {
  auto module = Module::Load(kFixtureModuleOldCuda);
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  EXPECT_EQ((*module)->target(), "cuda-sm90");
  auto instance = (*module)->CreateInstance(DefaultFixtureWeights());
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();
  std::vector<Tensor> outputs;
  ExpectError((*instance)->Run({Tensor(DType::kF32, {2, 4})}, &outputs),
              StatusCode::kUnimplemented,
              "module " + kFixtureModuleOldCuda +
                  " targets cuda-sm90 and lacks kiln_instance_run_host (it was built by an older "
                  "kiln), so it cannot run host tensors: recompile it with this kiln, or use "
                  "RunRaw with device pointers");
  EXPECT_TRUE(outputs.empty());
}

}  // namespace
}  // namespace kiln
