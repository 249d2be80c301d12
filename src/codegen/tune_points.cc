// See tune_points.h.
#include "codegen/tune_points.h"

#include <algorithm>
#include <cmath>

namespace kiln::codegen {

std::vector<BucketPoint> BucketPoints(const Graph& graph, const Dim& size, int64_t multiple) {
  SymbolBindings low, high;
  for (const std::string& s : size.Symbols()) {
    auto it = graph.symbols().find(s);
    if (it == graph.symbols().end()) return {};
    low[s] = it->second.min;
    high[s] = it->second.max;
  }
  const StatusOr<int64_t> lo = size.Evaluate(low), hi = size.Evaluate(high);
  if (!lo.ok() || !hi.ok() || *lo < 1 || *hi < *lo || *hi > (int64_t{1} << 24)) return {};
  std::vector<int64_t> values = {*hi};
  for (int64_t v = *hi / 4; v > *lo && values.size() < 4; v /= 4) values.push_back(v);
  values.push_back(*lo);
  for (int64_t& v : values) v = std::max(multiple, (v + multiple / 2) / multiple * multiple);
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  std::vector<BucketPoint> points;
  for (size_t i = 0; i < values.size(); ++i) {
    const int64_t up_to =
        i + 1 < values.size()
            ? static_cast<int64_t>(std::sqrt(static_cast<double>(values[i]) * static_cast<double>(values[i + 1])))
            : -1;
    points.push_back({values[i], up_to});
  }
  return points;
}

}  // namespace kiln::codegen
