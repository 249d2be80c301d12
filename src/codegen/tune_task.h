// What a target tells the tuner (src/tuning/tuner.h) about one tunable node: the key parts of its
// tuning-cache records, the configurations worth timing, and how to build a library that runs the
// node alone at any shape of its signature; and how a tuned choice reaches the emitter.
//
// A node of static shape has one tuning point. A node whose row count is symbolic (a dynamic batch
// or sequence) has a few: bucket points of its declared range, each timed like a static shape, each
// chosen for the rows up to a bound (between it and the next point). The emitter then carries one
// instantiation per distinct winner and picks by the rows at run time. Its config text is then a
// rows dispatch: "rows<=768:64x128x64_1x1_pingpong;rows<=3072:128x128x64_1x1_coop;128x256x64_2x1_coop"
// (FormatRowsDispatch / ParseRowsDispatch), a single config otherwise.
#ifndef KILN_CODEGEN_TUNE_TASK_H_
#define KILN_CODEGEN_TUNE_TASK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kiln::codegen {

/// One shape a node is timed at.
struct TunePoint {
  std::string shape;         // the cache key's shape, e.g. "M=4096,N=4096,K=4096,L=1"
  std::string profile_dims;  // the profiling graph's symbol values for it: "M8=512,N8=64,K=96"
  int64_t up_to = -1;        // the largest row count this point's winner serves; -1: all the rest
};

struct TuneTask {
  std::string signature;                // e.g. "gemm f16*f16->f16 nt align 8/8/8 bias,gelu"
  std::vector<TunePoint> points;        // ascending up_to, the last -1; one for a static shape
  std::vector<std::string> candidates;  // config names the emitter accepts (KernelContext::config)
  std::string profile_graph;            // text IR of a one-node graph with symbolic dims
  std::string profile_node;             // the name of that node's (first) output value
};

/// Configs by row count: (bound, config) pairs in ascending bound order, the last bound -1 (the
/// rest). One pair with bound -1 is a plain config.
using RowsDispatch = std::vector<std::pair<int64_t, std::string>>;

/// "rows<=B1:C1;rows<=B2:C2;C3", or just the config when there is one.
inline std::string FormatRowsDispatch(const RowsDispatch& d) {
  std::string out;
  for (const auto& [bound, config] : d) {
    if (!out.empty()) out += ";";
    out += bound >= 0 ? "rows<=" + std::to_string(bound) + ":" + config : config;
  }
  return out;
}

/// The dispatch of FormatRowsDispatch, or nullopt when `text` is not one (a plain config, or
/// malformed: bounds not ascending, a bounded last entry, an unbounded entry before the last).
inline std::optional<RowsDispatch> ParseRowsDispatch(const std::string& text) {
  if (text.rfind("rows<=", 0) != 0) return std::nullopt;
  RowsDispatch d;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(';', pos);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(pos, end - pos);
    if (part.rfind("rows<=", 0) == 0) {
      const size_t colon = part.find(':');
      if (colon == std::string::npos || colon == 6) return std::nullopt;
      int64_t bound = 0;
      for (size_t i = 6; i < colon; ++i) {
        if (part[i] < '0' || part[i] > '9' || bound > (int64_t{1} << 50)) return std::nullopt;
        bound = bound * 10 + (part[i] - '0');
      }
      if (!d.empty() && bound <= d.back().first) return std::nullopt;
      d.emplace_back(bound, part.substr(colon + 1));
    } else {
      d.emplace_back(-1, part);
    }
    if (d.back().second.empty()) return std::nullopt;
    if (d.back().first < 0) return end == text.size() ? std::optional<RowsDispatch>(d) : std::nullopt;
    pos = end + 1;
  }
  return std::nullopt;  // ended on a bounded entry
}

}  // namespace kiln::codegen

#endif  // KILN_CODEGEN_TUNE_TASK_H_
