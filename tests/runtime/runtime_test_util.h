// Helpers shared by the runtime tests: fixture paths (tests/runtime/fixture_module.cc, built by
// tests/CMakeLists.txt) and weights files written into the test's temp dir.
#ifndef KILN_TESTS_RUNTIME_RUNTIME_TEST_UTIL_H_
#define KILN_TESTS_RUNTIME_RUNTIME_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/safetensors.h"
#include "support/tensor.h"

namespace kiln::runtime_test {

inline const std::string kFixtureModule = KILN_TEST_FIXTURE_MODULE;
inline const std::string kFixtureModuleAbi999 = KILN_TEST_FIXTURE_MODULE_ABI999;
inline const std::string kFixtureModuleResidual = KILN_TEST_FIXTURE_MODULE_RESIDUAL;
inline const std::string kFixtureModuleOldCuda = KILN_TEST_FIXTURE_MODULE_OLD_CUDA;

/// A path named `name` in a per-process temp dir.
inline std::string RuntimeTempPath(const std::string& name) {
  auto dir =
      std::filesystem::path(::testing::TempDir()) / ("kiln_runtime_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

/// Writes a fixture weights file with w = `w` and b = `b` (both f32[4]) and returns its path.
inline std::string WriteFixtureWeights(const std::string& name, std::vector<float> w,
                                       std::vector<float> b) {
  std::string path = RuntimeTempPath(name);
  TensorMap tensors;
  tensors["w"] = Tensor::FromF32(DType::kF32, {4}, w);
  tensors["b"] = Tensor::FromF32(DType::kF32, {4}, b);
  Status s = SaveSafetensors(path, tensors);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return path;
}

/// The weights most tests use: w = [1, 2, -1, 0.5], b = [0.5, -1, 2, 0].
inline std::string DefaultFixtureWeights() {
  return WriteFixtureWeights("default.safetensors", {1, 2, -1, 0.5}, {0.5, -1, 2, 0});
}

}  // namespace kiln::runtime_test

#endif  // KILN_TESTS_RUNTIME_RUNTIME_TEST_UTIL_H_
