// TensorType: dtype plus a (possibly symbolic) shape, written `f16[N,56,56,256]`.
#ifndef KILN_IR_TYPE_H_
#define KILN_IR_TYPE_H_

#include <string>
#include <vector>

#include "ir/dim.h"
#include "support/dtype.h"

namespace kiln {

using Shape = std::vector<Dim>;

struct TensorType {
  DType dtype = DType::kF32;
  Shape shape;

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  bool operator==(const TensorType& o) const { return dtype == o.dtype && shape == o.shape; }
  bool operator!=(const TensorType& o) const { return !(*this == o); }
  /// "f16[N,56,56,256]"; a scalar is "f32[]".
  std::string ToString() const;
};

/// "[N,56,56,256]".
std::string ShapeToString(const Shape& shape);
/// Product of all dims (1 for a scalar).
Dim NumElements(const Shape& shape);
/// Static shape from concrete ints.
Shape StaticShape(const std::vector<int64_t>& dims);
/// Concrete shape under `bindings`.
StatusOr<std::vector<int64_t>> EvaluateShape(const Shape& shape, const SymbolBindings& bindings);

}  // namespace kiln

#endif  // KILN_IR_TYPE_H_
