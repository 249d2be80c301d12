// The zoo models run through the reference interpreter. Tiny configurations (same architecture
// and weight names, small sizes) are checked against literals computed by an independent NumPy
// float64 implementation (bench/zoo_check/tiny_reference.py, which also re-implements the weight
// generator); the full-size models run once each at batch 1. The comparison with PyTorch itself
// is bench/zoo_check/export_and_compare.py (GPU machine).
#include "models/zoo.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "ops/interpreter.h"
#include "support/safetensors.h"

namespace kiln {
namespace {

// x[i] = sin(0.37 i), rounded to `dtype` (the NumPy reference's image_input).
Tensor SinInput(DType dtype, std::vector<int64_t> shape) {
  Tensor t(dtype, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.SetF64(i, std::sin(0.37 * static_cast<double>(i)));
  return t;
}

Tensor I64(std::vector<int64_t> shape, const std::vector<double>& v) {
  return Tensor::FromF64(DType::kI64, std::move(shape), v);
}

std::vector<Tensor> RunGraph(const Graph& g, const std::vector<Tensor>& inputs) {
  auto out = Interpret(g, inputs);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? std::move(out).value() : std::vector<Tensor>{};
}

Graph Build(const std::string& name, const ZooOptions& o) {
  auto g = BuildZooModel(name, o);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? std::move(g).value() : Graph();
}

// Every element of `got` (flat, from `offset` with `stride`) matches `want` within 1e-4 of the
// largest |want|: the same max-relative-error bar the PyTorch comparison uses.
void ExpectClose(const std::vector<float>& got, const std::vector<double>& want, int64_t offset = 0,
                 int64_t stride = 1) {
  double scale = 0;
  for (double w : want) scale = std::max(scale, std::fabs(w));
  for (size_t i = 0; i < want.size(); ++i) {
    size_t j = offset + i * stride;
    ASSERT_LT(j, got.size());
    EXPECT_NEAR(got[j], want[i], 1e-4 * scale) << "element " << j;
  }
}

void ExpectAllFinite(const Tensor& t) {
  for (float v : t.ToF32()) ASSERT_TRUE(std::isfinite(v)) << t.TypeString();
}

ZooOptions TinyTransformer() {
  ZooOptions o;
  o.num_layers = 2;
  o.hidden_size = 32;
  o.num_heads = 4;
  o.intermediate_size = 64;
  return o;
}

TEST(ZooRunTest, MlpByHand) {
  // hidden 2, 2 classes; fc1 row 0 reads x[0] + 2 x[1], row 1 reads -x[783].
  ZooOptions o;
  o.hidden_size = 2;
  o.num_classes = 2;
  TensorMap w;
  std::vector<double> fc1(2 * 784, 0.0);
  fc1[0] = 1;
  fc1[1] = 2;
  fc1[784 + 783] = -1;
  w["fc1.weight"] = Tensor::FromF64(DType::kF32, {2, 784}, fc1);
  w["fc1.bias"] = Tensor::FromF64(DType::kF32, {2}, std::vector<double>{0.5, 0.25});
  w["fc2.weight"] = Tensor::FromF64(DType::kF32, {2, 2}, std::vector<double>{1, -1, 2, 3});
  w["fc2.bias"] = Tensor::FromF64(DType::kF32, {2}, std::vector<double>{0, 1});
  o.weights_path = (std::filesystem::path(::testing::TempDir()) /
                    ("kiln_zoo_mlp_" + std::to_string(getpid()) + ".safetensors"))
                       .string();
  ASSERT_TRUE(SaveSafetensors(o.weights_path, w).ok());
  Graph g = Build("mlp", o);

  Tensor x(DType::kF32, {3, 784});
  x.SetF64(0, 1);  // row 0: h = relu([1 + 2 + 0.5, -2 + 0.25]) = [3.5, 0]
  x.SetF64(1, 1);
  x.SetF64(783, 2);
  x.SetF64(784 + 783, -4);  // row 1: h = [0.5, 4.25]
  // row 2 all zero: h = [0.5, 0.25]
  std::vector<Tensor> out = RunGraph(g, {x});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(out[0].ToF32(), (std::vector<float>{3.5f, 8.0f, -3.75f, 14.75f, 0.25f, 2.75f}));
}

TEST(ZooRunTest, TinyCnnMatchesNumpy) {
  Graph g = Build("tiny_cnn", {});  // symbolic N, run at 2
  std::vector<Tensor> out = RunGraph(g, {SinInput(DType::kF32, {2, 3, 32, 32})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 10}));
  ExpectClose(out[0].ToF32(),
              {-0.000843087196, -0.0375802352, -0.173712487, -0.0532831169, 0.116174605,
               0.0890132124,    -0.223762838,  0.0425351625, 0.0477086635,  -0.236370657,
               -0.000445302804, -0.0378098771, -0.173720405, -0.0539162431, 0.115867851,
               0.0888992798,    -0.223963352,  0.042648082,  0.0477418191,  -0.236216174});
}

TEST(ZooRunTest, TinyCnnF16TracksF32) {
  ZooOptions o;
  o.dtype = DType::kF16;
  Graph g = Build("tiny_cnn", o);
  std::vector<Tensor> out = RunGraph(g, {SinInput(DType::kF16, {1, 3, 32, 32})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dtype(), DType::kF16);
  ExpectAllFinite(out[0]);
  std::vector<float> got = out[0].ToF32();
  std::vector<double> f32 = {-0.000843087196, -0.0375802352, -0.173712487, -0.0532831169,
                             0.116174605,     0.0890132124,  -0.223762838, 0.0425351625,
                             0.0477086635,    -0.236370657};
  for (size_t i = 0; i < f32.size(); ++i) EXPECT_NEAR(got[i], f32[i], 5e-3) << i;
}

TEST(ZooRunTest, TinyResNetMatchesNumpy) {
  ZooOptions o;
  o.hidden_size = 8;  // stem width: stages 8/16/32/64 planes, 256 output channels
  o.num_layers = 1;   // one bottleneck per stage
  o.image_size = 32;
  o.num_classes = 10;
  Graph g = Build("resnet50", o);
  std::vector<Tensor> out = RunGraph(g, {SinInput(DType::kF32, {2, 3, 32, 32})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 10}));
  ExpectClose(out[0].ToF32(),
              {0.0217682018, 0.0203186672,   0.0353928888,  0.0102213363,   -0.0665614248,
               0.0474133508, -0.010392644,   -0.0911391045, -0.0089106829,  0.042926061,
               0.023178849,  0.0218834133,   0.0364046963,  0.00994389539,  -0.065842671,
               0.0529373564, -0.00944066143, -0.0945298326, -0.00522796665, 0.0424981495});
}

// ids[b, i] = (7 i + 3 b) % 100; row 0 masks its last two positions.
std::vector<Tensor> BertInputs() {
  std::vector<double> ids;
  for (int b = 0; b < 2; ++b) {
    for (int i = 0; i < 8; ++i) ids.push_back((7 * i + 3 * b) % 100);
  }
  std::vector<double> mask = {1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
  return {I64({2, 8}, ids), I64({2, 8}, mask)};
}

TEST(ZooRunTest, TinyBertMatchesNumpy) {
  ZooOptions o = TinyTransformer();
  o.vocab_size = 100;
  o.seq = 8;
  Graph g = Build("bert", o);
  std::vector<Tensor> out = RunGraph(g, BertInputs());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 8, 32}));
  EXPECT_EQ(out[1].shape(), (std::vector<int64_t>{2, 32}));
  std::vector<float> h = out[0].ToF32();
  ExpectClose(h, {0.14896963, -0.324808369, -0.543855194, 1.51894096}, 0);
  ExpectClose(h, {-0.88424472, -1.60017224, 1.43802355, -0.0572563795}, (8 + 7) * 32);
  std::vector<float> pooled = out[1].ToF32();
  ExpectClose(pooled, {0.243452967, -0.177966802, -0.265815132, 0.127621086}, 0);
  ExpectClose(pooled, {-0.372761191, 0.159597832, -0.601448688, -0.228608531}, 32);
  for (float v : pooled) {
    EXPECT_GE(v, -1.0f);
    EXPECT_LE(v, 1.0f);
  }
}

// Masked positions cannot influence the others: changing their ids leaves row 0's unmasked
// outputs and its pooler output bit-identical, while changing an unmasked id does not.
TEST(ZooRunTest, BertAttentionMaskHidesPaddedTokens) {
  ZooOptions o = TinyTransformer();
  o.vocab_size = 100;
  o.num_layers = 1;
  Graph g = Build("bert", o);  // symbolic N and S, run at [2, 16]
  std::vector<double> ids(32), mask(32, 1.0);
  for (int i = 0; i < 32; ++i) ids[i] = (5 * i + 1) % 100;
  for (int i = 12; i < 16; ++i) mask[i] = 0;  // row 0 keeps 12 tokens
  std::vector<Tensor> base = RunGraph(g, {I64({2, 16}, ids), I64({2, 16}, mask)});
  ASSERT_EQ(base.size(), 2u);
  EXPECT_EQ(base[0].shape(), (std::vector<int64_t>{2, 16, 32}));

  std::vector<double> padded = ids;
  for (int i = 12; i < 16; ++i) padded[i] = 99;
  std::vector<Tensor> same = RunGraph(g, {I64({2, 16}, padded), I64({2, 16}, mask)});
  ASSERT_EQ(same.size(), 2u);
  std::vector<float> a = base[0].ToF32(), b = same[0].ToF32();
  for (int i = 0; i < 12 * 32; ++i) ASSERT_EQ(a[i], b[i]) << "row 0 element " << i;
  for (int i = 16 * 32; i < 32 * 32; ++i) ASSERT_EQ(a[i], b[i]) << "row 1 element " << i;
  EXPECT_NE(a[13 * 32], b[13 * 32]) << "a masked token's own output still sees its id";
  EXPECT_EQ(base[1].ToF32(), same[1].ToF32());

  std::vector<double> changed = ids;
  changed[3] = 42;
  std::vector<Tensor> diff = RunGraph(g, {I64({2, 16}, changed), I64({2, 16}, mask)});
  ASSERT_EQ(diff.size(), 2u);
  EXPECT_NE(diff[1].ToF32()[0], base[1].ToF32()[0]);
  EXPECT_EQ(diff[1].ToF32()[32], base[1].ToF32()[32]) << "row 1 is independent of row 0";
}

TEST(ZooRunTest, TinyVitMatchesNumpy) {
  ZooOptions o = TinyTransformer();
  o.image_size = 32;  // 2x2 patches + class token
  o.num_classes = 10;
  Graph g = Build("vit", o);
  std::vector<Tensor> out = RunGraph(g, {SinInput(DType::kF32, {2, 3, 32, 32})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 10}));
  ExpectClose(out[0].ToF32(),
              {0.151743197,  0.492898808,   0.113035333, 0.629345824,  -0.137887692,
               -0.249930328, -0.0886370246, 0.169024865, -0.701466848, 0.218859412,
               0.457542621,  0.939802089,   0.491708383, 0.259253903,  0.223092176,
               -0.463690486, 0.32075802,    0.156339716, -0.782782939, 0.0054582911});
}

// ---- full size, batch 1 (one interpreter run each) ----

TEST(ZooFullSizeTest, ResNet50) {
  Graph g = Build("resnet50", {});
  std::vector<Tensor> out = RunGraph(g, {SinInput(DType::kF32, {1, 3, 224, 224})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{1, 1000}));
  ExpectAllFinite(out[0]);
  std::vector<float> v = out[0].ToF32();
  EXPECT_NE(*std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()));
}

TEST(ZooFullSizeTest, Bert) {
  Graph g = Build("bert", {});
  std::vector<double> ids(16), mask(16, 1.0);
  for (int i = 0; i < 16; ++i) ids[i] = (1009 * i + 101) % 30522;
  std::vector<Tensor> out = RunGraph(g, {I64({1, 16}, ids), I64({1, 16}, mask)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{1, 16, 768}));
  EXPECT_EQ(out[1].shape(), (std::vector<int64_t>{1, 768}));
  ExpectAllFinite(out[0]);
  std::vector<float> pooled = out[1].ToF32();
  for (float v : pooled) {
    ASSERT_GE(v, -1.0f);
    ASSERT_LE(v, 1.0f);
  }
  EXPECT_NE(*std::min_element(pooled.begin(), pooled.end()),
            *std::max_element(pooled.begin(), pooled.end()));
  // Each token's last_hidden_state is LayerNorm output: mean ~ mean(bias), not exploded.
  std::vector<float> h = out[0].ToF32();
  double sum = 0;
  for (int i = 0; i < 768; ++i) sum += h[i];
  EXPECT_LT(std::fabs(sum / 768), 0.1);
}

TEST(ZooFullSizeTest, Vit) {
  Graph g = Build("vit", {});
  std::vector<Tensor> out = RunGraph(g, {SinInput(DType::kF32, {1, 3, 224, 224})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{1, 1000}));
  ExpectAllFinite(out[0]);
  std::vector<float> v = out[0].ToF32();
  EXPECT_NE(*std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()));
}

}  // namespace
}  // namespace kiln
