#include "tuning/tuner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "ir/parser.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

// Two "tunable" relu nodes with different shapes of one signature and one that is not tunable.
constexpr const char* kGraph = R"(graph @g(%x: f32[4,8], %y: f32[2,8]) -> (%a, %b, %c) {
  %a = relu(%x) : f32[4,8]
  %b = relu(%y) : f32[2,8]
  %c = neg(%y) : f32[2,8]
})";

std::optional<TuneTask> FakeTask(const Graph&, const Node& n) {
  if (n.op() != OpKind::kRelu) return std::nullopt;
  TuneTask t;
  t.signature = "relu f32";
  const std::string shape = "M=" + std::to_string(n.output()->shape()[0].value());
  t.points = {{shape, shape, -1}};
  t.candidates = {"fast", "slow"};
  t.profile_graph = "graph @p(%x: f32[M]) -> (%y) where M in [1, 8] {\n  %y = relu(%x) : f32[M]\n}\n";
  t.profile_node = "y";
  return t;
}

class TunerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kiln_tuner_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    options_.cache_path = (dir_ / "t.sqlite").string();
    options_.device = TuningDevice{"Test GPU", "9.0", "", ""};  // the GPU part of the key
    options_.cuda_version = "13.0";
    options_.cutlass_version = "4.2.0";
    options_.kiln_root = KILN_SOURCE_DIR;
    options_.work_dir = (dir_ / "work").string();
    options_.object_cache_dir = (dir_ / "objects").string();
    StatusOr<Graph> g = ParseGraph(kGraph, "<test>");
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    graph_ = std::make_unique<Graph>(std::move(*g));
  }
  void TearDown() override { fs::remove_all(dir_); }

  const Node* NodeNamed(const std::string& name) const {
    for (const auto& n : graph_->nodes()) {
      if (n->output()->name() == name) return n.get();
    }
    return nullptr;
  }

  fs::path dir_;
  TuneOptions options_;
  std::unique_ptr<Graph> graph_;
  // Counts builds; never succeeds (these tests have no GPU to profile on).
  std::atomic<int> builds_{0};  // the tuner builds from several threads
  TuneBuildFn build_ = [this](const std::string&, const std::string&, const std::string&,
                              const std::string&) -> StatusOr<std::string> {
    ++builds_;
    return InternalError("no build in this test");
  };
};

TEST_F(TunerTest, OffLeavesEveryChoiceToTheHeuristic) {
  options_.mode = TuneMode::kOff;
  TuneReport report;
  StatusOr<std::map<const Node*, std::string>> configs =
      TuneGraph(*graph_, FakeTask, build_, options_, &report);
  ASSERT_TRUE(configs.ok()) << configs.status().ToString();
  EXPECT_TRUE(configs->empty());
  EXPECT_EQ(report.tunable, 2);
  EXPECT_EQ(report.heuristic, 2);
  EXPECT_EQ(builds_.load(), 0);
  EXPECT_FALSE(fs::exists(options_.cache_path));  // not even opened
}

TEST_F(TunerTest, CachedWinnersAreUsedWithoutBuilding) {
  {
    StatusOr<TuningCache> cache = TuningCache::Open(options_.cache_path);
    ASSERT_TRUE(cache.ok());
    const TuningDevice device{"Test GPU", "9.0", "13.0", "4.2.0"};
    ASSERT_TRUE(cache->Store({device, "relu f32", "M=4"}, {"slow", 1.0}).ok());
    // A winner that is no longer a candidate (an older kiln's config) is ignored.
    ASSERT_TRUE(cache->Store({device, "relu f32", "M=2"}, {"retired", 0.5}).ok());
  }
  options_.mode = TuneMode::kCacheOnly;
  TuneReport report;
  StatusOr<std::map<const Node*, std::string>> configs =
      TuneGraph(*graph_, FakeTask, build_, options_, &report);
  ASSERT_TRUE(configs.ok()) << configs.status().ToString();
  ASSERT_EQ(configs->size(), 1u);
  EXPECT_EQ(configs->at(NodeNamed("a")), "slow");
  EXPECT_EQ(report.cached, 1);
  EXPECT_EQ(report.heuristic, 1);
  EXPECT_EQ(builds_.load(), 0);
}

TEST_F(TunerTest, CandidatesThatFailToBuildAreSkipped) {
  // kAuto with a cache miss builds every candidate of the signature once (not per shape); none
  // builds here, so nothing is profiled or stored and the heuristic decides.
  options_.mode = TuneMode::kAuto;
  std::vector<std::string> log;
  options_.log = [&](std::string_view line) { log.emplace_back(line); };
  TuneReport report;
  StatusOr<std::map<const Node*, std::string>> configs =
      TuneGraph(*graph_, FakeTask, build_, options_, &report);
  ASSERT_TRUE(configs.ok()) << configs.status().ToString();
  EXPECT_TRUE(configs->empty());
  EXPECT_EQ(builds_.load(), 2);
  EXPECT_EQ(report.candidates_built, 0);
  EXPECT_EQ(report.heuristic, 2);
  StatusOr<TuningCache> cache = TuningCache::Open(options_.cache_path);
  ASSERT_TRUE(cache.ok());
  EXPECT_EQ(*cache->Size(), 0);
  bool said = false;
  bool all_built = false;  // the progress line after the last build
  for (const std::string& line : log) {
    said |= line.find("candidate fast does not build") != std::string::npos;
    all_built |= line == "tuning: built 2 / 2";
  }
  EXPECT_TRUE(said);
  EXPECT_TRUE(all_built);
}

TEST_F(TunerTest, SymbolicRowsComposeARowsDispatchFromTheirPoints) {
  // A node with three points (a dynamic row count): tuned when every point has a winner; the
  // choice is a rows dispatch, neighbouring points with the same winner merged.
  auto three_points = [](const Graph&, const Node& n) -> std::optional<TuneTask> {
    if (n.op() != OpKind::kRelu) return std::nullopt;
    TuneTask t;
    t.signature = "relu f32 dynamic";
    t.points = {{"M=1", "M=1", 2}, {"M=4", "M=4", 5}, {"M=8", "M=8", -1}};
    t.candidates = {"fast", "slow"};
    t.profile_graph = "graph @p(%x: f32[M]) -> (%y) where M in [1, 8] {\n  %y = relu(%x) : f32[M]\n}\n";
    t.profile_node = "y";
    return t;
  };
  const TuningDevice device{"Test GPU", "9.0", "13.0", "4.2.0"};
  // kAuto profiles static shapes only: nothing is built for the dynamic nodes, and the log says
  // how to have them profiled.
  options_.mode = TuneMode::kAuto;
  std::vector<std::string> log;
  options_.log = [&](std::string_view line) { log.emplace_back(line); };
  TuneReport report;
  ASSERT_TRUE(TuneGraph(*graph_, three_points, build_, options_, &report).ok());
  EXPECT_EQ(builds_.load(), 0);
  EXPECT_EQ(report.heuristic, 2);
  ASSERT_FALSE(log.empty());
  EXPECT_NE(log.back().find("--tune full"), std::string::npos) << log.back();
  // kFull builds the candidates (which fail here: no GPU).
  options_.mode = TuneMode::kFull;
  ASSERT_TRUE(TuneGraph(*graph_, three_points, build_, options_, &report).ok());
  EXPECT_EQ(builds_.load(), 2);
  builds_ = 0;
  options_.mode = TuneMode::kCacheOnly;
  {
    StatusOr<TuningCache> cache = TuningCache::Open(options_.cache_path);
    ASSERT_TRUE(cache.ok());
    ASSERT_TRUE(cache->Store({device, "relu f32 dynamic", "M=1"}, {"slow", 1.0}).ok());
    ASSERT_TRUE(cache->Store({device, "relu f32 dynamic", "M=4"}, {"fast", 1.0}).ok());
  }
  StatusOr<std::map<const Node*, std::string>> partial =
      TuneGraph(*graph_, three_points, build_, options_, &report);
  ASSERT_TRUE(partial.ok()) << partial.status().ToString();
  EXPECT_TRUE(partial->empty()) << "a point without a winner leaves the node to the heuristic";
  EXPECT_EQ(report.heuristic, 2);
  {
    StatusOr<TuningCache> cache = TuningCache::Open(options_.cache_path);
    ASSERT_TRUE(cache.ok());
    ASSERT_TRUE(cache->Store({device, "relu f32 dynamic", "M=8"}, {"fast", 1.0}).ok());
  }
  StatusOr<std::map<const Node*, std::string>> configs =
      TuneGraph(*graph_, three_points, build_, options_, &report);
  ASSERT_TRUE(configs.ok()) << configs.status().ToString();
  ASSERT_EQ(configs->size(), 2u);
  EXPECT_EQ(configs->at(NodeNamed("a")), "rows<=2:slow;fast");
  EXPECT_EQ(report.cached, 2);
  EXPECT_EQ(builds_.load(), 0);
}

}  // namespace
}  // namespace kiln
