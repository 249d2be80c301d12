// Helpers shared by the op families: error messages that name the node, axis normalisation,
// numpy broadcasting of (symbolic) shapes, and index arithmetic for the CPU references.
#ifndef KILN_OPS_OP_UTIL_H_
#define KILN_OPS_OP_UTIL_H_

#include <cstdint>
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
