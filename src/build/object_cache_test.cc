#include "build/object_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

namespace kiln {
namespace {
namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

fs::path FreshDir(const std::string& name) {
  fs::path dir = fs::path(::testing::TempDir()) / (name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(ObjectCacheTest, KeyDependsOnEveryInput) {
  Toolchain base{"/usr/bin/c++", {"-O2", "-fPIC"}, "c++ 12.2"};
  std::string key = ObjectCache::Key("int f();", base);
  EXPECT_EQ(key.size(), 64u);
  EXPECT_EQ(key, ObjectCache::Key("int f();", base));
  EXPECT_NE(key, ObjectCache::Key("int g();", base));
  EXPECT_NE(key, ObjectCache::Key("int f();", base, "headers-v2"));
  Toolchain other = base;
  other.compiler = "/usr/bin/clang++";
  EXPECT_NE(key, ObjectCache::Key("int f();", other));
  other = base;
  other.version = "c++ 13.1";
  EXPECT_NE(key, ObjectCache::Key("int f();", other));
  other = base;
  other.flags = {"-O2 -fPIC"};  // same characters, different argv: must not collide
  EXPECT_NE(key, ObjectCache::Key("int f();", other));
  other.flags = {"-fPIC", "-O2"};
  EXPECT_NE(key, ObjectCache::Key("int f();", other));
}

TEST(ObjectCacheTest, StoreThenFetchRoundTrips) {
  fs::path dir = FreshDir("kiln_cache_roundtrip");
  ObjectCache cache(dir / "cache");
  WriteFile(dir / "a.o", "object bytes");
  std::string key = ObjectCache::Key("src", Toolchain{"cc", {}, "v"});
  StatusOr<bool> miss = cache.Fetch(key, dir / "out.o");
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(*miss);
  EXPECT_FALSE(fs::exists(dir / "out.o"));
  ASSERT_TRUE(cache.Store(key, dir / "a.o").ok());
  EXPECT_EQ(cache.EntryPath(key), dir / "cache" / key.substr(0, 2) / (key + ".o"));
  StatusOr<bool> hit = cache.Fetch(key, dir / "out.o");
  ASSERT_TRUE(hit.ok());
  EXPECT_TRUE(*hit);
  EXPECT_EQ(ReadFile(dir / "out.o"), "object bytes");
}

TEST(ObjectCacheTest, ConcurrentWritersLeaveAValidEntry) {
  fs::path dir = FreshDir("kiln_cache_concurrent");
  ObjectCache cache(dir / "cache");
  // 1 MB so that a non-atomic copy would be observably partial to the reader below.
  std::string content(1 << 20, 'x');
  for (size_t i = 0; i < content.size(); i += 4096) content[i] = static_cast<char>('a' + i % 26);
  WriteFile(dir / "a.o", content);
  WriteFile(dir / "b.o", content);
  std::string key = "ab" + std::string(62, '0');
  std::atomic<bool> done{false};
  int partial_reads = 0, reads = 0;
  std::thread reader([&] {
    while (!done.load()) {
      if (!fs::exists(cache.EntryPath(key))) continue;
      ++reads;
      if (ReadFile(cache.EntryPath(key)) != content) ++partial_reads;
    }
  });
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (const char* source : {"a.o", "b.o"}) {
    writers.emplace_back([&, source] {
      for (int i = 0; i < 20; ++i) {
        if (!cache.Store(key, dir / source).ok()) ++failures;
      }
    });
  }
  for (std::thread& w : writers) w.join();
  done.store(true);
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(partial_reads, 0) << "of " << reads << " reads";
  EXPECT_EQ(ReadFile(cache.EntryPath(key)), content);
  // No temp files left behind next to the entry.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(cache.EntryPath(key).parent_path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(ObjectCacheTest, DefaultDirHonoursKilnCacheDirThenHome) {
  std::string saved_cache = getenv("KILN_CACHE_DIR") ? getenv("KILN_CACHE_DIR") : "";
  std::string saved_home = getenv("HOME") ? getenv("HOME") : "";
  setenv("KILN_CACHE_DIR", "/somewhere/objs", 1);
  StatusOr<fs::path> dir = ObjectCache::DefaultDir();
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(*dir, fs::path("/somewhere/objs"));
  unsetenv("KILN_CACHE_DIR");
  setenv("HOME", "/home/someone", 1);
  dir = ObjectCache::DefaultDir();
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(*dir, fs::path("/home/someone/.cache/kiln/objects"));
  unsetenv("HOME");
  dir = ObjectCache::DefaultDir();
  EXPECT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("KILN_CACHE_DIR"), std::string::npos);
  if (!saved_cache.empty()) setenv("KILN_CACHE_DIR", saved_cache.c_str(), 1);
  if (!saved_home.empty()) setenv("HOME", saved_home.c_str(), 1);
}

}  // namespace
}  // namespace kiln
