// The launch rules of kiln's CUDA kernel library (src/codegen/cuda/runtime_src), which
// programmatic dependent launch (`kiln compile --pdl`) relies on: every __global__ kernel starts
// with GridDependencyWait() (without it, a kernel launched early would read its predecessor's
// output before it is written, or overwrite a buffer the predecessor still reads), and kernels
// are launched through kiln_cuda::Launch, the one place that sets the launch attribute; the only
// `<<<` left is Launch's own plain launch.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace kiln {
namespace {

namespace fs = std::filesystem;

// `text` without // comments (the launch syntax appears in the doc comments).
std::string WithoutComments(const std::string& text) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const size_t c = line.find("//");
    out += (c == std::string::npos ? line : line.substr(0, c)) + "\n";
  }
  return out;
}

// The first statement of the body of the kernel declared at `at` (a `__global__`).
std::string FirstStatement(const std::string& code, size_t at) {
  int depth = 0;
  bool closed_params = false;
  for (size_t i = at; i < code.size(); ++i) {
    const char c = code[i];
    if (c == '(') ++depth;
    if (c == ')') closed_params = --depth == 0;
    if (c == ';' && depth == 0) return "";  // a declaration, no body
    if (c == '{' && depth == 0 && closed_params) {
      const size_t end = code.find(';', i);
      std::string s = code.substr(i + 1, end - i);
      s.erase(0, s.find_first_not_of(" \n"));
      return s;
    }
  }
  return "";
}

TEST(CudaLaunchRules, EveryKernelWaitsForItsPredecessorAndLaunchesThroughLaunch) {
  const fs::path dir = fs::path(KILN_SOURCE_DIR) / "src/codegen/cuda/runtime_src";
  int kernels = 0, plain_launches = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() != ".cuh" && e.path().extension() != ".cu") continue;
    std::ifstream f(e.path());
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string code = WithoutComments(ss.str());
    for (size_t at = code.find("__global__"); at != std::string::npos;
         at = code.find("__global__", at + 1)) {
      const std::string first = FirstStatement(code, at);
      if (first.empty()) continue;
      ++kernels;
      const size_t line = std::count(code.begin(), code.begin() + at, '\n') + 1;
      EXPECT_EQ(first, "GridDependencyWait();")
          << name << ":" << line << ": a kernel whose first statement is not GridDependencyWait()";
    }
    for (size_t at = code.find("<<<"); at != std::string::npos; at = code.find("<<<", at + 1)) {
      ++plain_launches;
      // clang-format splits `>>>` into `> > >`, which nvcc rejects (kiln_cuda.cuh turns it off).
      const size_t close = code.find(">>>", at);
      EXPECT_TRUE(close != std::string::npos && code.find(';', at) > close)
          << name << ": a <<< without its >>> (clang-format writes `> > >`)";
      EXPECT_EQ(name, "kiln_cuda.cuh")
          << name << ":" << std::count(code.begin(), code.begin() + at, '\n') + 1
          << ": a <<<>>> launch; use kiln_cuda::Launch";
    }
  }
  EXPECT_GE(kernels, 20);         // the library's kernels were found
  EXPECT_EQ(plain_launches, 1);   // Launch's own, without KILN_PDL
}

}  // namespace
}  // namespace kiln
