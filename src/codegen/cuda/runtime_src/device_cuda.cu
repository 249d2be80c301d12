// kiln_rt device hooks for the CUDA targets: device memory from cudaMalloc, weights copied from
// the mapped weights file to the device once per instance, copies on the caller's stream, and
// launch errors reported after Run as KILN_ERR_CUDA.
#include <cuda_runtime.h>

#include <string>

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

int DeviceAfterRun(void*) {
  if (!kernel_error.empty()) {
    std::string message = std::move(kernel_error);
    kernel_error.clear();
    return Fail(KILN_ERR_CUDA, message);
  }
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return CudaFail(err, "launching the model's kernels");
  return KILN_OK;
}

}  // namespace kiln_rt
