#include "codegen/tune_points.h"

#include <gtest/gtest.h>

#include "codegen/tune_task.h"
#include "ir/parser.h"

namespace kiln::codegen {
namespace {

Graph WithSymbols() {
  StatusOr<Graph> g = ParseGraph(R"(graph @g(%x: f32[N,S]) -> (%x) where N in [1, 64], S in [16, 512] {
})", "<test>");
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return std::move(*g);
}

std::vector<std::pair<int64_t, int64_t>> Pairs(const std::vector<BucketPoint>& points) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const BucketPoint& p : points) out.emplace_back(p.value, p.up_to);
  return out;
}

TEST(BucketPointsTest, LargestEveryFourthBelowAndSmallest) {
  const Graph g = WithSymbols();
  const Dim n = Dim::Symbol("N"), s = Dim::Symbol("S");
  // N * S in [16, 32768]: 32768 and three quarters below it, then 16.
  EXPECT_EQ(Pairs(BucketPoints(g, n * s, 8)),
            (std::vector<std::pair<int64_t, int64_t>>{{16, 90}, {512, 1024}, {2048, 4096}, {8192, 16384}, {32768, -1}}));
  // N * 384 in [384, 24576]: the smallest is also a quarter step.
  EXPECT_EQ(Pairs(BucketPoints(g, n * Dim(384), 8)),
            (std::vector<std::pair<int64_t, int64_t>>{{384, 768}, {1536, 3072}, {6144, 12288}, {24576, -1}}));
  // Rounded to the multiple, duplicates dropped; a static size is one point.
  EXPECT_EQ(Pairs(BucketPoints(g, n, 8)), (std::vector<std::pair<int64_t, int64_t>>{{8, 11}, {16, 32}, {64, -1}}));
  EXPECT_EQ(Pairs(BucketPoints(g, Dim(100), 1)), (std::vector<std::pair<int64_t, int64_t>>{{100, -1}}));
  // No range: an undeclared symbol, a size that decreases.
  EXPECT_TRUE(BucketPoints(g, Dim::Symbol("T"), 1).empty());
  EXPECT_TRUE(BucketPoints(g, Dim(600) - s, 1).empty());
}

TEST(RowsDispatchTest, FormatsAndParses) {
  const RowsDispatch d = {{768, "a"}, {3072, "b"}, {-1, "c"}};
  EXPECT_EQ(FormatRowsDispatch(d), "rows<=768:a;rows<=3072:b;c");
  EXPECT_EQ(ParseRowsDispatch("rows<=768:a;rows<=3072:b;c"), d);
  EXPECT_EQ(FormatRowsDispatch({{-1, "c"}}), "c");
  EXPECT_FALSE(ParseRowsDispatch("c").has_value()) << "a plain config";
  EXPECT_FALSE(ParseRowsDispatch("rows<=768:a").has_value()) << "no default";
  EXPECT_FALSE(ParseRowsDispatch("rows<=768:a;c;d").has_value()) << "entries after the default";
  EXPECT_FALSE(ParseRowsDispatch("rows<=768:a;rows<=700:b;c").has_value()) << "bounds not ascending";
  EXPECT_FALSE(ParseRowsDispatch("rows<=7x8:a;c").has_value());
  EXPECT_FALSE(ParseRowsDispatch("rows<=768:;c").has_value());
}

}  // namespace
}  // namespace kiln::codegen
