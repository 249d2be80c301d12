#include "support/tensor.h"

#include <cmath>
#include <cstring>

#include "support/check.h"
#include "support/float16.h"

namespace kiln {
namespace {

// Converts a double to the storage of `dtype` at `dst`.
void Store(DType dtype, void* dst, int64_t i, double v) {
  switch (dtype) {
    case DType::kF32: static_cast<float*>(dst)[i] = static_cast<float>(v); return;
    case DType::kF16: static_cast<uint16_t*>(dst)[i] = FloatToHalf(static_cast<float>(v)); return;
    case DType::kBF16: static_cast<uint16_t*>(dst)[i] = FloatToBF16(static_cast<float>(v)); return;
    case DType::kI64: static_cast<int64_t*>(dst)[i] = static_cast<int64_t>(v); return;
    case DType::kI32: static_cast<int32_t*>(dst)[i] = static_cast<int32_t>(v); return;
    case DType::kI8: static_cast<int8_t*>(dst)[i] = static_cast<int8_t>(v); return;
    case DType::kU8: static_cast<uint8_t*>(dst)[i] = static_cast<uint8_t>(v); return;
    case DType::kBool: static_cast<uint8_t*>(dst)[i] = v != 0.0 ? 1 : 0; return;
    case DType::kF8E4M3:
    case DType::kF8E5M2: break;
  }
  KILN_CHECK(false) << "no host storage for dtype " << DTypeName(dtype);
}

double Load(DType dtype, const void* src, int64_t i) {
  switch (dtype) {
    case DType::kF32: return static_cast<const float*>(src)[i];
    case DType::kF16: return HalfToFloat(static_cast<const uint16_t*>(src)[i]);
    case DType::kBF16: return BF16ToFloat(static_cast<const uint16_t*>(src)[i]);
    case DType::kI64: return static_cast<double>(static_cast<const int64_t*>(src)[i]);
    case DType::kI32: return static_cast<const int32_t*>(src)[i];
    case DType::kI8: return static_cast<const int8_t*>(src)[i];
    case DType::kU8:
    case DType::kBool: return static_cast<const uint8_t*>(src)[i];
    case DType::kF8E4M3:
    case DType::kF8E5M2: break;
  }
  KILN_CHECK(false) << "no host storage for dtype " << DTypeName(dtype);
  return 0;
}

}  // namespace

Tensor::Tensor(DType dtype, std::vector<int64_t> shape) : dtype_(dtype), shape_(std::move(shape)) {
  int64_t n = nbytes();
  std::shared_ptr<uint8_t[]> buf(new uint8_t[n > 0 ? n : 1]());
  data_ = buf.get();
  owner_ = std::shared_ptr<const void>(buf, buf.get());
  mutable_ = true;
}

Tensor Tensor::Borrow(DType dtype, std::vector<int64_t> shape, const void* data,
                      std::shared_ptr<const void> owner) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  t.owner_ = std::move(owner);
  t.mutable_ = false;
  return t;
}

Tensor Tensor::FromF32(DType dtype, std::vector<int64_t> shape, std::span<const float> values) {
  Tensor t(dtype, std::move(shape));
  KILN_CHECK(static_cast<int64_t>(values.size()) == t.numel()) << t.TypeString();
  if (dtype == DType::kF32) {
    std::memcpy(t.mutable_data(), values.data(), t.nbytes());
  } else {
    for (int64_t i = 0; i < t.numel(); ++i) Store(dtype, t.mutable_data(), i, values[i]);
  }
  return t;
}

Tensor Tensor::FromF64(DType dtype, std::vector<int64_t> shape, std::span<const double> values) {
  Tensor t(dtype, std::move(shape));
  KILN_CHECK(static_cast<int64_t>(values.size()) == t.numel()) << t.TypeString();
  for (int64_t i = 0; i < t.numel(); ++i) Store(dtype, t.mutable_data(), i, values[i]);
  return t;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

void* Tensor::mutable_data() {
  KILN_CHECK(mutable_) << "write to a borrowed (read-only) tensor " << TypeString();
  return const_cast<void*>(data_);
}

std::vector<float> Tensor::ToF32() const {
  std::vector<float> out(numel());
  if (dtype_ == DType::kF32) {
    if (!out.empty()) std::memcpy(out.data(), data_, nbytes());
  } else {
    for (int64_t i = 0; i < numel(); ++i) out[i] = static_cast<float>(Load(dtype_, data_, i));
  }
  return out;
}

std::vector<double> Tensor::ToF64() const {
  std::vector<double> out(numel());
  for (int64_t i = 0; i < numel(); ++i) out[i] = Load(dtype_, data_, i);
  return out;
}

std::vector<int64_t> Tensor::ToI64() const {
  std::vector<int64_t> out(numel());
  if (dtype_ == DType::kI64) {
    if (!out.empty()) std::memcpy(out.data(), data_, nbytes());
  } else {
    for (int64_t i = 0; i < numel(); ++i) out[i] = static_cast<int64_t>(Load(dtype_, data_, i));
  }
  return out;
}

double Tensor::GetF64(int64_t i) const { return Load(dtype_, data_, i); }

void Tensor::SetF64(int64_t i, double v) { Store(dtype_, mutable_data(), i, v); }

Tensor Tensor::Clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes() > 0) std::memcpy(t.mutable_data(), data_, nbytes());
  return t;
}

Tensor Tensor::Reshaped(std::vector<int64_t> shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  KILN_CHECK(t.numel() == numel()) << "reshape " << TypeString() << " to " << t.TypeString();
  return t;
}

std::string Tensor::TypeString() const {
  std::string s(DTypeName(dtype_));
  s += "[";
  for (size_t i = 0; i < shape_.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape_[i]);
  }
  return s + "]";
}

}  // namespace kiln
