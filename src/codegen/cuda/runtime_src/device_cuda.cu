// kiln_rt device hooks for the CUDA targets: device memory from cudaMalloc, weights copied from
// the mapped weights file to the device once per instance, copies on the caller's stream, launch
// errors reported after Run as KILN_ERR_CUDA, and CUDA graphs: with kModel.cuda_graphs a run is
// captured into a graph on the second run with the same dims, pointers and stream (the first runs
// directly, so lazy initialisation such as CUTLASS's shared-memory attributes happens outside a
// capture) and replayed on the caller's stream from then on. The legacy default stream cannot be
// captured: runs on it are captured on a private stream of the instance and replayed on it.
// Host-data runs (kiln_instance_run_host) stage their inputs and outputs through device buffers and a stream the instance keeps.
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kiln/module_abi.h"
#include "kiln_rt.h"

namespace kiln_rt {
namespace {

int CudaFail(cudaError_t err, const std::string& what) {
  cudaGetLastError();  // clear a sticky-free error so the next call starts clean
  return Fail(err == cudaErrorMemoryAllocation ? KILN_ERR_OUT_OF_MEMORY : KILN_ERR_CUDA,
              what + ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
}

}  // namespace

int DeviceAllocate(size_t bytes, DeviceBuffer* out) {
  *out = DeviceBuffer{};
  if (bytes == 0) return KILN_OK;
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, (bytes + 255) / 256 * 256);
  if (err != cudaSuccess) {
    return CudaFail(err, "allocating " + std::to_string(bytes) + " bytes of device memory");
  }
  out->ptr = p;
  out->bytes = bytes;
  return KILN_OK;
}

void DeviceFree(DeviceBuffer* buffer) {
  if (buffer->ptr != nullptr) cudaFree(buffer->ptr);
  *buffer = DeviceBuffer{};
}

int DeviceBindWeight(const void* host, size_t bytes, size_t, const void** device_ptr,
                     DeviceBuffer* storage) {
  if (int rc = DeviceAllocate(bytes, storage); rc != KILN_OK) return rc;
  if (bytes > 0) {
    cudaError_t err = cudaMemcpy(storage->ptr, host, bytes, cudaMemcpyHostToDevice);
    if (err != cudaSuccess) return CudaFail(err, "copying weights to the device");
  }
  *device_ptr = storage->ptr;
  return KILN_OK;
}

void DeviceCopy(void* dst, const void* src, size_t bytes, void* stream) {
  if (bytes > 0) {
    cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, static_cast<cudaStream_t>(stream));
  }
}

namespace {
thread_local std::string kernel_error;  // set by DeviceReportError during a run
}  // namespace

void DeviceReportError(const char* what, const char* detail) {
  if (kernel_error.empty()) kernel_error = std::string(what) + ": " + detail;
}

namespace {

// Reports what the kernels of the last run left behind: a DeviceReportError message or a CUDA
// launch error.
int CheckRun() {
  if (!kernel_error.empty()) {
    std::string message = std::move(kernel_error);
    kernel_error.clear();
    return Fail(KILN_ERR_CUDA, message);
  }
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return CudaFail(err, "launching the model's kernels");
  return KILN_OK;
}

// Graphs kept per instance before the cache is emptied (each holds its launches' parameters).
constexpr size_t kMaxGraphs = 64;

bool GraphsEnabled() {
  static const bool env_off = [] {
    const char* v = std::getenv("KILN_CUDA_GRAPHS");
    return v != nullptr && std::string(v) == "0";
  }();
  return kModel.cuda_graphs && !env_off;
}

}  // namespace

// CUDA graphs per key: the symbol values and every pointer a run bakes into its launches; and
// the staging of host-data runs.
struct DeviceState {
  std::map<std::vector<uintptr_t>, cudaGraphExec_t> graphs;
  std::set<std::vector<uintptr_t>> seen;  // keys run once directly (the first run of a key
                                          // initialises lazy state outside any capture)
  // DeviceRunHost: its stream (created on first use) and one device buffer per input and output
  // (grown as needed; kept, so repeated runs reuse the same pointers and hence their graphs).
  cudaStream_t stream = nullptr;
  // Where runs on the legacy default stream are captured (created on first use).
  cudaStream_t capture_stream = nullptr;
  std::vector<DeviceBuffer> staged_inputs;
  std::vector<DeviceBuffer> staged_outputs;

  ~DeviceState() {
    Clear();
    for (cudaStream_t st : {stream, capture_stream}) {
      if (st != nullptr) {
        cudaStreamSynchronize(st);
        cudaStreamDestroy(st);
      }
    }
    for (DeviceBuffer& b : staged_inputs) DeviceFree(&b);
    for (DeviceBuffer& b : staged_outputs) DeviceFree(&b);
  }
  // Drops the graphs (not the staging).
  void Clear() {
    for (auto& [key, exec] : graphs) cudaGraphExecDestroy(exec);
    graphs.clear();
    seen.clear();
  }
};

int DeviceRun(DeviceState** state, const RunArgs& args) {
  if (!GraphsEnabled()) {
    kModel.run(args);
    return CheckRun();
  }
  if (*state == nullptr) *state = new DeviceState;
  DeviceState& s = **state;
  std::vector<uintptr_t> key;
  for (int i = 0; i < kModel.num_symbols; ++i) key.push_back(static_cast<uintptr_t>(args.sym[i]));
  key.push_back(reinterpret_cast<uintptr_t>(args.workspace));
  key.push_back(reinterpret_cast<uintptr_t>(args.stream));
  for (int i = 0; i < kModel.num_inputs; ++i) key.push_back(reinterpret_cast<uintptr_t>(args.inputs[i]));
  for (int i = 0; i < kModel.num_outputs; ++i) key.push_back(reinterpret_cast<uintptr_t>(args.outputs[i]));
  cudaStream_t stream = static_cast<cudaStream_t>(args.stream);
  auto it = s.graphs.find(key);
  if (it == s.graphs.end()) {
    if (s.seen.insert(key).second) {  // first run of this key: directly
      kModel.run(args);
      return CheckRun();
    }
    if (s.graphs.size() >= kMaxGraphs) s.Clear();
    // Capturing records launches without running them; the graph replays on the caller's stream.
    RunArgs capture = args;
    if (stream == nullptr) {
      if (s.capture_stream == nullptr) {
        cudaError_t err = cudaStreamCreateWithFlags(&s.capture_stream, cudaStreamNonBlocking);
        if (err != cudaSuccess) return CudaFail(err, "creating the stream that captures default-stream runs");
      }
      capture.stream = s.capture_stream;
    }
    cudaStream_t capture_stream = static_cast<cudaStream_t>(capture.stream);
    cudaError_t err = cudaStreamBeginCapture(capture_stream, cudaStreamCaptureModeThreadLocal);
    if (err != cudaSuccess) return CudaFail(err, "starting the CUDA graph capture of a run");
    kModel.run(capture);
    cudaGraph_t graph = nullptr;
    err = cudaStreamEndCapture(capture_stream, &graph);
    if (int rc = CheckRun(); rc != KILN_OK) {
      if (graph != nullptr) cudaGraphDestroy(graph);
      return rc;
    }
    if (err != cudaSuccess) return CudaFail(err, "capturing a run into a CUDA graph");
    cudaGraphExec_t exec = nullptr;
    err = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    if (err != cudaSuccess) return CudaFail(err, "instantiating the CUDA graph of a run");
    it = s.graphs.emplace(key, exec).first;
  }
  cudaError_t err = cudaGraphLaunch(it->second, stream);
  if (err != cudaSuccess) return CudaFail(err, "launching the CUDA graph of a run");
  return KILN_OK;
}

namespace {

// Makes `buffer` hold at least `bytes` (at least 1, so that every tensor has a distinct non-null
// address), reallocating when it is smaller.
int Reserve(DeviceBuffer* buffer, size_t bytes, const std::string& what) {
  bytes = bytes == 0 ? 1 : bytes;
  if (buffer->ptr != nullptr && buffer->bytes >= bytes) return KILN_OK;
  DeviceFree(buffer);
  int rc = DeviceAllocate(bytes, buffer);
  if (rc != KILN_OK) {
    return Fail(rc, "host run: device buffer for " + what + ": " + kiln_last_error());
  }
  return KILN_OK;
}

}  // namespace

int DeviceRunHost(DeviceState** state, const RunArgs& args, const size_t* input_bytes,
                  const size_t* output_bytes) {
  if (*state == nullptr) *state = new DeviceState;
  DeviceState& s = **state;
  cudaError_t err = cudaSuccess;
  if (s.stream == nullptr) {
    err = cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking);
    if (err != cudaSuccess) {
      s.stream = nullptr;
      return CudaFail(err,
                      "host run: creating the instance's CUDA stream (is there a usable GPU?)");
    }
  }
  s.staged_inputs.resize(kModel.num_inputs);
  s.staged_outputs.resize(kModel.num_outputs);
  std::vector<const void*> inputs(kModel.num_inputs);
  std::vector<void*> outputs(kModel.num_outputs);
  for (int i = 0; i < kModel.num_inputs; ++i) {
    std::string what = "input \"" + std::string(kModel.inputs[i].name) + "\"";
    if (int rc = Reserve(&s.staged_inputs[i], input_bytes[i], what); rc != KILN_OK) return rc;
    inputs[i] = s.staged_inputs[i].ptr;
    if (input_bytes[i] > 0) {
      err = cudaMemcpyAsync(s.staged_inputs[i].ptr, args.inputs[i], input_bytes[i],
                            cudaMemcpyHostToDevice, s.stream);
      if (err != cudaSuccess) return CudaFail(err, "host run: copying " + what + " to the device");
    }
  }
  for (int i = 0; i < kModel.num_outputs; ++i) {
    std::string what = "output \"" + std::string(kModel.outputs[i].name) + "\"";
    if (int rc = Reserve(&s.staged_outputs[i], output_bytes[i], what); rc != KILN_OK) return rc;
    outputs[i] = s.staged_outputs[i].ptr;
  }
  RunArgs device_args = args;
  device_args.inputs = inputs.empty() ? nullptr : inputs.data();
  device_args.outputs = outputs.empty() ? nullptr : outputs.data();
  device_args.stream = s.stream;
  int rc = DeviceRun(state, device_args);
  if (rc != KILN_OK) {
    cudaStreamSynchronize(s.stream);  // nothing may still use the staging when the caller goes on
    return rc;
  }
  for (int i = 0; i < kModel.num_outputs; ++i) {
    if (output_bytes[i] == 0) continue;
    err = cudaMemcpyAsync(args.outputs[i], outputs[i], output_bytes[i], cudaMemcpyDeviceToHost,
                          s.stream);
    if (err != cudaSuccess) {
      return CudaFail(err, "host run: copying output \"" + std::string(kModel.outputs[i].name) +
                               "\" to the host");
    }
  }
  err = cudaStreamSynchronize(s.stream);
  if (err != cudaSuccess) return CudaFail(err, "host run: running the model's kernels");
  return KILN_OK;
}

void DeviceStateFree(DeviceState* state) { delete state; }

}  // namespace kiln_rt
