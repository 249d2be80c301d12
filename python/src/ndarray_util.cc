// DLPack <-> kiln tensors (ndarray_util.h).
#include "ndarray_util.h"

#include <utility>

namespace nb = nanobind;

namespace kiln::python {

std::optional<DType> DTypeOf(nb::dlpack::dtype d) {
  using Code = nb::dlpack::dtype_code;
  if (d.lanes != 1) return std::nullopt;
  switch (static_cast<Code>(d.code)) {
    case Code::Float:
      if (d.bits == 32) return DType::kF32;
      if (d.bits == 16) return DType::kF16;
      break;
    case Code::Bfloat:
      if (d.bits == 16) return DType::kBF16;
      break;
    case Code::Int:
      if (d.bits == 64) return DType::kI64;
      if (d.bits == 32) return DType::kI32;
      if (d.bits == 8) return DType::kI8;
      break;
    case Code::UInt:
      if (d.bits == 8) return DType::kU8;
      break;
    case Code::Bool:
      if (d.bits == 8) return DType::kBool;
      break;
    default:
      break;
  }
  return std::nullopt;
}

std::string DLPackDTypeName(nb::dlpack::dtype d) {
  using Code = nb::dlpack::dtype_code;
  std::string kind;
  switch (static_cast<Code>(d.code)) {
    case Code::Int:
      kind = "int";
      break;
    case Code::UInt:
      kind = "uint";
      break;
    case Code::Float:
      kind = "float";
      break;
    case Code::Bfloat:
      kind = "bfloat";
      break;
    case Code::Complex:
      kind = "complex";
      break;
    case Code::Bool:
      kind = "bool";
      break;
    default:
      kind = "code" + std::to_string(d.code) + "_";
      break;
  }
  std::string name = kind + std::to_string(d.bits);
  if (d.lanes != 1) name += "x" + std::to_string(d.lanes);
  return name;
}

std::string DeviceName(const RoArray& array) {
  switch (array.device_type()) {
    case nb::device::cpu::value:
      return "cpu";
    case nb::device::cuda::value:
      return "cuda:" + std::to_string(array.device_id());
    case nb::device::cuda_host::value:
      return "cuda_host";
    case nb::device::cuda_managed::value:
      return "cuda_managed";
    default:
      return "device type " + std::to_string(array.device_type());
  }
}

std::vector<int64_t> ShapeOf(const RoArray& array) {
  std::vector<int64_t> shape(array.ndim());
  for (size_t i = 0; i < array.ndim(); ++i) shape[i] = static_cast<int64_t>(array.shape(i));
  return shape;
}

bool IsRowMajor(const RoArray& array) {
  int64_t expected = 1;
  for (size_t i = array.ndim(); i-- > 0;) {
    if (array.shape(i) != 1 && array.stride(i) != expected) return false;
    expected *= static_cast<int64_t>(array.shape(i));
  }
  return true;
}

Tensor BorrowTensor(const RoArray& array, const std::string& what) {
  std::optional<DType> dtype = DTypeOf(array.dtype());
  if (!dtype) {
    throw nb::value_error((what + ": dtype " + DLPackDTypeName(array.dtype()) +
                           " has no kiln counterpart (kiln has f32, f16, bf16, i64, i32, i8, u8, "
                           "bool)")
                              .c_str());
  }
  if (!IsRowMajor(array)) {
    throw nb::value_error((what + ": expected a contiguous (row-major) tensor, got a strided "
                                  "view; call .contiguous() / numpy.ascontiguousarray() first")
                              .c_str());
  }
  return Tensor::Borrow(*dtype, ShapeOf(array), array.data(), nullptr);
}

nb::object ToNumpy(Tensor tensor) {
  auto* owned = new Tensor(std::move(tensor));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<Tensor*>(p); });
  std::vector<size_t> shape(owned->shape().begin(), owned->shape().end());
  nb::dlpack::dtype dt{};
  dt.lanes = 1;
  dt.bits = static_cast<uint8_t>(DTypeSize(owned->dtype()) * 8);
  using Code = nb::dlpack::dtype_code;
  switch (owned->dtype()) {
    case DType::kF32:
    case DType::kF16:
      dt.code = static_cast<uint8_t>(Code::Float);
      break;
    case DType::kBF16:
      dt.code = static_cast<uint8_t>(Code::Bfloat);
      break;
    case DType::kU8:
      dt.code = static_cast<uint8_t>(Code::UInt);
      break;
    case DType::kBool:
      dt.code = static_cast<uint8_t>(Code::Bool);
      break;
    case DType::kF8E4M3:
    case DType::kF8E5M2:
      throw nb::value_error("numpy has no float8 dtype");
    default:
      dt.code = static_cast<uint8_t>(Code::Int);
      break;
  }
  // A zero-size tensor may have no buffer; numpy still wants a non-null pointer.
  static char empty_buffer[8];
  void* data = owned->numel() == 0 ? empty_buffer : owned->mutable_data();
  nb::ndarray<nb::numpy> array(data, shape.size(), shape.data(), owner, nullptr, dt);
  return array.cast();
}

}  // namespace kiln::python
