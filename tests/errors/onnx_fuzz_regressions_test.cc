// Regression tests for inputs found by the ONNX importer fuzzer (fuzz/onnx_import_fuzzer.cc,
// scripts/fuzz-onnx): every file in tests/errors/onnx_fuzz_regressions/ (other than README.md) is
// imported the way the fuzzer imports it. Each must end in a clean error (not an internal one,
// naming the file) or in a graph that passes the verifier; before its fix each crashed the
// importer. kExpected lists every file with a part of its expected error message ("" for a
// successful import), so a reproducer cannot be added without saying what it must give. The
// sanitizer build re-checks them too: scripts/fuzz-onnx seeds its corpus with them.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/onnx/onnx_importer.h"
#include "ir/verifier.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

// File -> part of the expected error ("" = imports and verifies).
const std::map<std::string, std::string> kExpected = {
    // Folding an Expand to 2^35 elements allocated 256 GiB; now the node is not folded and the
    // import stops at the (mutated) unsupported op after it.
    {"fold_huge_output.onnx", "unsupported op Fl`tten"},
    // Reshape to dims near 2^63 overflowed the element count in Dim arithmetic.
    {"reshape_dim_overflow_1.onnx", "shape has the invalid dim 9223372036854775807"},
    {"reshape_dim_overflow_2.onnx", "shape has the invalid dim 1125899906842623"},
    {"reshape_dim_overflow_3.onnx", "shape has the invalid dim 144115188075855871"},
    // A layer norm's expanded function with a mutated axis: ConstantOfShape of a computed length
    // folded to a Reshape shape of 1.1M values (2 GiB under ASan, out of memory; 1.6 GB, 13 s
    // without).
    {"reshape_shape_of_a_million_values.onnx", "has 1114116 values; kiln takes at most 1024 here"},
    // Mod of a u8 by an i32: the builder's dtype error left a null value that the next scalar
    // constant dereferenced.
    {"mod_mixed_dtypes.onnx", "div: operand 1 has dtype i32, expected u8"},
    // ScatterND on data with an empty indexed dim: the row strides divided by zero.
    {"scatter_nd_empty_dim.onnx", "data f32[0,4,4] (indexed dims must be non-empty, with at most 2^40 rows)"},
};

std::vector<fs::path> RegressionFiles() {
  std::vector<fs::path> files;
  fs::path dir = fs::path(KILN_SOURCE_DIR) / "tests/errors/onnx_fuzz_regressions";
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().filename() != "README.md") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(OnnxFuzzRegressions, EveryReproducerImportsOrFailsCleanly) {
  std::vector<fs::path> files = RegressionFiles();
  ASSERT_FALSE(files.empty()) << "no reproducers in tests/errors/onnx_fuzz_regressions";
  for (const fs::path& path : files) {
    SCOPED_TRACE(path.filename().string());
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in) << "cannot read " << path;
    std::ostringstream bytes;
    bytes << in.rdbuf();
    std::string name = path.filename().string();
    auto expected = kExpected.find(name);
    ASSERT_NE(expected, kExpected.end()) << "add " << name << " to kExpected";
    StatusOr<Graph> graph = ImportOnnxBytes(bytes.str(), "", name);
    if (expected->second.empty()) {
      ASSERT_TRUE(graph.ok()) << graph.status().ToString();
      Status verified = Verify(*graph);
      EXPECT_TRUE(verified.ok()) << verified.ToString();
      continue;
    }
    ASSERT_FALSE(graph.ok()) << "imported, expected an error containing '" << expected->second
                             << "'";
    EXPECT_NE(graph.status().code(), StatusCode::kInternal) << graph.status().ToString();
    EXPECT_NE(graph.status().message().find(name), std::string::npos) << graph.status().ToString();
    EXPECT_NE(graph.status().message().find(expected->second), std::string::npos)
        << graph.status().ToString();
  }
  EXPECT_EQ(files.size(), kExpected.size()) << "kExpected lists files that are missing";
}

}  // namespace
}  // namespace kiln
