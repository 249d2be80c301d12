// A gtest fixture that runs the built `kiln` binary as a subprocess and captures its exit code,
// stdout and stderr, with helpers that write small models and input files (tests/errors).
#ifndef KILN_TESTS_ERRORS_CLI_TEST_UTIL_H_
#define KILN_TESTS_ERRORS_CLI_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ir/builder.h"
#include "ir/printer.h"
#include "support/safetensors.h"

namespace kiln {

struct CliResult {
  int exit_code = -1;
  std::string stdout_text;
  std::string stderr_text;
};

class CliTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) {
    auto dir = std::filesystem::path(::testing::TempDir()) /
               ("kiln_cli_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    return (dir / name).string();
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = Path(name);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    return path;
  }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // Runs `kiln ARGS` with stdout sent to a file and stderr read through the pipe.
  CliResult Run(const std::string& args) {
    std::string out_path = Path("stdout.txt");
    std::string cmd = std::string(KILN_BINARY_DIR) + "/kiln " + args + " 2>&1 >" + out_path;
    FILE* pipe = popen(cmd.c_str(), "r");
    EXPECT_NE(pipe, nullptr) << cmd;
    CliResult r;
    if (pipe == nullptr) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) r.stderr_text.append(buf, n);
    int status = pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.stdout_text = Slurp(out_path);
    return r;
  }

  // A relu over x: f32[2,3], written as text IR by the printer.
  std::string WriteReluModel() {
    Builder b("relu");
    Value* x = b.Input("x", DType::kF32, {2, 3});
    b.Output(b.Relu(x));
    StatusOr<Graph> g = b.Finish();
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return WriteFile("relu.kir", g.ok() ? PrintGraph(*g) : "");
  }

  std::string WriteInputs(const std::string& name, const std::string& key,
                          std::vector<int64_t> shape, const std::vector<float>& values) {
    std::string path = Path(name);
    TensorMap m;
    m[key] = Tensor::FromF32(DType::kF32, std::move(shape), values);
    Status s = SaveSafetensors(path, m);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return path;
  }
};

}  // namespace kiln

#endif  // KILN_TESTS_ERRORS_CLI_TEST_UTIL_H_
