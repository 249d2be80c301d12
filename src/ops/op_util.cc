#include "ops/op_util.h"

namespace kiln {

Status OpError(const Node& node, const std::string& message) {
  return InvalidArgument(node.Describe() + ": " + message);
}

StatusOr<int64_t> NormalizeAxis(const Node& node, int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    return OpError(node, "axis " + std::to_string(axis) + " is out of range for rank " +
                             std::to_string(rank) + " (expected -" + std::to_string(rank) +
                             ".." + std::to_string(rank - 1) + ")");
  }
  return a;
}

StatusOr<Shape> BroadcastShapes(const Node& node, const Shape& a, const Shape& b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Align from the right.
    const Dim* da = i < rank - a.size() ? nullptr : &a[i - (rank - a.size())];
    const Dim* db = i < rank - b.size() ? nullptr : &b[i - (rank - b.size())];
    if (!da) { out[i] = *db; continue; }
    if (!db) { out[i] = *da; continue; }
    if (*da == *db) out[i] = *da;
    else if (*da == Dim(1)) out[i] = *db;
    else if (*db == Dim(1)) out[i] = *da;
    else {
      return OpError(node, "shapes " + ShapeToString(a) + " and " + ShapeToString(b) +
                               " do not broadcast: dim " + da->ToString() + " vs " +
                               db->ToString() + " at output axis " + std::to_string(i));
    }
  }
  return out;
}

Status CheckSameDType(const Node& node, const std::vector<int>& input_indices) {
  DType d0 = node.input(input_indices[0])->dtype();
  for (int i : input_indices) {
    DType d = node.input(i)->dtype();
    if (d != d0) {
      return OpError(node, "operand " + std::to_string(i) + " has dtype " +
                               std::string(DTypeName(d)) + ", expected " +
                               std::string(DTypeName(d0)) + " (the dtype of operand " +
                               std::to_string(input_indices[0]) + ")");
    }
  }
  return Status::Ok();
}

Status CheckRank(const Node& node, int i, int64_t rank) {
  if (node.input(i)->rank() != rank) {
    return OpError(node, "operand " + std::to_string(i) + " has type " +
                             node.input(i)->type().ToString() + ", expected rank " +
                             std::to_string(rank));
  }
  return Status::Ok();
}

StatusOr<std::vector<int64_t>> IntListAttr(const Node& node, const char* name, size_t size,
                                           int64_t min_value) {
  const std::vector<int64_t>& v = node.GetInts(name);
  if (v.size() != size) {
    return OpError(node, std::string("attribute '") + name + "' must have " + std::to_string(size) +
                             " values, got " + IntsToString(v));
  }
  for (int64_t x : v) {
    if (x < min_value) {
      return OpError(node, std::string("attribute '") + name + "' values must be >= " +
                               std::to_string(min_value) + ", got " + IntsToString(v));
    }
  }
  return v;
}

SpatialAxes SpatialAxesOf(bool nhwc) { return nhwc ? SpatialAxes{3, 1, 2} : SpatialAxes{1, 2, 3}; }

std::optional<int64_t> WindowCount(int64_t in, int64_t k, int64_t s, int64_t pad_lo, int64_t pad_hi,
                                   int64_t d, bool ceil_mode) {
  const int64_t span = in + pad_lo + pad_hi - d * (k - 1) - 1;
  if (span < 0) return std::nullopt;
  int64_t out = (span + (ceil_mode ? s - 1 : 0)) / s + 1;
  if (ceil_mode && (out - 1) * s >= in + pad_lo) --out;
  return out;
}

std::vector<int64_t> Strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

std::vector<int64_t> BroadcastIndexMap(const std::vector<int64_t>& out_shape,
                                       const std::vector<int64_t>& in_shape) {
  int64_t n = 1;
  for (int64_t d : out_shape) n *= d;
  size_t r = out_shape.size(), ri = in_shape.size();
  std::vector<int64_t> in_strides = Strides(in_shape);
  // Effective stride of each output axis in the input (0 where broadcast or absent).
  std::vector<int64_t> eff(r, 0);
  for (size_t i = 0; i < ri; ++i) {
    size_t o = r - ri + i;
    eff[o] = in_shape[i] == 1 ? 0 : in_strides[i];
  }
  std::vector<int64_t> map(n);
  std::vector<int64_t> idx(r, 0);
  int64_t cur = 0;
  for (int64_t k = 0; k < n; ++k) {
    map[k] = cur;
    for (int64_t a = static_cast<int64_t>(r) - 1; a >= 0; --a) {  // odometer increment
      if (++idx[a] < out_shape[a]) { cur += eff[a]; break; }
      cur -= eff[a] * (out_shape[a] - 1);
      idx[a] = 0;
    }
  }
  return map;
}

void StoreI64(Tensor& t, int64_t i, int64_t v) {
  switch (t.dtype()) {
    case DType::kI64: t.mutable_data_as<int64_t>()[i] = v; return;
    case DType::kI32: t.mutable_data_as<int32_t>()[i] = static_cast<int32_t>(v); return;
    case DType::kI8: t.mutable_data_as<int8_t>()[i] = static_cast<int8_t>(v); return;
    case DType::kU8: t.mutable_data_as<uint8_t>()[i] = static_cast<uint8_t>(v); return;
    case DType::kBool: t.mutable_data_as<uint8_t>()[i] = v != 0 ? 1 : 0; return;
    default: t.SetF64(i, static_cast<double>(v)); return;
  }
}

std::string IntsToString(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace kiln
