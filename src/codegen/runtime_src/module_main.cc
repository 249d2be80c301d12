// The C ABI of a kiln model library (include/kiln/module_abi.h), implemented once for every
// model and target on top of the generated kiln_rt::kModel tables and the device hooks.
#include <cctype>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "kiln/module_abi.h"
#include "kiln_rt.h"
#include "weights_file.h"

using kiln_rt::kModel;

struct kiln_module_instance {
  kiln_rt::WeightsFile file;
  std::vector<const void*> weights;            // one per kModel.weights entry
  std::vector<kiln_rt::DeviceBuffer> copies;   // weights that had to be copied
  kiln_rt::DeviceBuffer workspace;
  std::vector<int64_t> sym;                    // current symbol values
  bool dims_set = false;
  kiln_rt::DeviceState* device_state = nullptr;  // the device hooks' (CUDA graphs)

  ~kiln_module_instance() {
    kiln_rt::DeviceStateFree(device_state);
    for (auto& c : copies) kiln_rt::DeviceFree(&c);
    kiln_rt::DeviceFree(&workspace);
  }
};

namespace kiln_rt {

namespace {
thread_local std::string last_error;
}  // namespace

int Fail(int code, std::string message) {
  last_error = std::move(message);
  return code;
}

}  // namespace kiln_rt

namespace {

using kiln_rt::Fail;

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

// Checks every weight the model needs against the file and binds it for the device.
int BindWeights(kiln_module_instance& inst) {
  const std::string& what = inst.file.description();
  inst.weights.assign(kModel.num_weights, nullptr);
  for (int i = 0; i < kModel.num_weights; ++i) {
    const kiln_rt::WeightDesc& w = kModel.weights[i];
    std::string expected = kiln_rt::TypeString(w.dtype, w.dims, w.rank);
    const kiln_rt::WeightEntry* e = inst.file.Find(w.name);
    if (e == nullptr) {
      return Fail(KILN_ERR_INVALID_ARGUMENT,
                  what + ": missing tensor \"" + std::string(w.name) + "\" (expected " + expected + ")");
    }
    bool same = e->dtype == w.dtype && static_cast<int>(e->shape.size()) == w.rank;
    for (int d = 0; same && d < w.rank; ++d) same = e->shape[d] == w.dims[d];
    if (!same) {
      std::string got = e->dtype >= 0 ? kiln_rt::TypeString(e->dtype, e->shape.data(),
                                                              static_cast<int>(e->shape.size()))
                                      : e->dtype_name + " (unsupported dtype)";
      return Fail(KILN_ERR_INVALID_ARGUMENT, what + ": tensor \"" + std::string(w.name) + "\" is " +
                                                 got + ", expected " + expected);
    }
    kiln_rt::DeviceBuffer copy;
    int rc = kiln_rt::DeviceBindWeight(e->data, e->bytes, kiln_rt::DTypeSize(w.dtype),
                                       &inst.weights[i], &copy);
    if (rc != KILN_OK) return rc;
    if (copy.ptr != nullptr) inst.copies.push_back(copy);
  }
  return KILN_OK;
}

// The checks kiln_instance_run and kiln_instance_run_host share; `fn` names the caller.
int CheckRunArgs(const char* fn, kiln_instance_t instance, const void* const* inputs,
                 void* const* outputs) {
  const std::string f = fn;
  if (instance == nullptr) return Fail(KILN_ERR_INVALID_ARGUMENT, f + ": instance is NULL");
  if (!instance->dims_set) {
    return Fail(KILN_ERR_INVALID_ARGUMENT,
                f + ": the dynamic dims are not set (call kiln_instance_set_dims)");
  }
  if ((kModel.num_inputs > 0 && inputs == nullptr) ||
      (kModel.num_outputs > 0 && outputs == nullptr)) {
    return Fail(KILN_ERR_INVALID_ARGUMENT, f + ": inputs or outputs is NULL");
  }
  for (int i = 0; i < kModel.num_inputs; ++i) {
    if (inputs[i] == nullptr) {
      return Fail(KILN_ERR_INVALID_ARGUMENT, f + ": input " + std::to_string(i) + " (\"" +
                                                 kModel.inputs[i].name + "\") is NULL");
    }
  }
  for (int i = 0; i < kModel.num_outputs; ++i) {
    if (outputs[i] == nullptr) {
      return Fail(KILN_ERR_INVALID_ARGUMENT, f + ": output " + std::to_string(i) + " (\"" +
                                                 kModel.outputs[i].name + "\") is NULL");
    }
  }
  return KILN_OK;
}

// Grows the instance's workspace to what a run with its symbol values needs (a workspace that
// scales with a symbol is allocated at the first run and regrown for a larger value, never
// shrunk; a static one was allocated with the instance). The old buffer is freed first, which
// waits for the device's queued work on CUDA targets (cudaFree synchronises). CUDA graphs
// captured with the old buffer stay valid: their key holds its address, and only a buffer at
// least as large can come back at that address.
int EnsureWorkspace(kiln_module_instance& instance) {
  const int64_t needed = kiln_rt::WorkspaceBytes(instance.sym.data());
  if (static_cast<int64_t>(instance.workspace.bytes) >= needed) return KILN_OK;
  kiln_rt::DeviceFree(&instance.workspace);
  return kiln_rt::DeviceAllocate(static_cast<size_t>(needed), &instance.workspace);
}

kiln_rt::RunArgs MakeRunArgs(const kiln_module_instance& instance, const void* const* inputs,
                             void* const* outputs, void* stream) {
  return kiln_rt::RunArgs{instance.sym.empty() ? nullptr : instance.sym.data(),
                          static_cast<char*>(instance.workspace.ptr), inputs, outputs,
                          instance.weights.empty() ? nullptr : instance.weights.data(), stream};
}

// Evaluates a dim expression in kiln's canonical text (kiln_io_info::dim_exprs: terms joined by
// + and -, each a product of integers and symbol names joined by *) under the symbol values
// `sym` (kModel.symbols order) into `*value`; KILN_ERR_INTERNAL for text it cannot read.
int EvaluateDimExpr(const char* text, const int64_t* sym, int64_t* value) {
  auto bad = [&](const std::string& why) {
    return Fail(KILN_ERR_INTERNAL,
                "malformed dim expression \"" + std::string(text) + "\": " + why);
  };
  const std::string t = text;
  auto ident_start = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
  auto ident_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  size_t pos = 0;
  int64_t sum = 0, sign = 1;
  auto skip = [&] { while (pos < t.size() && t[pos] == ' ') ++pos; };
  skip();
  if (pos < t.size() && (t[pos] == '-' || t[pos] == '+')) sign = t[pos++] == '-' ? -1 : 1;
  while (true) {
    int64_t product = sign;
    while (true) {  // one term: factors joined by '*'
      skip();
      int64_t factor = 0;
      if (pos < t.size() && std::isdigit(static_cast<unsigned char>(t[pos]))) {
        while (pos < t.size() && std::isdigit(static_cast<unsigned char>(t[pos]))) {
          factor = factor * 10 + (t[pos++] - '0');
        }
      } else if (pos < t.size() && ident_start(t[pos])) {
        size_t begin = pos;
        while (pos < t.size() && ident_char(t[pos])) ++pos;
        std::string name = t.substr(begin, pos - begin);
        int k = 0;
        while (k < kModel.num_symbols && name != kModel.symbols[k].name) ++k;
        if (k == kModel.num_symbols) return bad("unknown symbol " + name);
        factor = sym[k];
      } else {
        return bad("expected a number or a symbol at column " + std::to_string(pos + 1));
      }
      product *= factor;
      skip();
      if (pos < t.size() && t[pos] == '*') {
        ++pos;
        continue;
      }
      break;
    }
    sum += product;
    if (pos == t.size()) break;
    if (t[pos] != '+' && t[pos] != '-') {
      return bad("expected +, - or * at column " + std::to_string(pos + 1));
    }
    sign = t[pos++] == '-' ? -1 : 1;
  }
  *value = sum;
  return KILN_OK;
}

// The byte size of input `d` under the symbol values `sym`.
int TensorBytes(const kiln_rt::IoDesc& d, const int64_t* sym, size_t* bytes) {
  size_t n = kiln_rt::DTypeSize(d.dtype);
  for (int a = 0; a < d.rank; ++a) {
    int64_t v = d.dims[a];
    if (v < 0) {
      if (d.dim_exprs == nullptr || d.dim_exprs[a] == nullptr) {
        return Fail(KILN_ERR_INTERNAL, "input \"" + std::string(d.name) + "\" dim " +
                                           std::to_string(a) + " has no size and no expression");
      }
      if (int rc = EvaluateDimExpr(d.dim_exprs[a], sym, &v); rc != KILN_OK) return rc;
    }
    n *= static_cast<size_t>(v < 0 ? 0 : v);
  }
  *bytes = n;
  return KILN_OK;
}

}  // namespace

extern "C" {

KILN_MODULE_EXPORT uint32_t kiln_module_abi_version(void) { return KILN_MODULE_ABI_VERSION; }

KILN_MODULE_EXPORT const char* kiln_module_target(void) { return kModel.target; }

KILN_MODULE_EXPORT int kiln_module_num_inputs(void) { return kModel.num_inputs; }

KILN_MODULE_EXPORT int kiln_module_num_outputs(void) { return kModel.num_outputs; }

KILN_MODULE_EXPORT int kiln_module_io_info(int is_output, int index, kiln_io_info* info) {
  if (info == nullptr) return Fail(KILN_ERR_INVALID_ARGUMENT, "kiln_module_io_info: info is NULL");
  int n = is_output ? kModel.num_outputs : kModel.num_inputs;
  if (index < 0 || index >= n) {
    return Fail(KILN_ERR_OUT_OF_RANGE, std::string("kiln_module_io_info: ") +
                                           (is_output ? "output" : "input") + " index " +
                                           std::to_string(index) + " not in [0, " +
                                           std::to_string(n) + ")");
  }
  const kiln_rt::IoDesc& d = is_output ? kModel.outputs[index] : kModel.inputs[index];
  info->name = d.name;
  info->dtype = d.dtype;
  info->rank = d.rank;
  info->dims = d.dims;
  info->dim_exprs = d.dim_exprs;
  return KILN_OK;
}

KILN_MODULE_EXPORT int kiln_module_num_symbols(void) { return kModel.num_symbols; }

KILN_MODULE_EXPORT int kiln_module_symbol_info(int i, const char** name, int64_t* min,
                                               int64_t* max) {
  if (i < 0 || i >= kModel.num_symbols) {
    return Fail(KILN_ERR_OUT_OF_RANGE, "kiln_module_symbol_info: symbol index " +
                                           std::to_string(i) + " not in [0, " +
                                           std::to_string(kModel.num_symbols) + ")");
  }
  if (name == nullptr || min == nullptr || max == nullptr) {
    return Fail(KILN_ERR_INVALID_ARGUMENT, "kiln_module_symbol_info: a result pointer is NULL");
  }
  *name = kModel.symbols[i].name;
  *min = kModel.symbols[i].min;
  *max = kModel.symbols[i].max;
  return KILN_OK;
}

KILN_MODULE_EXPORT int kiln_instance_create(const char* weights_path, kiln_instance_t* out) {
  return Guard([&] {
    if (out == nullptr) return Fail(KILN_ERR_INVALID_ARGUMENT, "kiln_instance_create: out is NULL");
    auto inst = std::make_unique<kiln_module_instance>();
    int rc = KILN_OK;
    if (weights_path != nullptr && weights_path[0] != '\0') {
      rc = inst->file.Open(weights_path);
    } else if (kModel.embedded_weights != nullptr) {
      rc = inst->file.OpenMemory(kModel.embedded_weights, kModel.embedded_weights_size,
                                 "embedded weights");
    } else if (kModel.num_weights > 0) {
      rc = Fail(KILN_ERR_INVALID_ARGUMENT,
                "kiln_instance_create: this model needs a weights file (" +
                    std::to_string(kModel.num_weights) +
                    " weights, none embedded) but weights_path is empty");
    }
    if (rc != KILN_OK) return rc;
    if ((rc = BindWeights(*inst)) != KILN_OK) return rc;
    inst->sym.assign(kModel.num_symbols, 0);
    // A static workspace now (an allocation failure shows at creation); a scaling one at the
    // first run, for its symbol value.
    if (kModel.workspace_symbol < 0 && (rc = EnsureWorkspace(*inst)) != KILN_OK) return rc;
    inst->dims_set = kModel.num_symbols == 0;
    *out = inst.release();
    return KILN_OK;
  });
}

KILN_MODULE_EXPORT void kiln_instance_destroy(kiln_instance_t instance) { delete instance; }

KILN_MODULE_EXPORT int kiln_instance_set_dims(kiln_instance_t instance,
                                              const int64_t* symbol_values) {
  if (instance == nullptr) return Fail(KILN_ERR_INVALID_ARGUMENT, "kiln_instance_set_dims: instance is NULL");
  if (kModel.num_symbols == 0) return KILN_OK;
  if (symbol_values == nullptr) {
    return Fail(KILN_ERR_INVALID_ARGUMENT, "kiln_instance_set_dims: symbol_values is NULL but the model has " +
                                               std::to_string(kModel.num_symbols) + " symbols");
  }
  for (int i = 0; i < kModel.num_symbols; ++i) {
    const kiln_rt::SymbolDesc& s = kModel.symbols[i];
    if (symbol_values[i] < s.min || symbol_values[i] > s.max) {
      return Fail(KILN_ERR_OUT_OF_RANGE, "dynamic dim " + std::string(s.name) + " = " +
                                             std::to_string(symbol_values[i]) +
                                             " is outside its range [" + std::to_string(s.min) +
                                             ", " + std::to_string(s.max) + "]");
    }
  }
  instance->sym.assign(symbol_values, symbol_values + kModel.num_symbols);
  instance->dims_set = true;
  return KILN_OK;
}

KILN_MODULE_EXPORT int kiln_instance_output_shape(kiln_instance_t instance, int index,
                                                  int64_t* dims) {
  if (instance == nullptr) {
    return Fail(KILN_ERR_INVALID_ARGUMENT, "kiln_instance_output_shape: instance is NULL");
  }
  if (index < 0 || index >= kModel.num_outputs) {
    return Fail(KILN_ERR_OUT_OF_RANGE, "kiln_instance_output_shape: output index " +
                                           std::to_string(index) + " not in [0, " +
                                           std::to_string(kModel.num_outputs) + ")");
  }
  if (dims == nullptr && kModel.outputs[index].rank > 0) {  // a scalar output needs no room
    return Fail(KILN_ERR_INVALID_ARGUMENT, "kiln_instance_output_shape: dims is NULL");
  }
  if (!instance->dims_set) {
    return Fail(KILN_ERR_INVALID_ARGUMENT,
                "kiln_instance_output_shape: the dynamic dims are not set (call kiln_instance_set_dims)");
  }
  kModel.output_shape(index, instance->sym.data(), dims);
  return KILN_OK;
}

KILN_MODULE_EXPORT int kiln_instance_run(kiln_instance_t instance, const void* const* inputs,
                                         void* const* outputs, void* stream) {
  return Guard([&] {
    if (int rc = CheckRunArgs("kiln_instance_run", instance, inputs, outputs); rc != KILN_OK) {
      return rc;
    }
    if (std::string(kModel.target) == "cpu" && stream != nullptr) {
      return Fail(KILN_ERR_INVALID_ARGUMENT, "kiln_instance_run: stream must be NULL on the cpu target");
    }
    if (int rc = EnsureWorkspace(*instance); rc != KILN_OK) return rc;
    return kiln_rt::DeviceRun(&instance->device_state,
                              MakeRunArgs(*instance, inputs, outputs, stream));
  });
}

KILN_MODULE_EXPORT int kiln_instance_run_host(kiln_instance_t instance, const void* const* inputs,
                                              void* const* outputs) {
  return Guard([&] {
    if (int rc = CheckRunArgs("kiln_instance_run_host", instance, inputs, outputs); rc != KILN_OK) {
      return rc;
    }
    std::vector<size_t> input_bytes(kModel.num_inputs), output_bytes(kModel.num_outputs);
    for (int i = 0; i < kModel.num_inputs; ++i) {
      int rc = TensorBytes(kModel.inputs[i], instance->sym.data(), &input_bytes[i]);
      if (rc != KILN_OK) return rc;
    }
    std::vector<int64_t> dims;
    for (int i = 0; i < kModel.num_outputs; ++i) {
      const kiln_rt::IoDesc& d = kModel.outputs[i];
      dims.assign(d.rank, 0);
      kModel.output_shape(i, instance->sym.data(), dims.data());
      size_t n = kiln_rt::DTypeSize(d.dtype);
      for (int64_t v : dims) n *= static_cast<size_t>(v < 0 ? 0 : v);
      output_bytes[i] = n;
    }
    if (int rc = EnsureWorkspace(*instance); rc != KILN_OK) return rc;
    return kiln_rt::DeviceRunHost(&instance->device_state,
                                  MakeRunArgs(*instance, inputs, outputs, nullptr),
                                  input_bytes.data(), output_bytes.data());
  });
}

KILN_MODULE_EXPORT const char* kiln_last_error(void) { return kiln_rt::last_error.c_str(); }

}  // extern "C"
