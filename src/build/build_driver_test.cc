// The build driver against the real host compiler: few, tiny compiles (each costs ~0.3 s).
#include "build/build_driver.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace kiln {
namespace {
namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ToolchainTest, FindsTheHostCompilerAndItsVersion) {
  StatusOr<Toolchain> toolchain = FindHostCompiler();
  ASSERT_TRUE(toolchain.ok()) << toolchain.status().ToString();
  EXPECT_EQ(toolchain->compiler.front(), '/') << toolchain->compiler;
  EXPECT_FALSE(toolchain->version.empty());
  EXPECT_EQ(toolchain->version.find('\n'), std::string::npos);
  EXPECT_NE(std::find(toolchain->flags.begin(), toolchain->flags.end(), "-fPIC"),
            toolchain->flags.end());
}

TEST(BuildDriverTest, CompilesInParallelLinksCachesAndMissesOnNewFlags) {
  fs::path dir = fs::path(::testing::TempDir()) / ("kiln_build_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "src");
  std::ofstream(dir / "src/a.cc") << "int kiln_bd_a() { return 4; }\n";
  std::ofstream(dir / "src/b.cc") << "int kiln_bd_b() { return 5; }\n";
  std::ofstream(dir / "src/c.cc") << "#ifndef BONUS\n#define BONUS 0\n#endif\n"
                                     "int kiln_bd_a();\nint kiln_bd_b();\n"
                                     "extern \"C\" int kiln_bd_value() {\n"
                                     "  return kiln_bd_a() * 10 + kiln_bd_b() + BONUS;\n}\n";
  std::vector<CompileJob> jobs;
  for (const char* name : {"a", "b", "c"}) {
    jobs.push_back({(dir / "src" / (std::string(name) + ".cc")).string(),
                    (dir / "obj" / (std::string(name) + ".o")).string()});
  }
  StatusOr<Toolchain> toolchain = FindHostCompiler();
  ASSERT_TRUE(toolchain.ok()) << toolchain.status().ToString();
  ObjectCache cache(dir / "cache");
  std::vector<BuildEvent::Kind> events;
  int expected_total = 3;
  BuildOptions options;
  options.jobs = 3;
  options.cache = &cache;
  options.progress = [&](const BuildEvent& e) {
    events.push_back(e.kind);
    EXPECT_EQ(e.finished, static_cast<int>(events.size()));
    EXPECT_EQ(e.total, expected_total);
  };

  // First build: everything compiles; the library really works.
  StatusOr<BuildStats> stats = CompileAll(jobs, *toolchain, options);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->total, 3);
  EXPECT_EQ(stats->compiled, 3);
  EXPECT_EQ(stats->cached, 0);
  EXPECT_EQ(events, std::vector<BuildEvent::Kind>(3, BuildEvent::Kind::kCompiled));
  std::vector<std::string> objects, first_bytes;
  for (const CompileJob& job : jobs) {
    objects.push_back(job.object_path);
    first_bytes.push_back(ReadFile(job.object_path));
    EXPECT_FALSE(first_bytes.back().empty());
  }
  std::string so1 = (dir / "lib/libfirst.so").string();
  Status link = LinkShared(objects, so1, *toolchain);
  ASSERT_TRUE(link.ok()) << link.ToString();
  void* lib = dlopen(so1.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << dlerror();
  auto value = reinterpret_cast<int (*)()>(dlsym(lib, "kiln_bd_value"));
  ASSERT_NE(value, nullptr) << dlerror();
  EXPECT_EQ(value(), 45);
  dlclose(lib);

  // Second build after deleting the objects: all cache hits, byte-identical objects.
  for (const CompileJob& job : jobs) fs::remove(job.object_path);
  events.clear();
  stats = CompileAll(jobs, *toolchain, options);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->cached, 3);
  EXPECT_EQ(stats->compiled, 0);
  EXPECT_EQ(events, std::vector<BuildEvent::Kind>(3, BuildEvent::Kind::kCached));
  for (size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_EQ(ReadFile(jobs[i].object_path), first_bytes[i]) << jobs[i].object_path;
  }

  // A new flag misses the cache, and reaches the compiler (the value changes).
  Toolchain bonus = *toolchain;
  bonus.flags.push_back("-DBONUS=100");
  events.clear();
  expected_total = 1;
  stats = CompileAll({jobs[2]}, bonus, options);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->compiled, 1);
  EXPECT_EQ(stats->cached, 0);
  std::string so2 = (dir / "lib/libsecond.so").string();
  link = LinkShared(objects, so2, *toolchain);
  ASSERT_TRUE(link.ok()) << link.ToString();
  lib = dlopen(so2.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << dlerror();
  value = reinterpret_cast<int (*)()>(dlsym(lib, "kiln_bd_value"));
  ASSERT_NE(value, nullptr) << dlerror();
  EXPECT_EQ(value(), 145);
  dlclose(lib);

  // Nothing but the outputs in the object and library directories (no temp files).
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir / "obj")) files += e.is_regular_file();
  for (const auto& e : fs::directory_iterator(dir / "lib")) files += e.is_regular_file();
  EXPECT_EQ(files, 5);
  fs::remove_all(dir);
}

TEST(BuildDriverTest, RejectsTwoJobsWritingOneObject) {
  StatusOr<BuildStats> stats =
      CompileAll({{"a.cc", "x.o"}, {"b.cc", "x.o"}}, Toolchain{"/bin/false", {}, "v"});
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().message(), "two compile jobs write the same object 'x.o'");
}

}  // namespace
}  // namespace kiln
