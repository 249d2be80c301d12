// Each user-facing error of the build driver (src/build): what the message names and contains.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "build/build_driver.h"
#include "tests/scoped_env.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class BuildErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("kiln_build_errors_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    StatusOr<Toolchain> toolchain = FindHostCompiler();
    ASSERT_TRUE(toolchain.ok()) << toolchain.status().ToString();
    host_ = *toolchain;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  std::string Path(const std::string& name) { return (dir_ / name).string(); }

  fs::path dir_;
  Toolchain host_;
};

TEST_F(BuildErrorsTest, CompilerNotFound) {
  {
    ScopedEnv cxx("CXX", "/nonexistent/kiln-cxx");
    StatusOr<Toolchain> toolchain = FindHostCompiler();
    ASSERT_FALSE(toolchain.ok());
    EXPECT_EQ(toolchain.status().code(), StatusCode::kNotFound);
    EXPECT_EQ(toolchain.status().message(),
              "host C++ compiler: compiler '/nonexistent/kiln-cxx' not found (no executable at "
              "that path) (from the CXX environment variable; set CXX to a working C++20 "
              "compiler such as g++ or clang++)");
  }
  {
    ScopedEnv nvcc("KILN_NVCC", "kiln-no-such-nvcc");
    StatusOr<Toolchain> toolchain = FindNvcc();
    ASSERT_FALSE(toolchain.ok());
    EXPECT_EQ(toolchain.status().code(), StatusCode::kNotFound);
    EXPECT_TRUE(Contains(toolchain.status().message(),
                         "nvcc: compiler 'kiln-no-such-nvcc' not found on PATH (from the "
                         "KILN_NVCC environment variable"))
        << toolchain.status().message();
  }
  // A toolchain whose compiler vanished after it was found: the error names file and program.
  std::string src = Write("k.cc", "int k() { return 1; }\n");
  StatusOr<BuildStats> stats =
      CompileAll({{src, Path("k.o")}}, Toolchain{"/nonexistent/kiln-cc", {}, "v"});
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(stats.status().message(), "compiling generated file '" + src +
                                          "': cannot run '/nonexistent/kiln-cc': No such file "
                                          "or directory");
}

TEST_F(BuildErrorsTest, SourceMissing) {
  StatusOr<BuildStats> stats = CompileAll({{Path("gone.cc"), Path("gone.o")}}, host_);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(stats.status().message(),
            "generated source file '" + Path("gone.cc") + "' does not exist");
  EXPECT_FALSE(fs::exists(Path("gone.o")));
}

TEST_F(BuildErrorsTest, CompileErrorNamesTheFileAndShowsCompilerOutput) {
  std::string bad = Write("kernel_7.cc", "int broken( { return 1; }\n");
  Write("kernel_7.o", "stale object from an earlier build");
  StatusOr<BuildStats> stats = CompileAll({{bad, Path("kernel_7.o")}}, host_);
  ASSERT_FALSE(stats.ok());
  const std::string& message = stats.status().message();
  EXPECT_EQ(stats.status().code(), StatusCode::kInternal);
  EXPECT_TRUE(Contains(message, "compiling generated file '" + bad + "' failed (exit code 1):\n"))
      << message;
  // The compiler's own diagnostic, with file and line, and the exact command line.
  EXPECT_TRUE(Contains(message, "kernel_7.cc:1:")) << message;
  EXPECT_TRUE(Contains(message, "error:")) << message;
  EXPECT_TRUE(Contains(message, "command: " + host_.compiler + " -std=c++20 -O2 -fPIC -c " + bad +
                                    " -o " + Path("kernel_7.o") + ".tmp."))
      << message;
  // The stale object and the partial output are gone: only the source remains.
  EXPECT_FALSE(fs::exists(Path("kernel_7.o")));
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST_F(BuildErrorsTest, CompilerOutputIsTrimmedToSixtyLines) {
  // A compiler that prints 100 lines and fails; /bin/sh stands in so no real compile is needed.
  std::string fake = Write("fake_cc.sh",
                           "#!/bin/sh\ni=0\nwhile [ $i -lt 100 ]; do echo \"line $i\"; "
                           "i=$((i+1)); done\nexit 2\n");
  fs::permissions(fake, fs::perms::owner_all);
  std::string src = Write("k.cc", "int k();\n");
  StatusOr<BuildStats> stats = CompileAll({{src, Path("k.o")}}, Toolchain{fake, {}, "v"});
  ASSERT_FALSE(stats.ok());
  const std::string& message = stats.status().message();
  EXPECT_TRUE(Contains(message, "failed (exit code 2):\nline 0\n")) << message;
  EXPECT_TRUE(Contains(message, "line 59\n... (40 more lines of compiler output)\ncommand: "))
      << message;
  EXPECT_FALSE(Contains(message, "line 60")) << message;
}

TEST_F(BuildErrorsTest, LinkError) {
  std::string missing = Path("missing.o");
  Status status = LinkShared({missing}, Path("lib.so"), host_);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(),
            "linking '" + Path("lib.so") + "': object file '" + missing + "' does not exist");

  // Two objects defining one symbol.
  std::string a = Write("dup_a.cc", "int kiln_dup() { return 1; }\n");
  std::string b = Write("dup_b.cc", "int kiln_dup() { return 2; }\n");
  StatusOr<BuildStats> stats =
      CompileAll({{a, Path("dup_a.o")}, {b, Path("dup_b.o")}}, host_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  status = LinkShared({Path("dup_a.o"), Path("dup_b.o")}, Path("lib.so"), host_);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_TRUE(Contains(status.message(),
                       "linking shared library '" + Path("lib.so") + "' failed (exit code 1):\n"))
      << status.message();
  EXPECT_TRUE(Contains(status.message(), "multiple definition of")) << status.message();
  EXPECT_TRUE(Contains(status.message(), "command: " + host_.compiler)) << status.message();
  EXPECT_FALSE(fs::exists(Path("lib.so")));
}

}  // namespace
}  // namespace kiln
