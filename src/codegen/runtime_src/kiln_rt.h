// kiln_rt: the target-independent part of every compiled model library.
//
// A model library is built from three kinds of sources:
//   - the generated model.cc: tables describing the model (ModelDesc below) and Run(), which
//     calls one generated kernel per node with pointers into the inputs, outputs, weights and
//     the workspace;
//   - the generated kernels/kernel_N.cc files (one per distinct kernel);
//   - these runtime sources, shipped with kiln: module_main.cc implements the C ABI of
//     include/kiln/module_abi.h on top of ModelDesc, weights_file.cc reads safetensors, and one
//     device_* per target (cpu/runtime_src/device_host.cc, cuda/runtime_src/device_cuda.cu)
//     allocates memory and binds weights (host or GPU).
// Nothing here depends on kiln's compiler sources: a model library builds from these files, the
// generated ones and include/kiln/module_abi.h alone.
#ifndef KILN_RT_H_
#define KILN_RT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln_rt {

/// An input or output (the fields of kiln_io_info).
struct IoDesc {
  const char* name;
  int dtype;  // KILN_DTYPE_*
  int rank;
  const int64_t* dims;           // -1 where symbolic
  const char* const* dim_exprs;  // nullptr entries for static dims
};

/// A dynamic-dim symbol and its inclusive range.
struct SymbolDesc {
  const char* name;
  int64_t min;
  int64_t max;
};

/// A weight the library expects in its weights file (static shape).
struct WeightDesc {
  const char* name;
  int dtype;  // KILN_DTYPE_*
  int rank;
  const int64_t* dims;
};

/// Everything Run needs for one execution.
struct RunArgs {
  const int64_t* sym;          // symbol values in ModelDesc::symbols order (nullptr if none)
  char* workspace;             // WorkspaceBytes(sym) or more, aligned to 256
  const void* const* inputs;   // one per model input
  void* const* outputs;        // one per model output
  const void* const* weights;  // one per ModelDesc::weights entry
  void* stream;                // cudaStream_t on CUDA targets, nullptr on the cpu target
};

/// The generated description of a model.
struct ModelDesc {
  const char* target;  // "cpu", "cuda-sm90", ...
  int num_inputs;
  const IoDesc* inputs;
  int num_outputs;
  const IoDesc* outputs;
  int num_symbols;
  const SymbolDesc* symbols;
  int num_weights;
  const WeightDesc* weights;
  /// Workspace size with every symbol at its maximum (a run with smaller symbols uses a prefix
  /// of each buffer, so one allocation serves every shape in range).
  int64_t workspace_bytes;
  /// A workspace that scales with symbol `workspace_symbol` (index in `symbols`; -1: static
  /// offsets; src/plan/memory_plan.h): a run with it at v needs workspace_unit_bytes * (v - max)
  /// bytes fewer than workspace_bytes (WorkspaceBytes).
  int workspace_symbol;
  int64_t workspace_unit_bytes;
  /// Writes the concrete dims of output `index` for symbol values `sym`.
  void (*output_shape)(int index, const int64_t* sym, int64_t* dims);
  void (*run)(const RunArgs& args);
  /// The weights file embedded in the library (`kiln compile --embed-weights`), else nullptr.
  const unsigned char* embedded_weights;
  uint64_t embedded_weights_size;
  /// CUDA targets: replay each run from a CUDA graph captured per concrete (dims, pointers)
  /// (`kiln compile --cuda-graphs`; the environment variable KILN_CUDA_GRAPHS=0 turns it off).
  bool cuda_graphs;
};

/// Defined by the generated model.cc.
extern const ModelDesc kModel;

/// Bytes of workspace a run with symbol values `sym` needs.
inline int64_t WorkspaceBytes(const int64_t* sym) {
  if (kModel.workspace_symbol < 0) return kModel.workspace_bytes;
  const int64_t max = kModel.symbols[kModel.workspace_symbol].max;
  return kModel.workspace_bytes - kModel.workspace_unit_bytes * (max - sym[kModel.workspace_symbol]);
}

/// Stores `message` as the calling thread's kiln_last_error() text and returns `code` (a
/// KILN_ERR_*), so failures read `return Fail(KILN_ERR_..., "...");` (module_main.cc).
int Fail(int code, std::string message);

/// Per-target memory: host memory on the cpu target, device memory on CUDA targets
/// (cpu/runtime_src/device_host.cc, cuda/runtime_src/device_cuda.cu). Functions return KILN_OK or a code set through Fail().
struct DeviceBuffer {
  void* ptr = nullptr;
  size_t bytes = 0;
};
/// Allocates `bytes` aligned to 256 (0 bytes gives a null buffer).
int DeviceAllocate(size_t bytes, DeviceBuffer* out);
/// Frees a buffer from DeviceAllocate (a null buffer is a no-op) and resets it.
void DeviceFree(DeviceBuffer* buffer);
/// Makes weight data that lies in host memory (`host`, `bytes`, elements of `element_size`
/// bytes, possibly unaligned) usable by kernels: sets `*device_ptr` to `host` itself when the
/// target reads host memory and the data is aligned for its element type, else to a copy held
/// in `*storage` (freed by the caller with DeviceFree).
int DeviceBindWeight(const void* host, size_t bytes, size_t element_size, const void** device_ptr,
                     DeviceBuffer* storage);
/// Copies `bytes` between two buffers of the target's memory (on `stream` for CUDA targets);
/// Run uses it for outputs that are the model's inputs, weights or other outputs.
void DeviceCopy(void* dst, const void* src, size_t bytes, void* stream);
/// Per-instance state of the device hooks (CUDA graphs on CUDA targets), created by DeviceRun on
/// first use; null until then.
struct DeviceState;
/// Runs kModel.run(args): directly, or (CUDA targets with kModel.cuda_graphs and a non-null
/// stream) by replaying a CUDA graph captured for these dims and pointers. Reports a failed
/// launch or kernel (KILN_ERR_CUDA with the CUDA error text) after the kernels are issued.
int DeviceRun(DeviceState** state, const RunArgs& args);
/// Runs kModel.run(args) on host data (kiln_instance_run_host): `args.inputs[i]` and
/// `args.outputs[i]` are host pointers of `input_bytes[i]` / `output_bytes[i]` bytes, and
/// `args.stream` is ignored. The cpu target runs in place (DeviceRun); CUDA targets copy the
/// inputs into device buffers kept in `*state` (grown as needed, reused by later runs), run on a
/// stream of the instance's own, copy the outputs back and synchronise. Returns once the outputs
/// are written, or a code set through Fail() (KILN_ERR_CUDA with the failing step and the CUDA
/// error text, e.g. when there is no GPU).
int DeviceRunHost(DeviceState** state, const RunArgs& args, const size_t* input_bytes,
                  const size_t* output_bytes);
/// Frees what DeviceRun or DeviceRunHost created (null is a no-op).
void DeviceStateFree(DeviceState* state);

}  // namespace kiln_rt

#endif  // KILN_RT_H_
