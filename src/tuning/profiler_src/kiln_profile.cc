// kiln_profile: times compiled model libraries on the GPU, for the tuner (src/tuning). Shipped as
// source and built by `kiln compile` with nvcc on first use (cached like every object).
//
//   kiln_profile [--warmup N] [--target-ms T] LIB SYM=V[,SYM=V...] [LIB SYM=V,...]...
//
// For each (library, symbol values) pair: loads the library through its C ABI
// (include/kiln/module_abi.h), creates an instance without weights, binds the dims, allocates
// its inputs (filled with small values) and outputs on the device, runs N warm-up runs, then
// times batches of runs with CUDA events on a private stream (batch size chosen so a batch lasts
// about T ms, five batches, the fastest batch's mean kept: the least disturbed measurement).
// Prints one line per pair:  `ok <microseconds per run>`  or  `error <message>`, in order; exit
// code 0 unless the arguments are malformed. A library that fails (e.g. a config that does not
// run on this GPU) is reported and the next one runs.
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "kiln/module_abi.h"

namespace {

struct Abi {
  uint32_t (*abi_version)();
  int (*num_inputs)();
  int (*num_outputs)();
  int (*io_info)(int, int, kiln_io_info*);
  int (*num_symbols)();
  int (*symbol_info)(int, const char**, int64_t*, int64_t*);
  int (*create)(const char*, kiln_instance_t*);
  void (*destroy)(kiln_instance_t);
  int (*set_dims)(kiln_instance_t, const int64_t*);
  int (*output_shape)(kiln_instance_t, int, int64_t*);
  int (*run)(kiln_instance_t, const void* const*, void* const*, void*);
  const char* (*last_error)();
};

template <typename F>
bool Resolve(void* lib, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  return *out != nullptr;
}

bool Load(void* lib, Abi* a) {
  return Resolve(lib, "kiln_module_abi_version", &a->abi_version) &&
         Resolve(lib, "kiln_module_num_inputs", &a->num_inputs) &&
         Resolve(lib, "kiln_module_num_outputs", &a->num_outputs) &&
         Resolve(lib, "kiln_module_io_info", &a->io_info) &&
         Resolve(lib, "kiln_module_num_symbols", &a->num_symbols) &&
         Resolve(lib, "kiln_module_symbol_info", &a->symbol_info) &&
         Resolve(lib, "kiln_instance_create", &a->create) &&
         Resolve(lib, "kiln_instance_destroy", &a->destroy) &&
         Resolve(lib, "kiln_instance_set_dims", &a->set_dims) &&
         Resolve(lib, "kiln_instance_output_shape", &a->output_shape) &&
         Resolve(lib, "kiln_instance_run", &a->run) &&
         Resolve(lib, "kiln_last_error", &a->last_error);
}

// Value of kiln's canonical dim text ("N", "K*8", "N*S*12+3", "seq-1") under `sym`; -1 when a
// symbol is unknown.
int64_t EvalDim(const std::string& text, const std::map<std::string, int64_t>& sym) {
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t sign = 1;
    if (text[i] == '+' || text[i] == '-') sign = text[i++] == '-' ? -1 : 1;
    int64_t term = 1;
    while (i < text.size() && text[i] != '+' && text[i] != '-') {
      size_t end = text.find('*', i);
      size_t stop = std::min(end == std::string::npos ? text.size() : end,
                             std::min(text.find('+', i), text.find('-', i)));
      const std::string factor = text.substr(i, stop - i);
      if (!factor.empty() && std::isdigit(static_cast<unsigned char>(factor[0]))) {
        term *= std::stoll(factor);
      } else {
        auto it = sym.find(factor);
        if (it == sym.end()) return -1;
        term *= it->second;
      }
      i = stop;
      if (i < text.size() && text[i] == '*') ++i;
    }
    total += sign * term;
  }
  return total;
}

size_t DTypeBytes(int dtype) {
  switch (dtype) {
    case KILN_DTYPE_F32: case KILN_DTYPE_I32: return 4;
    case KILN_DTYPE_I64: return 8;
    case KILN_DTYPE_I8: case KILN_DTYPE_U8: case KILN_DTYPE_BOOL:
    case KILN_DTYPE_F8E4M3: case KILN_DTYPE_F8E5M2: return 1;
    default: return 2;  // f16, bf16
  }
}

// Times one (library, dims) pair; returns microseconds per run or sets `error`.
double Profile(const std::string& path, const std::string& dims_text, int warmup, double target_ms,
               std::string* error) {
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return *error = std::string("dlopen: ") + dlerror(), 0;
  Abi a{};
  if (!Load(lib, &a) || a.abi_version() != KILN_MODULE_ABI_VERSION) {
    dlclose(lib);
    return *error = "not a kiln module of ABI version " + std::to_string(KILN_MODULE_ABI_VERSION), 0;
  }
  std::map<std::string, int64_t> sym;
  for (size_t start = 0; start < dims_text.size();) {
    size_t comma = dims_text.find(',', start);
    if (comma == std::string::npos) comma = dims_text.size();
    const std::string item = dims_text.substr(start, comma - start);
    const size_t eq = item.find('=');
    if (eq != std::string::npos) sym[item.substr(0, eq)] = std::stoll(item.substr(eq + 1));
    start = comma + 1;
  }
  std::vector<int64_t> values(a.num_symbols());
  for (int s = 0; s < a.num_symbols(); ++s) {
    const char* name = nullptr;
    int64_t lo = 0, hi = 0;
    a.symbol_info(s, &name, &lo, &hi);
    auto it = sym.find(name);
    if (it == sym.end()) return *error = std::string("no value for symbol ") + name, 0;
    values[s] = it->second;
  }
  kiln_instance_t inst = nullptr;
  std::vector<void*> buffers;
  double result = 0;
  auto fail = [&](const std::string& what) { *error = what + ": " + a.last_error(); };
  if (a.create(nullptr, &inst) != KILN_OK) {
    fail("create");
  } else if (a.set_dims(inst, values.empty() ? nullptr : values.data()) != KILN_OK) {
    fail("set_dims");
  } else {
    std::vector<const void*> in;
    std::vector<void*> out;
    bool ok = true;
    for (int is_out = 0; is_out < 2 && ok; ++is_out) {
      const int n = is_out ? a.num_outputs() : a.num_inputs();
      for (int i = 0; i < n && ok; ++i) {
        kiln_io_info info{};
        a.io_info(is_out, i, &info);
        size_t bytes = DTypeBytes(info.dtype);
        for (int d = 0; d < info.rank; ++d) {
          const int64_t v = info.dims[d] >= 0 ? info.dims[d] : EvalDim(info.dim_exprs[d], sym);
          if (v < 0) ok = false;
          bytes *= static_cast<size_t>(std::max<int64_t>(v, 0));
        }
        void* p = nullptr;
        if (!ok || cudaMalloc(&p, std::max<size_t>(bytes, 1)) != cudaSuccess) {
          ok = false;
          *error = "allocating " + std::string(info.name);
          break;
        }
        cudaMemset(p, is_out ? 0 : 0x11, bytes);  // 0x1111: small f16/bf16 values
        buffers.push_back(p);
        if (is_out) out.push_back(p); else in.push_back(p);
      }
    }
    cudaStream_t stream = nullptr;
    cudaEvent_t e0 = nullptr, e1 = nullptr;
    if (ok) {
      cudaStreamCreate(&stream);
      cudaEventCreate(&e0);
      cudaEventCreate(&e1);
      auto run = [&] { return a.run(inst, in.data(), out.data(), stream) == KILN_OK; };
      for (int i = 0; i < std::max(warmup, 1) && ok; ++i) ok = run();
      if (!ok) fail("run");
      // One timed run sizes the batches.
      float ms = 0;
      if (ok) {
        cudaEventRecord(e0, stream);
        ok = run();
        cudaEventRecord(e1, stream);
        cudaEventSynchronize(e1);
        cudaEventElapsedTime(&ms, e0, e1);
      }
      const int batch = std::clamp(static_cast<int>(target_ms / std::max(ms, 1e-3f)), 1, 1000);
      double best = 1e30;
      for (int rep = 0; rep < 5 && ok; ++rep) {
        cudaEventRecord(e0, stream);
        for (int i = 0; i < batch && ok; ++i) ok = run();
        cudaEventRecord(e1, stream);
        cudaEventSynchronize(e1);
        cudaEventElapsedTime(&ms, e0, e1);
        best = std::min(best, 1000.0 * ms / batch);
      }
      if (!ok && error->empty()) fail("run");
      const cudaError_t err = cudaStreamSynchronize(stream);
      if (err != cudaSuccess && error->empty()) *error = cudaGetErrorString(err);
      if (ok && error->empty()) result = best;
      cudaEventDestroy(e0);
      cudaEventDestroy(e1);
      cudaStreamDestroy(stream);
    }
  }
  for (void* p : buffers) cudaFree(p);
  if (inst != nullptr) a.destroy(inst);
  // The library stays loaded: a CUDA module unloaded while the context lives is fine either way,
  // and this keeps its kernels' static state valid until exit.
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  int warmup = 3;
  double target_ms = 2.0;
  std::vector<std::pair<std::string, std::string>> jobs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--warmup" && i + 1 < argc) {
      warmup = std::atoi(argv[++i]);
    } else if (arg == "--target-ms" && i + 1 < argc) {
      target_ms = std::atof(argv[++i]);
    } else if (i + 1 < argc) {
      jobs.emplace_back(arg, argv[++i]);
    } else {
      std::fprintf(stderr, "usage: kiln_profile [--warmup N] [--target-ms T] LIB SYM=V,... ...\n");
      return 2;
    }
  }
  for (const auto& [lib, dims] : jobs) {
    std::string error;
    const double us = Profile(lib, dims, warmup, target_ms, &error);
    if (error.empty()) {
      std::printf("ok %.3f\n", us);
    } else {
      for (char& c : error) c = c == '\n' ? ' ' : c;
      std::printf("error %s\n", error.c_str());
    }
    std::fflush(stdout);
  }
  return 0;
}
