#include "models/weights.h"

#include <cmath>
#include <numbers>

#include "ir/type.h"
#include "support/safetensors.h"

namespace kiln {
namespace {

// splitmix64: tiny, fast and fully specified, so every platform generates the same weights
// (std:: distributions are implementation-defined).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Box-Muller; uses one pair of uniforms per call (simplicity over speed).
  double Normal(double stddev) {
    double u1 = 1.0 - Uniform();  // (0, 1]: log is finite
    double u2 = Uniform();
    return stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  uint64_t state_;
};

std::string TypeText(DType dtype, const std::vector<int64_t>& shape) {
  return TensorType{dtype, StaticShape(shape)}.ToString();
}

bool IsConvertibleFloat(DType d) {
  return d == DType::kF32 || d == DType::kF16 || d == DType::kBF16;
}

}  // namespace

uint64_t WeightSeed(std::string_view name, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : name) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h ^ seed;
}

Tensor GenerateWeight(const WeightSpec& spec, uint64_t seed) {
  Rng rng(WeightSeed(spec.name, seed));
  int64_t n = 1;
  for (int64_t d : spec.shape) n *= d;
  std::vector<float> v(n);
  switch (spec.init) {
    case WeightInit::kFanIn: {
      double bound = 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(spec.fan_in, 1)));
      for (float& x : v) x = static_cast<float>(rng.Uniform(-bound, bound));
      break;
    }
    case WeightInit::kNormWeight:
      for (float& x : v) x = static_cast<float>(rng.Uniform(0.9, 1.1));
      break;
    case WeightInit::kNormBias:
    case WeightInit::kRunningMean:
      for (float& x : v) x = static_cast<float>(rng.Uniform(-0.1, 0.1));
      break;
    case WeightInit::kRunningVar:
      for (float& x : v) x = static_cast<float>(rng.Uniform(0.5, 1.5));
      break;
    case WeightInit::kEmbedding:
      for (float& x : v) x = static_cast<float>(rng.Normal(0.02));
      break;
  }
  return Tensor::FromF32(spec.dtype, spec.shape, v);
}

StatusOr<std::shared_ptr<TensorMap>> BindWeights(const std::vector<WeightSpec>& specs,
                                                 const TensorMap& tensors,
                                                 const std::string& source) {
  auto out = std::make_shared<TensorMap>();
  for (const WeightSpec& spec : specs) {
    std::string expected = TypeText(spec.dtype, spec.shape);
    auto it = tensors.find(spec.name);
    if (it == tensors.end()) {
      return NotFound(source + ": weight '" + spec.name + "' (expected " + expected +
                      ") not found");
    }
    const Tensor& t = it->second;
    bool dtype_ok = t.dtype() == spec.dtype ||
                    (IsConvertibleFloat(t.dtype()) && IsConvertibleFloat(spec.dtype));
    if (t.shape() != spec.shape || !dtype_ok) {
      return InvalidArgument(source + ": weight '" + spec.name + "': expected " + expected +
                             ", got " + t.TypeString());
    }
    if (t.dtype() == spec.dtype) {
      (*out)[spec.name] = t;  // shares the (possibly memory-mapped) buffer
    } else {
      std::vector<float> v = t.ToF32();
      (*out)[spec.name] = Tensor::FromF32(spec.dtype, spec.shape, v);
    }
  }
  return out;
}

StatusOr<std::shared_ptr<TensorMap>> MaterializeWeights(const std::vector<WeightSpec>& specs,
                                                        const std::string& weights_path,
                                                        uint64_t seed) {
  if (!weights_path.empty()) {
    KILN_ASSIGN_OR_RETURN(TensorMap file, LoadSafetensors(weights_path));
    return BindWeights(specs, file, weights_path);
  }
  auto out = std::make_shared<TensorMap>();
  for (const WeightSpec& spec : specs) (*out)[spec.name] = GenerateWeight(spec, seed);
  return out;
}

}  // namespace kiln
