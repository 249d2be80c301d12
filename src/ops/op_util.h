// Helpers shared by the op families: error messages that name the node, axis normalisation,
// numpy broadcasting of (symbolic) shapes, and index arithmetic for the CPU references.
#ifndef KILN_OPS_OP_UTIL_H_
#define KILN_OPS_OP_UTIL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln {

/// InvalidArgument("<node description>: <message>"), e.g.
/// "%h = conv2d (line 4): input channels 3 do not match weight channels 4 (groups 1)".
Status OpError(const Node& node, const std::string& message);

/// Maps a possibly negative axis into [0, rank); error naming the node otherwise.
StatusOr<int64_t> NormalizeAxis(const Node& node, int64_t axis, int64_t rank);

/// numpy broadcasting of two shapes (dims equal, or one is static 1); error names the node,
/// both shapes and the mismatching dims.
StatusOr<Shape> BroadcastShapes(const Node& node, const Shape& a, const Shape& b);

/// Error unless every listed input has the dtype of input 0.
Status CheckSameDType(const Node& node, const std::vector<int>& input_indices);

/// Error unless input `i` has rank `rank`.
Status CheckRank(const Node& node, int i, int64_t rank);

/// The ints attribute `name` of `node`, which must hold `size` values each >= `min_value`; the
/// error names the node, the attribute and its values otherwise.
StatusOr<std::vector<int64_t>> IntListAttr(const Node& node, const char* name, size_t size,
                                           int64_t min_value);

/// Positions of the channel and spatial dims of a 4-D activation: [N, C, H, W] (nchw) or
/// [N, H, W, C] (nhwc).
struct SpatialAxes {
  int c, h, w;
};

/// The SpatialAxes of the nhwc layout (`nhwc`) or the nchw one.
SpatialAxes SpatialAxesOf(bool nhwc);

/// Number of window positions of a sliding-window op (conv, pooling) along one axis: input `in`
/// padded by `pad_lo` and `pad_hi`, kernel `k` dilated by `d`, stride `s`. With `ceil_mode` a
/// partial last window counts too, unless it would start in the trailing padding (PyTorch's
/// pooling_output_shape). nullopt when the dilated kernel is larger than the padded input.
std::optional<int64_t> WindowCount(int64_t in, int64_t k, int64_t s, int64_t pad_lo, int64_t pad_hi,
                                   int64_t d, bool ceil_mode);

/// Row-major strides of a concrete shape.
std::vector<int64_t> Strides(const std::vector<int64_t>& shape);

/// For each flat index of `out_shape`, the flat index of the element of a tensor with
/// `in_shape` (numpy-broadcastable to out_shape) that it reads.
std::vector<int64_t> BroadcastIndexMap(const std::vector<int64_t>& out_shape,
                                       const std::vector<int64_t>& in_shape);

/// Stores integer `v` at flat index `i` of `t` exactly (no trip through double, so all of i64
/// survives): narrower integer dtypes wrap like a C cast, bool stores v != 0, float dtypes round.
void StoreI64(Tensor& t, int64_t i, int64_t v);

/// A concrete-shape "[2,3]" for messages.
std::string IntsToString(const std::vector<int64_t>& v);

}  // namespace kiln

#endif  // KILN_OPS_OP_UTIL_H_
