#include "support/format.h"

#include <cstdio>

namespace kiln {
namespace {

// `v` in the largest of `units` (each `base` times the one before) that keeps it at least 1:
// "<v printed with `spec`> <unit>", or `v` as an integer in the first unit.
template <size_t N>
std::string WithUnit(double v, double base, const char* const (&units)[N], const char* spec) {
  size_t unit = 0;
  const double whole = v;
  while (v >= base && unit + 1 < N) {
    v /= base;
    ++unit;
  }
  char number[32], buf[48];
  if (unit == 0) {
    std::snprintf(number, sizeof(number), "%.0f", whole);
  } else {
    std::snprintf(number, sizeof(number), spec, v);
  }
  std::snprintf(buf, sizeof(buf), "%s %s", number, units[unit]);
  return buf;
}

}  // namespace

std::string FormatBytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  return WithUnit(static_cast<double>(bytes), 1024.0, kUnits, "%.1f");
}

std::string FormatFlops(double flops) {
  static constexpr const char* kUnits[] = {"FLOP", "KFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP"};
  return WithUnit(flops, 1000.0, kUnits, "%.3g");
}

}  // namespace kiln
