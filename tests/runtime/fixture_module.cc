// TEST FIXTURE, not generated code: a hand-written model library that implements the kiln module
// C ABI (include/kiln/module_abi.h) so the runtime's loader and the ABI contract can be tested
// before code generation exists. The CPU backend will generate real module libraries later.
//
// The model: y = relu(x) * w + b with x: f32[N,4], N in [1, 8], and weights w: f32[4], b: f32[4]
// read from a safetensors file. Built four times (tests/CMakeLists.txt):
// - kiln_test_fixture_module: as described;
// - kiln_test_fixture_module_abi999: -DKILN_FIXTURE_ABI_VERSION=999, for the mismatch test;
// - kiln_test_fixture_module_residual: -DKILN_FIXTURE_RESIDUAL, a second input r: f32[N,4] added
//   to y (two inputs sharing the symbol N, for the binding-consistency tests);
// - kiln_test_fixture_module_old_cuda: -DKILN_FIXTURE_TARGET="cuda-sm90", a library that claims a
//   CUDA target but, like every fixture and like libraries from kilns before it, has no
//   kiln_instance_run_host (the host-run fallback's error test).
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "kiln/module_abi.h"
#include "support/safetensors.h"

#ifndef KILN_FIXTURE_ABI_VERSION
#define KILN_FIXTURE_ABI_VERSION KILN_MODULE_ABI_VERSION
#endif
#ifndef KILN_FIXTURE_TARGET
#define KILN_FIXTURE_TARGET "cpu"
#endif

struct kiln_module_instance {
  std::vector<float> w;
  std::vector<float> b;
  int64_t n = -1;  // -1 until kiln_instance_set_dims
};

namespace {

constexpr int64_t kFeatures = 4;
constexpr int64_t kMinN = 1;
constexpr int64_t kMaxN = 8;
const int64_t kRowDims[] = {-1, kFeatures};
const char* const kRowExprs[] = {"N", nullptr};

#ifdef KILN_FIXTURE_RESIDUAL
const char* const kInputNames[] = {"x", "r"};
#else
const char* const kInputNames[] = {"x"};
#endif
constexpr int kNumInputs = static_cast<int>(sizeof(kInputNames) / sizeof(kInputNames[0]));

thread_local std::string last_error;

int Fail(int code, std::string message) {
  last_error = std::move(message);
  return code;
}

// Runs `body` with every exception turned into an error code: none may cross the C ABI.
template <typename Body>
int Guard(Body&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Fail(KILN_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return Fail(KILN_ERR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return Fail(KILN_ERR_INTERNAL, "internal error: unknown exception");
  }
}

// Copies weight `name` (f32[4]) out of `weights`, checking it exists with the right type.
int ReadWeight(const std::string& path, const kiln::TensorMap& weights, const std::string& name,
               std::vector<float>* out) {
  auto it = weights.find(name);
  if (it == weights.end()) {
    return Fail(KILN_ERR_INVALID_ARGUMENT,
                "weights file " + path + ": missing tensor \"" + name + "\" (expected f32[4])");
  }
  const kiln::Tensor& t = it->second;
  if (t.dtype() != kiln::DType::kF32 || t.shape() != std::vector<int64_t>{kFeatures}) {
    return Fail(KILN_ERR_INVALID_ARGUMENT, "weights file " + path + ": tensor \"" + name +
                                               "\" is " + t.TypeString() + ", expected f32[4]");
  }
  *out = t.ToF32();
  return KILN_OK;
}

}  // namespace

extern "C" {

KILN_MODULE_EXPORT uint32_t kiln_module_abi_version(void) { return KILN_FIXTURE_ABI_VERSION; }

KILN_MODULE_EXPORT const char* kiln_module_target(void) { return KILN_FIXTURE_TARGET; }

KILN_MODULE_EXPORT int kiln_module_num_inputs(void) { return kNumInputs; }

KILN_MODULE_EXPORT int kiln_module_num_outputs(void) { return 1; }

KILN_MODULE_EXPORT int kiln_module_io_info(int is_output, int index, kiln_io_info* info) {
  if (info == nullptr) return Fail(KILN_ERR_INVALID_ARGUMENT, "kiln_module_io_info: info is NULL");
  int count = is_output ? 1 : kNumInputs;
  if (index < 0 || index >= count) {
    return Fail(KILN_ERR_OUT_OF_RANGE, std::string("kiln_module_io_info: no ") +
                                           (is_output ? "output " : "input ") +
                                           std::to_string(index));
  }
  info->name = is_output ? "y" : kInputNames[index];
  info->dtype = KILN_DTYPE_F32;
  info->rank = 2;
  info->dims = kRowDims;
  info->dim_exprs = kRowExprs;
  return KILN_OK;
}

KILN_MODULE_EXPORT int kiln_module_num_symbols(void) { return 1; }

KILN_MODULE_EXPORT int kiln_module_symbol_info(int i, const char** name, int64_t* min,
                                               int64_t* max) {
  if (i != 0)
    return Fail(KILN_ERR_OUT_OF_RANGE, "kiln_module_symbol_info: no symbol " + std::to_string(i));
  if (name == nullptr || min == nullptr || max == nullptr) {
    return Fail(KILN_ERR_INVALID_ARGUMENT, "kiln_module_symbol_info: NULL out-parameter");
  }
  *name = "N";
  *min = kMinN;
  *max = kMaxN;
  return KILN_OK;
}

KILN_MODULE_EXPORT int kiln_instance_create(const char* weights_path, kiln_instance_t* out) {
  return Guard([&] {
    if (out == nullptr) return Fail(KILN_ERR_INVALID_ARGUMENT, "kiln_instance_create: out is NULL");
    if (weights_path == nullptr) {
      return Fail(KILN_ERR_INVALID_ARGUMENT, "this module needs a weights file (w, b)");
    }
    auto weights = kiln::LoadSafetensors(weights_path);
    if (!weights.ok()) {
      // kiln::StatusCode and KILN_ERR_* share their numbers.
      return Fail(static_cast<int>(weights.status().code()), weights.status().message());
    }
    auto instance = std::make_unique<kiln_module_instance>();
    if (int rc = ReadWeight(weights_path, *weights, "w", &instance->w); rc != KILN_OK) return rc;
    if (int rc = ReadWeight(weights_path, *weights, "b", &instance->b); rc != KILN_OK) return rc;
    *out = instance.release();
    return KILN_OK;
  });
}

KILN_MODULE_EXPORT void kiln_instance_destroy(kiln_instance_t instance) { delete instance; }

KILN_MODULE_EXPORT int kiln_instance_set_dims(kiln_instance_t instance,
                                              const int64_t* symbol_values) {
  if (instance == nullptr || symbol_values == nullptr) {
    return Fail(KILN_ERR_INVALID_ARGUMENT, "kiln_instance_set_dims: NULL argument");
  }
  int64_t n = symbol_values[0];
  if (n < kMinN || n > kMaxN) {
    return Fail(KILN_ERR_OUT_OF_RANGE,
                "dynamic dim N = " + std::to_string(n) + " is outside its declared range [1, 8]");
  }
  instance->n = n;
  return KILN_OK;
}

KILN_MODULE_EXPORT int kiln_instance_output_shape(kiln_instance_t instance, int index,
                                                  int64_t* dims) {
  if (instance == nullptr || dims == nullptr) {
    return Fail(KILN_ERR_INVALID_ARGUMENT, "kiln_instance_output_shape: NULL argument");
  }
  if (index != 0) {
    return Fail(KILN_ERR_OUT_OF_RANGE,
                "kiln_instance_output_shape: no output " + std::to_string(index));
  }
  if (instance->n < 0) {
    return Fail(KILN_ERR_INVALID_ARGUMENT, "dynamic dims not set: call kiln_instance_set_dims");
  }
  dims[0] = instance->n;
  dims[1] = kFeatures;
  return KILN_OK;
}

KILN_MODULE_EXPORT int kiln_instance_run(kiln_instance_t instance, const void* const* inputs,
                                         void* const* outputs, void* stream) {
  if (instance == nullptr || inputs == nullptr || outputs == nullptr) {
    return Fail(KILN_ERR_INVALID_ARGUMENT, "kiln_instance_run: NULL argument");
  }
  if (stream != nullptr) {
    return Fail(KILN_ERR_INVALID_ARGUMENT, "kiln_instance_run: the cpu target takes no stream");
  }
  if (instance->n < 0) {
    return Fail(KILN_ERR_INVALID_ARGUMENT, "dynamic dims not set: call kiln_instance_set_dims");
  }
  const float* x = static_cast<const float*>(inputs[0]);
  float* y = static_cast<float*>(outputs[0]);
  for (int64_t i = 0; i < instance->n; ++i) {
    for (int64_t j = 0; j < kFeatures; ++j) {
      float v = x[i * kFeatures + j];
      float out = (v > 0.0f ? v : 0.0f) * instance->w[j] + instance->b[j];
#ifdef KILN_FIXTURE_RESIDUAL
      out += static_cast<const float*>(inputs[1])[i * kFeatures + j];
#endif
      y[i * kFeatures + j] = out;
    }
  }
  return KILN_OK;
}

KILN_MODULE_EXPORT const char* kiln_last_error(void) { return last_error.c_str(); }

}  // extern "C"
