// kiln_rt device hooks for targets whose kernels run on the host (the cpu target): host memory,
// weights used in place from the mapped weights file when aligned.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kiln/module_abi.h"
#include "kiln_rt.h"

namespace kiln_rt {

int DeviceAllocate(size_t bytes, DeviceBuffer* out) {
  *out = DeviceBuffer{};
  if (bytes == 0) return KILN_OK;
  size_t rounded = (bytes + 255) / 256 * 256;
  void* p = std::aligned_alloc(256, rounded);
  if (p == nullptr) {
    return Fail(KILN_ERR_OUT_OF_MEMORY,
                "out of memory allocating " + std::to_string(bytes) + " bytes of host memory");
  }
  out->ptr = p;
  out->bytes = bytes;
  return KILN_OK;
}

void DeviceFree(DeviceBuffer* buffer) {
  std::free(buffer->ptr);
  *buffer = DeviceBuffer{};
}

int DeviceBindWeight(const void* host, size_t bytes, size_t element_size, const void** device_ptr,
                     DeviceBuffer* storage) {
  size_t align = element_size == 0 ? 1 : element_size;
  if (reinterpret_cast<uintptr_t>(host) % align == 0) {
    *device_ptr = host;
    return KILN_OK;
  }
  if (int rc = DeviceAllocate(bytes, storage); rc != KILN_OK) return rc;
  std::memcpy(storage->ptr, host, bytes);
  *device_ptr = storage->ptr;
  return KILN_OK;
}

void DeviceCopy(void* dst, const void* src, size_t bytes, void*) {
  if (bytes > 0) std::memcpy(dst, src, bytes);
}

struct DeviceState {};

int DeviceRun(DeviceState**, const RunArgs& args) {
  kModel.run(args);
  return KILN_OK;
}

// Host data is the target's memory: no staging.
int DeviceRunHost(DeviceState** state, const RunArgs& args, const size_t*, const size_t*) {
  return DeviceRun(state, args);
}

void DeviceStateFree(DeviceState*) {}

}  // namespace kiln_rt
