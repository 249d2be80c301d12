// The C++ runtime API: load a compiled kiln model library (include/kiln/module_abi.h) and run it.
//
//   KILN_ASSIGN_OR_RETURN(auto module, kiln::Module::Load("out/model.so"));
//   KILN_ASSIGN_OR_RETURN(auto instance, module->CreateInstance("out/model.safetensors"));
//   std::vector<kiln::Tensor> outputs;
//   KILN_RETURN_IF_ERROR(instance->Run({x}, &outputs));
//
// A Module is the loaded library (shared; it stays loaded while any Module pointer or Instance
// lives). An Instance owns the module's weights and workspace; use one per thread or stream.
// Every failure of the library comes back as a Status carrying its kiln_last_error() text.
#ifndef KILN_MODULE_H_
#define KILN_MODULE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kiln/module_abi.h"
#include "kiln/status.h"
#include "support/dtype.h"
#include "support/tensor.h"

namespace kiln {

class DimExpr;
class Instance;

/// One input or output of a module.
struct IoInfo {
  std::string name;
  DType dtype = DType::kF32;
  /// Per dim: the static size ("4") or the symbolic expression ("N", "S*12").
  std::vector<std::string> dims;
  /// Per dim: the static size, or -1 where the dim is symbolic.
  std::vector<int64_t> static_dims;

  int64_t rank() const { return static_cast<int64_t>(dims.size()); }
  /// "f32[N,4]".
  std::string TypeString() const;
};

/// A dynamic-dim symbol and its inclusive range.
struct SymbolInfo {
  std::string name;
  int64_t min = 0;
  int64_t max = 0;
};

/// A loaded model library. Thread-safe: all methods may be called concurrently.
class Module : public std::enable_shared_from_this<Module> {
 public:
  /// dlopen()s `path` (RTLD_NOW | RTLD_LOCAL), checks its ABI version and reads its interface.
  /// NotFound for a missing file; InvalidArgument for a file that is not a loadable shared
  /// library (with the loader's text), a library that is not a kiln module, or one built for
  /// another ABI version; InternalError for a module whose interface is malformed.
  static StatusOr<std::shared_ptr<Module>> Load(const std::string& path);
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& path() const { return path_; }
  /// "cpu", "cuda-sm90", ...
  const std::string& target() const { return target_; }
  const std::vector<IoInfo>& inputs() const { return inputs_; }
  const std::vector<IoInfo>& outputs() const { return outputs_; }
  /// In the order kiln_instance_set_dims takes their values.
  const std::vector<SymbolInfo>& symbols() const { return symbols_; }

  /// Creates an instance with the weights from the safetensors file `weights_path` (empty: the
  /// library's embedded weights). Errors (missing file, wrong tensors) come from the library.
  StatusOr<std::unique_ptr<Instance>> CreateInstance(const std::string& weights_path);

 private:
  friend class Instance;
  // The library's functions, resolved once by Load.
  struct Api {
    int (*io_info)(int, int, kiln_io_info*) = nullptr;
    int (*symbol_info)(int, const char**, int64_t*, int64_t*) = nullptr;
    int (*instance_create)(const char*, kiln_instance_t*) = nullptr;
    void (*instance_destroy)(kiln_instance_t) = nullptr;
    int (*instance_set_dims)(kiln_instance_t, const int64_t*) = nullptr;
    int (*instance_output_shape)(kiln_instance_t, int, int64_t*) = nullptr;
    int (*instance_run)(kiln_instance_t, const void* const*, void* const*, void*) = nullptr;
    // Optional (null in libraries from kilns before it): kiln_instance_run_host.
    int (*instance_run_host)(kiln_instance_t, const void* const*, void* const*) = nullptr;
    const char* (*last_error)() = nullptr;
  };

  Module() = default;
  Status ReadInterface();
  // Turns a nonzero ABI return code into a Status with the library's kiln_last_error() text,
  // prefixed by `what` (e.g. "creating an instance").
  Status AbiError(int code, const std::string& what) const;

  std::string path_;
  void* handle_ = nullptr;
  Api api_;
  std::string target_;
  std::vector<IoInfo> inputs_;
  std::vector<IoInfo> outputs_;
  std::vector<SymbolInfo> symbols_;
  // The parsed IoInfo::dims of inputs_ (same indices; null for a static dim).
  std::vector<std::vector<std::shared_ptr<const DimExpr>>> input_exprs_;
};

/// A module's weights and workspace (a workspace that scales with a dynamic batch is allocated at
/// the first run and regrown for a larger batch; see kiln_instance_run). Not thread-safe: one
/// thread (and stream) at a time; distinct instances may run concurrently.
class Instance {
 public:
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  const Module& module() const { return *module_; }

  /// Host convenience for every target: checks the inputs against the module's declared dtypes
  /// and shapes, binds the dynamic dims from the input shapes (checking their ranges), allocates
  /// the outputs and runs synchronously through RunHost. Errors name the input, expected vs
  /// actual.
  Status Run(const std::vector<Tensor>& inputs, std::vector<Tensor>* outputs);

  /// The symbol values (in Module::symbols() order) implied by `inputs`' shapes, after checking
  /// dtypes, ranks, static dims, consistency and ranges as Run does.
  StatusOr<std::vector<int64_t>> BindDims(const std::vector<Tensor>& inputs) const;
  /// Binds the dynamic dims for OutputShape and RunRaw (kiln_instance_set_dims).
  Status SetDims(const std::vector<int64_t>& symbol_values);
  /// The shape of output `index` under the current dims.
  StatusOr<std::vector<int64_t>> OutputShape(int index);
  /// Runs on raw pointers (device pointers and a cudaStream_t on a CUDA target) under the dims
  /// set by SetDims; the caller guarantees the buffers' dtypes and shapes.
  Status RunRaw(std::span<const void* const> inputs, std::span<void* const> outputs, void* stream);
  /// Runs on host pointers under the dims set by SetDims, synchronously, on any target
  /// (kiln_instance_run_host: a CUDA module copies the inputs to device buffers the instance
  /// keeps, runs on its own stream and copies the outputs back, so timings include the copies).
  /// The caller guarantees the buffers' dtypes and shapes. Unimplemented for a CUDA library built
  /// by a kiln without kiln_instance_run_host; CudaError when the run cannot use the GPU.
  Status RunHost(std::span<const void* const> inputs, std::span<void* const> outputs);

 private:
  friend class Module;
  Instance(std::shared_ptr<Module> module, kiln_instance_t handle)
      : module_(std::move(module)), handle_(handle) {}

  std::shared_ptr<Module> module_;  // keeps the library loaded while the instance lives
  kiln_instance_t handle_ = nullptr;
};

}  // namespace kiln

#endif  // KILN_MODULE_H_
