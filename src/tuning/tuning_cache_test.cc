#include "tuning/tuning_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace kiln {
namespace {

namespace fs = std::filesystem;

fs::path FreshDir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("kiln_tuning_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  return dir;
}

TuningKey Key(const std::string& shape) {
  return {.device = {"NVIDIA H100 80GB HBM3", "9.0", "13.0", "4.2.0"},
          .op_signature = "gemm f16*f16->f16 tn",
          .shape = shape};
}

TEST(TuningCacheTest, StoresLooksUpAndPersistsAcrossOpens) {
  fs::path dir = FreshDir("persist");
  const std::string path = (dir / "sub" / "tuning.sqlite").string();
  {
    StatusOr<TuningCache> cache = TuningCache::Open(path);  // creates the parent directories
    ASSERT_TRUE(cache.ok()) << cache.status().ToString();
    StatusOr<std::optional<TuningRecord>> miss = cache->Lookup(Key("M=8,N=8,K=8,L=1"));
    ASSERT_TRUE(miss.ok());
    EXPECT_FALSE(miss->has_value());
    ASSERT_TRUE(cache->Store(Key("M=8,N=8,K=8,L=1"), {"sm90_coop_128x128x64_c1x1", 12.5}).ok());
    ASSERT_TRUE(cache->Store(Key("M=16,N=8,K=8,L=1"), {"sm90_pp_64x128x64_c1x1", 3.0}).ok());
    // Replacing keeps one record per key.
    ASSERT_TRUE(cache->Store(Key("M=8,N=8,K=8,L=1"), {"sm90_coop_128x256x64_c2x1", 10.0}).ok());
    EXPECT_EQ(*cache->Size(), 2);
  }
  StatusOr<TuningCache> reopened = TuningCache::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  StatusOr<std::optional<TuningRecord>> hit = reopened->Lookup(Key("M=8,N=8,K=8,L=1"));
  ASSERT_TRUE(hit.ok() && hit->has_value());
  EXPECT_EQ((*hit)->config, "sm90_coop_128x256x64_c2x1");
  EXPECT_DOUBLE_EQ((*hit)->time_us, 10.0);
  // Every key part matters: another GPU, toolchain or signature misses.
  for (int part = 0; part < 6; ++part) {
    TuningKey k = Key("M=8,N=8,K=8,L=1");
    std::string* fields[] = {&k.device.gpu_name, &k.device.compute_capability,
                             &k.device.cuda_version, &k.device.cutlass_version, &k.op_signature,
                             &k.shape};
    *fields[part] += "x";
    StatusOr<std::optional<TuningRecord>> other = reopened->Lookup(k);
    ASSERT_TRUE(other.ok());
    EXPECT_FALSE(other->has_value()) << "key part " << part;
  }
  fs::remove_all(dir);
}

TEST(TuningCacheTest, RefusesFilesThatAreNotKilnTuningDatabases) {
  fs::path dir = FreshDir("bad");
  fs::create_directories(dir);
  const std::string text = (dir / "notes.txt").string();
  std::ofstream(text) << "this is not a database, but long enough to have a header........\n";
  StatusOr<TuningCache> cache = TuningCache::Open(text);
  ASSERT_FALSE(cache.ok());
  EXPECT_NE(cache.status().message().find(text), std::string::npos) << cache.status().ToString();
  EXPECT_NE(cache.status().message().find("not a kiln tuning database"), std::string::npos)
      << cache.status().ToString();
  fs::remove_all(dir);
}

TEST(TuningCacheTest, DefaultPathHonoursTheEnvironment) {
  setenv("KILN_TUNING_CACHE", "/tmp/x/t.sqlite", 1);
  EXPECT_EQ(TuningCache::DefaultPath(), "/tmp/x/t.sqlite");
  unsetenv("KILN_TUNING_CACHE");
  setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  EXPECT_EQ(TuningCache::DefaultPath(), "/tmp/xdg/kiln/tuning.sqlite");
  unsetenv("XDG_CACHE_HOME");
}

}  // namespace
}  // namespace kiln
