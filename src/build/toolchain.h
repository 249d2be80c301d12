// Which compiler builds generated code, with which flags: the host C++ compiler for the CPU
// backend, nvcc for the CUDA backend.
#ifndef KILN_BUILD_TOOLCHAIN_H_
#define KILN_BUILD_TOOLCHAIN_H_

#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln {

/// A compiler plus the flags every compile and link passes to it. All three fields are part of
/// the object cache key (build/object_cache.h), so two toolchains that differ in any of them never
/// share objects.
struct Toolchain {
  /// Absolute path of the compiler executable (e.g. /usr/bin/c++ or /usr/local/cuda/bin/nvcc).
  std::string compiler;
  /// Flags for every compile and link, before the per-job arguments; callers append their own
  /// (e.g. -arch=sm_90a, include directories).
  std::vector<std::string> flags;
  /// The identifying line of `compiler --version`: the first line for the host compiler; for nvcc,
  /// whose first line is only "nvcc: NVIDIA (R) Cuda compiler driver", the "release X, VX.Y.Z"
  /// line. Queried once per compiler path per process.
  std::string version;
};

/// The host C++ compiler: $CXX if set (a single program name or path; no launcher prefixes),
/// else `c++` on PATH. Flags: -std=c++20 -O2 -fPIC. NotFound (naming the compiler and where the
/// name came from) if it is not on PATH or does not run.
StatusOr<Toolchain> FindHostCompiler();

/// nvcc: $KILN_NVCC if set, else `nvcc` on PATH, else /usr/local/cuda/bin/nvcc. Flags:
/// -std=c++17 -O3 -Xcompiler=-fPIC (no -arch: the CUDA backend adds it per target). NotFound,
/// listing every place tried, if none exists.
StatusOr<Toolchain> FindNvcc();

/// A toolchain for an explicit compiler (a name on PATH or a path) with the given flags; the
/// version is queried (once per path per process). NotFound if it is missing or does not run.
StatusOr<Toolchain> MakeToolchain(const std::string& compiler, std::vector<std::string> flags);

}  // namespace kiln

#endif  // KILN_BUILD_TOOLCHAIN_H_
