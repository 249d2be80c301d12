// Zoo structure and weights: every model builds with the torchvision / Hugging Face parameter
// names, counts and I/O types; generated weights are deterministic with PyTorch-like scales;
// checkpoints round-trip through safetensors. Numeric runs are in tests/e2e/zoo_test.cc.
#include "models/zoo.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "models/weights.h"
#include "support/check.h"
#include "support/safetensors.h"

namespace kiln {
namespace {

// name -> declared type of every weight node.
std::map<std::string, TensorType> WeightTypes(const Graph& g) {
  std::map<std::string, TensorType> out;
  for (const auto& n : g.nodes()) {
    if (n->op() == OpKind::kWeight) out[n->GetString("name")] = n->output()->type();
  }
  return out;
}

std::string TypeOf(const Graph& g, const std::string& weight) {
  auto types = WeightTypes(g);
  auto it = types.find(weight);
  return it == types.end() ? "<missing>" : it->second.ToString();
}

// Trainable parameters (BatchNorm running statistics are buffers, not parameters).
int64_t NumParameters(const Graph& g) {
  int64_t n = 0;
  for (const auto& [name, t] : *g.weights()) {
    if (name.ends_with("running_mean") || name.ends_with("running_var")) continue;
    n += t.numel();
  }
  return n;
}

std::string TempPath(const std::string& name) {
  auto dir = std::filesystem::path(::testing::TempDir()) / ("kiln_zoo_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

// Full-size models are built once per test binary (weight generation is the slow part).
const Graph& FullSize(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Graph>> cache;
  auto& slot = cache[name];
  if (!slot) {
    auto g = BuildZooModel(name, {});
    KILN_CHECK(g.ok()) << g.status().ToString();
    slot = std::make_unique<Graph>(std::move(g).value());
  }
  return *slot;
}

TEST(ZooTest, ListsEveryModel) {
  std::vector<std::string> names;
  for (const ZooEntry& e : ZooModels()) {
    names.push_back(e.name);
    EXPECT_FALSE(e.description.empty()) << e.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"resnet50", "bert", "vit", "mlp", "tiny_cnn"}));
}

TEST(ZooTest, ResNet50Structure) {
  const Graph& g = FullSize("resnet50");
  ASSERT_EQ(g.inputs().size(), 1u);
  EXPECT_EQ(g.inputs()[0]->name(), "x");
  EXPECT_EQ(g.inputs()[0]->type().ToString(), "f32[N,3,224,224]");
  ASSERT_EQ(g.outputs().size(), 1u);
  EXPECT_EQ(g.outputs()[0]->name(), "logits");
  EXPECT_EQ(g.outputs()[0]->type().ToString(), "f32[N,1000]");
  EXPECT_EQ(g.symbols().at("N"), (SymbolRange{1, 64}));
  // 53 convs + 53 BNs x 4 + fc weight and bias; torchvision's num_batches_tracked is skipped.
  EXPECT_EQ(WeightTypes(g).size(), 267u);
  EXPECT_EQ(g.weights()->size(), 267u);
  EXPECT_EQ(NumParameters(g), 25557032);  // sum(p.numel() for p in resnet50().parameters())
  EXPECT_EQ(TypeOf(g, "conv1.weight"), "f32[64,3,7,7]");
  EXPECT_EQ(TypeOf(g, "bn1.running_var"), "f32[64]");
  EXPECT_EQ(TypeOf(g, "layer1.0.downsample.0.weight"), "f32[256,64,1,1]");
  EXPECT_EQ(TypeOf(g, "layer2.0.conv2.weight"), "f32[128,128,3,3]");
  EXPECT_EQ(TypeOf(g, "layer3.5.bn3.bias"), "f32[1024]");
  EXPECT_EQ(TypeOf(g, "layer4.2.conv3.weight"), "f32[2048,512,1,1]");
  EXPECT_EQ(TypeOf(g, "layer4.0.downsample.1.running_mean"), "f32[2048]");
  EXPECT_EQ(TypeOf(g, "fc.weight"), "f32[1000,2048]");
  EXPECT_EQ(TypeOf(g, "layer1.1.downsample.0.weight"), "<missing>");
  EXPECT_EQ(TypeOf(g, "layer3.6.conv1.weight"), "<missing>");
  // v1.5: the stride-2 conv of layer2.0 is the 3x3 conv2, so conv1 keeps 56x56.
  for (const auto& n : g.nodes()) {
    if (n->op() != OpKind::kConv2d || n->input(1)->producer() == nullptr) continue;
    const std::string& w = n->input(1)->producer()->GetString("name");
    if (w == "layer2.0.conv1.weight") {
      EXPECT_EQ(n->output()->type().ToString(), "f32[N,128,56,56]");
    }
    if (w == "layer2.0.conv2.weight") {
      EXPECT_EQ(n->output()->type().ToString(), "f32[N,128,28,28]");
    }
  }
}

TEST(ZooTest, BertStructure) {
  const Graph& g = FullSize("bert");
  ASSERT_EQ(g.inputs().size(), 2u);
  EXPECT_EQ(g.inputs()[0]->name(), "input_ids");
  EXPECT_EQ(g.inputs()[0]->type().ToString(), "i64[N,S]");
  EXPECT_EQ(g.inputs()[1]->name(), "attention_mask");
  EXPECT_EQ(g.inputs()[1]->type().ToString(), "i64[N,S]");
  ASSERT_EQ(g.outputs().size(), 2u);
  EXPECT_EQ(g.outputs()[0]->name(), "last_hidden_state");
  EXPECT_EQ(g.outputs()[0]->type().ToString(), "f32[N,S,768]");
  EXPECT_EQ(g.outputs()[1]->name(), "pooler_output");
  EXPECT_EQ(g.outputs()[1]->type().ToString(), "f32[N,768]");
  EXPECT_EQ(g.symbols().at("S"), (SymbolRange{16, 512}));
  EXPECT_EQ(g.symbols().at("N"), (SymbolRange{1, 64}));
  EXPECT_EQ(WeightTypes(g).size(), 199u);  // 5 embedding + 12 x 16 + 2 pooler
  EXPECT_EQ(NumParameters(g), 109482240);  // BertModel(BertConfig()).num_parameters()
  EXPECT_EQ(TypeOf(g, "embeddings.word_embeddings.weight"), "f32[30522,768]");
  EXPECT_EQ(TypeOf(g, "embeddings.position_embeddings.weight"), "f32[512,768]");
  EXPECT_EQ(TypeOf(g, "embeddings.token_type_embeddings.weight"), "f32[2,768]");
  EXPECT_EQ(TypeOf(g, "embeddings.LayerNorm.bias"), "f32[768]");
  EXPECT_EQ(TypeOf(g, "encoder.layer.0.attention.self.query.weight"), "f32[768,768]");
  EXPECT_EQ(TypeOf(g, "encoder.layer.11.attention.self.value.bias"), "f32[768]");
  EXPECT_EQ(TypeOf(g, "encoder.layer.5.attention.output.dense.weight"), "f32[768,768]");
  EXPECT_EQ(TypeOf(g, "encoder.layer.5.attention.output.LayerNorm.weight"), "f32[768]");
  EXPECT_EQ(TypeOf(g, "encoder.layer.7.intermediate.dense.weight"), "f32[3072,768]");
  EXPECT_EQ(TypeOf(g, "encoder.layer.7.output.dense.weight"), "f32[768,3072]");
  EXPECT_EQ(TypeOf(g, "encoder.layer.11.output.LayerNorm.bias"), "f32[768]");
  EXPECT_EQ(TypeOf(g, "pooler.dense.weight"), "f32[768,768]");
  EXPECT_EQ(TypeOf(g, "encoder.layer.12.output.dense.weight"), "<missing>");
  EXPECT_EQ(TypeOf(g, "embeddings.position_ids"), "<missing>");  // a buffer, not a parameter
}

TEST(ZooTest, VitStructure) {
  const Graph& g = FullSize("vit");
  ASSERT_EQ(g.inputs().size(), 1u);
  EXPECT_EQ(g.inputs()[0]->type().ToString(), "f32[N,3,224,224]");
  ASSERT_EQ(g.outputs().size(), 1u);
  EXPECT_EQ(g.outputs()[0]->name(), "logits");
  EXPECT_EQ(g.outputs()[0]->type().ToString(), "f32[N,1000]");
  EXPECT_EQ(WeightTypes(g).size(), 152u);  // 4 + 12 x 12 + encoder.ln + heads.head
  EXPECT_EQ(NumParameters(g), 86567656);   // sum(p.numel() for p in vit_b_16().parameters())
  EXPECT_EQ(TypeOf(g, "class_token"), "f32[1,1,768]");
  EXPECT_EQ(TypeOf(g, "conv_proj.weight"), "f32[768,3,16,16]");
  EXPECT_EQ(TypeOf(g, "conv_proj.bias"), "f32[768]");
  EXPECT_EQ(TypeOf(g, "encoder.pos_embedding"), "f32[1,197,768]");
  std::string l3 = "encoder.layers.encoder_layer_3.";
  EXPECT_EQ(TypeOf(g, l3 + "ln_1.weight"), "f32[768]");
  EXPECT_EQ(TypeOf(g, l3 + "self_attention.in_proj_weight"), "f32[2304,768]");
  EXPECT_EQ(TypeOf(g, l3 + "self_attention.in_proj_bias"), "f32[2304]");
  EXPECT_EQ(TypeOf(g, l3 + "self_attention.out_proj.weight"), "f32[768,768]");
  EXPECT_EQ(TypeOf(g, l3 + "ln_2.bias"), "f32[768]");
  EXPECT_EQ(TypeOf(g, l3 + "mlp.0.weight"), "f32[3072,768]");
  EXPECT_EQ(TypeOf(g, l3 + "mlp.3.weight"), "f32[768,3072]");
  EXPECT_EQ(TypeOf(g, "encoder.layers.encoder_layer_11.mlp.3.bias"), "f32[768]");
  EXPECT_EQ(TypeOf(g, "encoder.ln.weight"), "f32[768]");
  EXPECT_EQ(TypeOf(g, "heads.head.weight"), "f32[1000,768]");
  EXPECT_EQ(TypeOf(g, "heads.head.bias"), "f32[1000]");
}

// Every weight, by exact key and shape, against the state_dicts of the real PyTorch models
// (models/testdata/torch_state_dict_keys.txt, dumped on the GPU machine): nothing missing,
// nothing extra, so real checkpoints load.
TEST(ZooTest, WeightKeysMatchPytorchStateDicts) {
  std::ifstream f(std::string(KILN_SOURCE_DIR) + "/models/testdata/torch_state_dict_keys.txt");
  ASSERT_TRUE(f) << "missing models/testdata/torch_state_dict_keys.txt";
  std::map<std::string, std::set<std::string>> torch_keys;  // model -> {"name [shape]"}
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string model, name, shape;
    in >> model >> name >> shape;
    torch_keys[model].insert(name + " [" + shape + "]");
  }
  for (const std::string model : {"resnet50", "bert", "vit"}) {
    std::set<std::string> kiln_keys;
    for (const auto& [name, type] : WeightTypes(FullSize(model))) {
      kiln_keys.insert(name + " " + ShapeToString(type.shape));
    }
    ASSERT_FALSE(torch_keys[model].empty()) << model;
    for (const std::string& k : torch_keys[model]) {
      EXPECT_TRUE(kiln_keys.count(k)) << model << ": kiln lacks " << k;
    }
    for (const std::string& k : kiln_keys) {
      EXPECT_TRUE(torch_keys[model].count(k)) << model << ": PyTorch has no " << k;
    }
  }
}

TEST(ZooTest, SmallModelsStructure) {
  auto mlp = BuildZooModel("mlp", {});
  ASSERT_TRUE(mlp.ok()) << mlp.status().ToString();
  EXPECT_EQ(mlp->inputs()[0]->type().ToString(), "f32[N,784]");
  EXPECT_EQ(mlp->outputs()[0]->type().ToString(), "f32[N,10]");
  EXPECT_EQ(WeightTypes(*mlp).size(), 4u);
  EXPECT_EQ(TypeOf(*mlp, "fc1.weight"), "f32[128,784]");
  EXPECT_EQ(TypeOf(*mlp, "fc2.bias"), "f32[10]");

  ZooOptions o;
  o.batch = 4;
  o.dtype = DType::kF16;
  auto cnn = BuildZooModel("tiny_cnn", o);
  ASSERT_TRUE(cnn.ok()) << cnn.status().ToString();
  EXPECT_TRUE(cnn->symbols().empty());
  EXPECT_EQ(cnn->inputs()[0]->type().ToString(), "f16[4,3,32,32]");
  EXPECT_EQ(cnn->outputs()[0]->name(), "logits");
  EXPECT_EQ(cnn->outputs()[0]->type().ToString(), "f16[4,10]");
  EXPECT_EQ(WeightTypes(*cnn).size(), 12u);
  EXPECT_EQ(TypeOf(*cnn, "conv2.weight"), "f16[32,16,3,3]");
  EXPECT_EQ(TypeOf(*cnn, "bn2.running_var"), "f16[32]");
  EXPECT_EQ(TypeOf(*cnn, "fc.weight"), "f16[10,32]");
  EXPECT_EQ(cnn->weights()->at("fc.weight").dtype(), DType::kF16);
}

TEST(ZooTest, StaticBatchAndSeq) {
  ZooOptions o;
  o.batch = 2;
  o.seq = 8;
  o.num_layers = 1;
  o.hidden_size = 32;
  o.num_heads = 4;
  o.intermediate_size = 64;
  o.vocab_size = 100;
  auto g = BuildZooModel("bert", o);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_TRUE(g->symbols().empty());
  EXPECT_EQ(g->inputs()[0]->type().ToString(), "i64[2,8]");
  EXPECT_EQ(g->outputs()[0]->type().ToString(), "f32[2,8,32]");
  EXPECT_EQ(TypeOf(*g, "embeddings.word_embeddings.weight"), "f32[100,32]");
  EXPECT_EQ(TypeOf(*g, "embeddings.position_embeddings.weight"), "f32[512,32]");
  EXPECT_EQ(WeightTypes(*g).size(), 5u + 16u + 2u);
}

TEST(ZooTest, WeightSeedIsFnv1aXorSeed) {
  EXPECT_EQ(WeightSeed("", 0), 0xcbf29ce484222325ull);  // FNV-1a 64 offset basis
  EXPECT_EQ(WeightSeed("a", 0), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(WeightSeed("foobar", 0), 0x85944171f73967e8ull);
  EXPECT_EQ(WeightSeed("foobar", 0xff), 0x85944171f7396717ull);
}

TEST(ZooTest, GeneratedWeightsAreDeterministicWithPytorchScales) {
  ZooOptions o;
  o.num_layers = 1;
  o.hidden_size = 8;
  o.image_size = 32;
  auto a = BuildZooModel("resnet50", o);
  auto b = BuildZooModel("resnet50", o);
  o.seed = 1;
  auto c = BuildZooModel("resnet50", o);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << a.status().ToString();
  const Tensor& wa = a->weights()->at("layer2.0.conv2.weight");  // [16, 16, 3, 3]
  EXPECT_EQ(wa.ToF32(), b->weights()->at("layer2.0.conv2.weight").ToF32());
  EXPECT_NE(wa.ToF32(), c->weights()->at("layer2.0.conv2.weight").ToF32());
  // Values depend on (name, seed) only: regenerate from the spec.
  Tensor regen = GenerateWeight(
      {"layer2.0.conv2.weight", DType::kF32, {16, 16, 3, 3}, WeightInit::kFanIn, 16 * 9}, 0);
  EXPECT_EQ(wa.ToF32(), regen.ToF32());

  double bound = 1.0 / std::sqrt(16.0 * 9.0);
  double max_abs = 0;
  for (float v : wa.ToF32()) max_abs = std::max(max_abs, std::fabs(static_cast<double>(v)));
  EXPECT_LE(max_abs, bound);
  EXPECT_GT(max_abs, 0.9 * bound);  // uniform over the whole range, not a narrower one
  for (float v : a->weights()->at("layer3.0.bn2.running_var").ToF32()) {
    EXPECT_GE(v, 0.5f);
    EXPECT_LE(v, 1.5f);
  }
  for (float v : a->weights()->at("bn1.weight").ToF32()) EXPECT_NEAR(v, 1.0f, 0.1f);
  for (float v : a->weights()->at("bn1.running_mean").ToF32()) EXPECT_LE(std::fabs(v), 0.1f);
}

// Literals from bench/zoo_check/tiny_reference.py's independent port of the generator.
TEST(ZooTest, GeneratorMatchesPythonPort) {
  auto near = [](const Tensor& t, const std::vector<double>& want) {
    std::vector<float> got = t.ToF32();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-8) << i;
  };
  near(GenerateWeight({"fc.weight", DType::kF32, {2, 3}, WeightInit::kFanIn, 3}, 0),
       {-0.0177294873, 0.429859996, 0.281198442, 0.231524631, -0.342128396, 0.35281229});
  near(GenerateWeight({"emb", DType::kF32, {4}, WeightInit::kEmbedding}, 5),
       {-0.0164673273, -0.0313502476, 0.000963188475, -0.004220895});
  near(GenerateWeight({"bn.running_var", DType::kF32, {3}, WeightInit::kRunningVar}, 0),
       {1.36165905, 0.864001513, 0.638286352});
}

TEST(ZooTest, EmbeddingsAreNormalWithStd002) {
  Tensor t = GenerateWeight({"emb", DType::kF32, {100, 100}, WeightInit::kEmbedding}, 7);
  double sum = 0, sq = 0;
  for (float v : t.ToF32()) {
    sum += v;
    sq += static_cast<double>(v) * v;
  }
  double mean = sum / 1e4;
  double stddev = std::sqrt(sq / 1e4 - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.001);
  EXPECT_NEAR(stddev, 0.02, 0.001);
}

TEST(ZooTest, WeightsRoundTripThroughSafetensors) {
  ZooOptions o;
  o.seed = 3;
  auto a = BuildZooModel("tiny_cnn", o);
  ASSERT_TRUE(a.ok());
  std::string path = TempPath("tiny_cnn.safetensors");
  TensorMap file = *a->weights();
  file["bn1.num_batches_tracked"] = Tensor(DType::kI64, {});  // extra buffers are ignored
  ASSERT_TRUE(SaveSafetensors(path, file).ok());

  o.seed = 0;
  o.weights_path = path;
  auto b = BuildZooModel("tiny_cnn", o);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(b->weights()->size(), a->weights()->size());
  for (const auto& [name, t] : *a->weights()) {
    EXPECT_EQ(b->weights()->at(name).ToF32(), t.ToF32()) << name;
  }

  // An f32 checkpoint feeds a bf16 model: values are rounded to bf16.
  o.dtype = DType::kBF16;
  auto c = BuildZooModel("tiny_cnn", o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const Tensor& w = c->weights()->at("conv1.weight");
  EXPECT_EQ(w.dtype(), DType::kBF16);
  std::vector<float> src = a->weights()->at("conv1.weight").ToF32();
  Tensor rounded = Tensor::FromF32(DType::kBF16, w.shape(), src);
  EXPECT_EQ(w.ToF32(), rounded.ToF32());
}

}  // namespace
}  // namespace kiln
