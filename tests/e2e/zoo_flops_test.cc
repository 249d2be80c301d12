// CountFlops (src/ops/flops.h) on the zoo models against their published sizes: ResNet-50 4.09
// G multiply-adds per 224x224 image (torchvision's "4.09 GFLOPS", which counts multiply-adds),
// ViT-B/16 17.56 G (torchvision's "17.56 GFLOPS"), BERT-base at 384 tokens 35.3 G (12 layers of
// 4 x 768^2 + 2 x 768 x 3072 weights per token, and 2 x 384^2 x 768 for the attention); FLOPs are
// twice those. Within 1%: the zoo models add their heads (classifier, pooler).
#include <gtest/gtest.h>

#include "models/zoo.h"
#include "ops/flops.h"

namespace kiln {
namespace {

double Gflops(const std::string& name, const ZooOptions& options) {
  StatusOr<Graph> g = BuildZooModel(name, options);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  if (!g.ok()) return 0;
  StatusOr<FlopCount> f = CountFlops(*g, MaxBindings(*g));
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return f.ok() ? f->total() / 1e9 : 0;
}

TEST(ZooFlopsTest, PublishedSizesOfResNetVitAndBert) {
  ZooOptions one;
  one.batch = 1;
  EXPECT_NEAR(Gflops("resnet50", one), 2 * 4.09, 0.01 * 2 * 4.09);
  EXPECT_NEAR(Gflops("vit", one), 2 * 17.56, 0.01 * 2 * 17.56);
  ZooOptions bert = one;
  bert.seq = 384;
  const double per_layer = 384.0 * (4 * 768 * 768 + 2 * 768 * 3072) + 2.0 * 384 * 384 * 768;
  EXPECT_NEAR(Gflops("bert", bert), 2 * 12 * per_layer / 1e9, 0.01 * 2 * 12 * per_layer / 1e9);
  // A symbolic batch counts at its maximum: 64 images.
  ZooOptions dynamic;
  EXPECT_NEAR(Gflops("resnet50", dynamic), 64 * Gflops("resnet50", one), 1e-6 * 64 * 8.18);
}

}  // namespace
}  // namespace kiln
