// Small formatting helpers for human-readable reports (CLI output, plan summaries).
#ifndef KILN_SUPPORT_FORMAT_H_
#define KILN_SUPPORT_FORMAT_H_

#include <cstdint>
#include <string>

namespace kiln {

/// "512 B", "1.5 KiB", "97.7 MiB" (binary units, one decimal above bytes).
std::string FormatBytes(int64_t bytes);

/// "0 FLOP", "840 FLOP", "8.18 GFLOP", "1.13 TFLOP" (decimal units, three significant digits).
std::string FormatFlops(double flops);

}  // namespace kiln

#endif  // KILN_SUPPORT_FORMAT_H_
