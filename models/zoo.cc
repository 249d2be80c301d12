#include "models/zoo.h"

#include "models/layers.h"

namespace kiln {
namespace {

struct ZooModel {
  ZooEntry entry;
  StatusOr<BuiltModel> (*build)(const ZooOptions&);
};

// The registry: explicit, so nothing depends on static-initialiser order or linker whims.
const std::vector<ZooModel>& Registry() {
  static const std::vector<ZooModel> models = {
      {{"resnet50", "torchvision ResNet-50 v1.5, NCHW, x [N,3,224,224] -> logits [N,1000]"},
       BuildResNet50},
      {{"bert",
        "Hugging Face BertModel (bert-base), input_ids/attention_mask [N,S] -> "
        "last_hidden_state [N,S,768], pooler_output [N,768]"},
       BuildBert},
      {{"vit", "torchvision ViT-B/16, x [N,3,224,224] -> logits [N,1000]"}, BuildVit},
      {{"mlp", "2-layer perceptron, x [N,784] -> logits [N,10]"}, BuildMlp},
      {{"tiny_cnn",
        "conv-bn-relu x2, max pool, global avg pool, linear; x [N,3,32,32] -> "
        "logits [N,10]"},
       BuildTinyCnn},
  };
  return models;
}

Status CheckOptions(const std::string& name, const ZooOptions& o) {
  if (o.dtype != DType::kF32 && o.dtype != DType::kF16 && o.dtype != DType::kBF16) {
    return InvalidArgument(name + ": dtype must be f32, f16 or bf16, got " +
                           std::string(DTypeName(o.dtype)));
  }
  KILN_RETURN_IF_ERROR(CheckAtLeast(name + ": max_batch", o.max_batch, 1));
  if (o.batch) KILN_RETURN_IF_ERROR(CheckAtLeast(name + ": batch", *o.batch, 1));
  for (auto [knob, value] : {std::pair{"num_layers", o.num_layers},
                             {"hidden_size", o.hidden_size},
                             {"num_heads", o.num_heads},
                             {"intermediate_size", o.intermediate_size},
                             {"vocab_size", o.vocab_size},
                             {"image_size", o.image_size},
                             {"num_classes", o.num_classes}}) {
    KILN_RETURN_IF_ERROR(CheckAtLeast(name + ": " + knob + " (0 = default)", value, 0));
  }
  return Status::Ok();
}

}  // namespace

std::vector<ZooEntry> ZooModels() {
  std::vector<ZooEntry> out;
  for (const ZooModel& m : Registry()) out.push_back(m.entry);
  return out;
}

StatusOr<Graph> BuildZooModel(const std::string& name, const ZooOptions& options) {
  const ZooModel* model = nullptr;
  std::string known;
  for (const ZooModel& m : Registry()) {
    if (m.entry.name == name) model = &m;
    known += (known.empty() ? "" : ", ") + m.entry.name;
  }
  if (model == nullptr) {
    return NotFound("no zoo model named '" + name + "' (known: " + known + ")");
  }
  KILN_RETURN_IF_ERROR(CheckOptions(name, options));
  StatusOr<BuiltModel> built = model->build(options);
  if (!built.ok()) return built.status().WithContext("building zoo model " + name);
  auto weights = MaterializeWeights(built->weights, options.weights_path, options.seed);
  if (!weights.ok()) return weights.status().WithContext("weights of zoo model " + name);
  built->graph.set_weights(std::move(weights).value());
  return std::move(built->graph);
}

}  // namespace kiln
