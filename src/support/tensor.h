// Tensor: a host buffer with a dtype and a concrete shape. Either owns its bytes or borrows them
// (e.g. from a memory-mapped weights file) while keeping the owner alive. Copying a Tensor is
// cheap and shares the buffer; use Clone() for a deep copy.
#ifndef KILN_SUPPORT_TENSOR_H_
#define KILN_SUPPORT_TENSOR_H_

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "support/dtype.h"

namespace kiln {

class Tensor {
 public:
  Tensor() = default;
  /// Owned, zero-filled buffer.
  Tensor(DType dtype, std::vector<int64_t> shape);
  /// A view of `data` (not copied); `owner` keeps it alive (e.g. an mmap).
  static Tensor Borrow(DType dtype, std::vector<int64_t> shape, const void* data,
                       std::shared_ptr<const void> owner);
  /// Converts f32 values to `dtype` (rounding for f16/bf16, truncation toward zero for integers,
  /// nonzero -> true for bool).
  static Tensor FromF32(DType dtype, std::vector<int64_t> shape, std::span<const float> values);
  /// Like FromF32 with double input (exact for i64 values below 2^53).
  static Tensor FromF64(DType dtype, std::vector<int64_t> shape, std::span<const double> values);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_[i]; }
  int64_t numel() const;
  int64_t nbytes() const { return numel() * DTypeSize(dtype_); }
  bool defined() const { return data_ != nullptr || numel() == 0; }

  const void* data() const { return data_; }
  /// Mutable access; aborts on a borrowed (read-only) tensor.
  void* mutable_data();
  template <typename T>
  const T* data_as() const { return static_cast<const T*>(data_); }
  template <typename T>
  T* mutable_data_as() { return static_cast<T*>(mutable_data()); }

  /// All elements converted to float / double / int64.
  std::vector<float> ToF32() const;
  std::vector<double> ToF64() const;
  std::vector<int64_t> ToI64() const;
  /// Element i (flat index) as double.
  double GetF64(int64_t i) const;
  /// Stores `v` at flat index i with the same conversion as FromF64.
  void SetF64(int64_t i, double v);

  /// Deep copy into an owned buffer.
  Tensor Clone() const;
  /// Same bytes, new shape with the same element count.
  Tensor Reshaped(std::vector<int64_t> shape) const;
  /// "f32[2,3]".
  std::string TypeString() const;

 private:
  DType dtype_ = DType::kF32;
  std::vector<int64_t> shape_;
  std::shared_ptr<const void> owner_;
  const void* data_ = nullptr;
  bool mutable_ = false;
};

/// Named weights, e.g. a model's parameters (shared by graphs that reference them by name).
using TensorMap = std::map<std::string, Tensor>;

}  // namespace kiln

#endif  // KILN_SUPPORT_TENSOR_H_
