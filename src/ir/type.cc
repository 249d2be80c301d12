#include "ir/type.h"

namespace kiln {

std::string ShapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += shape[i].ToString();
  }
  return s + "]";
}

std::string TensorType::ToString() const { return std::string(DTypeName(dtype)) + ShapeToString(shape); }

Dim NumElements(const Shape& shape) {
  Dim n(1);
  for (const Dim& d : shape) n = n * d;
  return n;
}

Shape StaticShape(const std::vector<int64_t>& dims) { return Shape(dims.begin(), dims.end()); }

StatusOr<std::vector<int64_t>> EvaluateShape(const Shape& shape, const SymbolBindings& bindings) {
  std::vector<int64_t> out;
  out.reserve(shape.size());
  for (const Dim& d : shape) {
    KILN_ASSIGN_OR_RETURN(int64_t v, d.Evaluate(bindings));
    out.push_back(v);
  }
  return out;
}

}  // namespace kiln
