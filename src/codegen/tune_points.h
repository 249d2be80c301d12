// Bucket points of a symbolic size for the tuner (tune_task.h): where a node whose row count
// depends on a dynamic batch or sequence is timed, and which run-time sizes each winner serves.
#ifndef KILN_CODEGEN_TUNE_POINTS_H_
#define KILN_CODEGEN_TUNE_POINTS_H_

#include <cstdint>
#include <vector>

#include "ir/graph.h"

namespace kiln::codegen {

struct BucketPoint {
  int64_t value = 0;   // the size timed
  int64_t up_to = -1;  // the largest size its winner serves; -1: all larger ones (the last point)
};

/// Points of `size` over the declared ranges of `graph`'s symbols, ascending: its largest value,
/// every fourth of that going down (at most three), and its smallest value; each rounded to a
/// multiple of `multiple` and serving the sizes up to the geometric mean with the next point.
/// Empty when `size` has no usable range (a symbol without a range, a size that decreases with
/// its symbols or exceeds 2^24).
std::vector<BucketPoint> BucketPoints(const Graph& graph, const Dim& size, int64_t multiple);

}  // namespace kiln::codegen

#endif  // KILN_CODEGEN_TUNE_POINTS_H_
