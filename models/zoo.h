// The model zoo: reference networks built with the C++ Builder, with parameter names exactly as
// in the torchvision / Hugging Face state_dicts so real checkpoints (saved as safetensors) load.
//
//   ZooOptions o;                       // symbolic batch N in [1, 64], f32, seeded weights
//   o.weights_path = "resnet50.safetensors";
//   StatusOr<Graph> g = BuildZooModel("resnet50", o);
#ifndef KILN_MODELS_ZOO_H_
#define KILN_MODELS_ZOO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln {

/// How to build a zoo model. Size knobs left at 0 take the model's standard value; they exist so
/// tests can build the same architecture (same weight names) at a tiny size.
struct ZooOptions {
  std::optional<int64_t> batch;  // static batch; nullopt = symbolic `N` in [1, max_batch]
  int64_t max_batch = 64;
  std::optional<int64_t> seq;  // bert: static sequence length; nullopt = symbolic `S` in
                               // [16, 512]
  DType dtype = DType::kF32;   // f32, f16 or bf16: weights, activations and float inputs
  std::string weights_path;    // safetensors checkpoint; empty = deterministic from `seed`
  uint64_t seed = 0;

  int64_t num_layers = 0;         // bert/vit: encoder layers (12); resnet50: blocks per stage
                                  // capped at this ([3,4,6,3])
  int64_t hidden_size = 0;        // bert/vit: width (768); resnet50/tiny_cnn: stem channels (64
                                  // / 16); mlp: hidden units (128)
  int64_t num_heads = 0;          // bert/vit (12)
  int64_t intermediate_size = 0;  // bert/vit: MLP width (3072)
  int64_t vocab_size = 0;         // bert (30522)
  int64_t image_size = 0;         // resnet50/vit (224), tiny_cnn (32); vit: a multiple of 16
  int64_t num_classes = 0;        // resnet50/vit (1000), mlp/tiny_cnn (10)
};

/// A zoo model's name and a one-line description.
struct ZooEntry {
  std::string name;
  std::string description;
};

/// All zoo models, in a stable order.
std::vector<ZooEntry> ZooModels();

/// Builds zoo model `name` with its weights in graph.weights(): loaded from
/// options.weights_path (every weight checked: NotFound naming a missing one, InvalidArgument
/// with expected vs actual type on a mismatch; float data converted to options.dtype) or
/// generated deterministically from options.seed. NotFound for an unknown name (listing the
/// known ones); InvalidArgument for bad options.
StatusOr<Graph> BuildZooModel(const std::string& name, const ZooOptions& options);

}  // namespace kiln

#endif  // KILN_MODELS_ZOO_H_
