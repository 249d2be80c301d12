// Every error BuildZooModel reports: unknown model, bad options, and checkpoint mismatches.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "models/zoo.h"
#include "support/check.h"
#include "support/safetensors.h"

namespace kiln {
namespace {

std::string TempPath(const std::string& name) {
  auto dir =
      std::filesystem::path(::testing::TempDir()) / ("kiln_zoo_errors_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

void ExpectError(const std::string& model, const ZooOptions& o, StatusCode code,
                 const std::string& what) {
  auto g = BuildZooModel(model, o);
  ASSERT_FALSE(g.ok()) << model;
  EXPECT_EQ(g.status().code(), code) << g.status().ToString();
  EXPECT_NE(g.status().message().find(what), std::string::npos)
      << "expected '" << what << "' in: " << g.status().message();
}

// The mlp's weights saved to a file after `edit` changed them.
std::string MlpCheckpoint(const std::string& name, void (*edit)(TensorMap&)) {
  auto g = BuildZooModel("mlp", {});
  KILN_CHECK(g.ok()) << g.status().ToString();
  TensorMap w = *g->weights();
  edit(w);
  std::string path = TempPath(name);
  KILN_CHECK(SaveSafetensors(path, w).ok());
  return path;
}

TEST(ZooErrorsTest, UnknownModel) {
  ExpectError("resnet18", {}, StatusCode::kNotFound,
              "no zoo model named 'resnet18' (known: resnet50, bert, vit, mlp, tiny_cnn)");
}

TEST(ZooErrorsTest, NonFloatDType) {
  ZooOptions o;
  o.dtype = DType::kI32;
  ExpectError("mlp", o, StatusCode::kInvalidArgument,
              "mlp: dtype must be f32, f16 or bf16, got i32");
}

TEST(ZooErrorsTest, BadBatch) {
  ZooOptions o;
  o.batch = 0;
  ExpectError("mlp", o, StatusCode::kInvalidArgument, "mlp: batch must be at least 1, got 0");
  o.batch.reset();
  o.max_batch = -2;
  ExpectError("mlp", o, StatusCode::kInvalidArgument, "mlp: max_batch must be at least 1, got -2");
}

TEST(ZooErrorsTest, NegativeKnob) {
  ZooOptions o;
  o.num_layers = -1;
  ExpectError("vit", o, StatusCode::kInvalidArgument,
              "vit: num_layers (0 = default) must be at least 0, got -1");
}

TEST(ZooErrorsTest, BertSeqBeyondPositionTable) {
  ZooOptions o;
  o.seq = 513;
  ExpectError("bert", o, StatusCode::kInvalidArgument,
              "bert: seq must be in [1, 512] (the position table size), got 513");
}

TEST(ZooErrorsTest, HiddenNotMultipleOfHeads) {
  ZooOptions o;
  o.hidden_size = 100;
  o.num_heads = 12;
  ExpectError("bert", o, StatusCode::kInvalidArgument,
              "bert: hidden_size 100 is not a multiple of num_heads 12");
  ExpectError("vit", o, StatusCode::kInvalidArgument,
              "vit: hidden_size 100 is not a multiple of num_heads 12");
}

TEST(ZooErrorsTest, VitImageNotMultipleOfPatch) {
  ZooOptions o;
  o.image_size = 200;
  ExpectError("vit", o, StatusCode::kInvalidArgument,
              "vit: image_size must be a positive multiple of the patch size 16, got 200");
}

TEST(ZooErrorsTest, ResNetImageTooSmall) {
  ZooOptions o;
  o.image_size = 16;
  ExpectError("resnet50", o, StatusCode::kInvalidArgument,
              "resnet50 image_size must be at least 32, got 16");
}

TEST(ZooErrorsTest, MissingWeightsFile) {
  ZooOptions o;
  o.weights_path = TempPath("nope.safetensors");
  ExpectError("mlp", o, StatusCode::kNotFound,
              "weights of zoo model mlp: " + o.weights_path + ": cannot open safetensors file");
}

TEST(ZooErrorsTest, MissingWeight) {
  ZooOptions o;
  o.weights_path = MlpCheckpoint("missing.safetensors", [](TensorMap& w) { w.erase("fc2.bias"); });
  ExpectError("mlp", o, StatusCode::kNotFound,
              o.weights_path + ": weight 'fc2.bias' (expected f32[10]) not found");
}

TEST(ZooErrorsTest, WeightShapeMismatch) {
  ZooOptions o;
  o.weights_path = MlpCheckpoint("shape.safetensors", [](TensorMap& w) {
    w["fc1.weight"] = Tensor(DType::kF32, {784, 128});
  });
  ExpectError("mlp", o, StatusCode::kInvalidArgument,
              o.weights_path + ": weight 'fc1.weight': expected f32[128,784], got f32[784,128]");
}

TEST(ZooErrorsTest, WeightDTypeMismatch) {
  ZooOptions o;
  o.weights_path = MlpCheckpoint("dtype.safetensors",
                                 [](TensorMap& w) { w["fc2.bias"] = Tensor(DType::kI64, {10}); });
  o.dtype = DType::kF16;
  ExpectError("mlp", o, StatusCode::kInvalidArgument,
              o.weights_path + ": weight 'fc2.bias': expected f16[10], got i64[10]");
}

}  // namespace
}  // namespace kiln
