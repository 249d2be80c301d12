// Model weights for the zoo: what each parameter is (name, dtype, shape, how PyTorch would
// initialise it), deterministic generation of values from a seed, and binding checkpoint tensors
// (e.g. a torchvision / Hugging Face state_dict saved as safetensors) to those specs.
#ifndef KILN_MODELS_WEIGHTS_H_
#define KILN_MODELS_WEIGHTS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/status.h"
#include "support/tensor.h"

namespace kiln {

/// How a weight is generated when no checkpoint is given; scales follow PyTorch's defaults so
/// activations stay in a realistic range through deep models.
enum class WeightInit {
  kFanIn,        // conv/linear weight or bias: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))
  kNormWeight,   // LayerNorm/BatchNorm weight: uniform(0.9, 1.1) (~1, but not an identity)
  kNormBias,     // LayerNorm/BatchNorm bias: uniform(-0.1, 0.1)
  kRunningMean,  // BatchNorm running_mean: uniform(-0.1, 0.1)
  kRunningVar,   // BatchNorm running_var: uniform(0.5, 1.5)
  kEmbedding,    // embedding tables, class tokens, position embeddings: N(0, 0.02)
};

/// One parameter of a model: its state_dict key, type and generation rule.
struct WeightSpec {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  WeightInit init = WeightInit::kFanIn;
  int64_t fan_in = 1;  // kFanIn only: input features (in_channels * kh * kw for a conv)
};

/// The per-weight seed: FNV-1a 64 of `name` xor `seed`, so a weight's values depend only on its
/// name and the model seed, not on the order in which the model declares its weights.
uint64_t WeightSeed(std::string_view name, uint64_t seed);

/// Deterministic values for `spec` (generated in f32, then rounded to spec.dtype).
Tensor GenerateWeight(const WeightSpec& spec, uint64_t seed);

/// Checks `tensors` (e.g. a loaded checkpoint) against `specs` and returns the weights by name.
/// Every spec must be present (NotFound naming the weight) with the same shape and dtype
/// (InvalidArgument with expected vs actual); float data (f32/f16/bf16) is converted to the
/// spec's float dtype, so one f32 checkpoint serves f16 and bf16 models. Extra tensors (buffers
/// such as num_batches_tracked) are ignored. `source` (a path) prefixes error messages.
StatusOr<std::shared_ptr<TensorMap>> BindWeights(const std::vector<WeightSpec>& specs,
                                                 const TensorMap& tensors,
                                                 const std::string& source);

/// The weights for `specs`: loaded from the safetensors file at `weights_path` and bound with
/// BindWeights, or generated with GenerateWeight when `weights_path` is empty.
StatusOr<std::shared_ptr<TensorMap>> MaterializeWeights(const std::vector<WeightSpec>& specs,
                                                        const std::string& weights_path,
                                                        uint64_t seed);

}  // namespace kiln

#endif  // KILN_MODELS_WEIGHTS_H_
