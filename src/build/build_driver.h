// The build driver: compiles generated source files into objects in parallel (reusing cached
// objects) and links objects into a shared library. Used by the CPU backend with the host
// compiler and by the CUDA backend with nvcc; it knows nothing about what the sources contain.
#ifndef KILN_BUILD_BUILD_DRIVER_H_
#define KILN_BUILD_BUILD_DRIVER_H_

#include <functional>
#include <string>
#include <vector>

#include "build/object_cache.h"
#include "build/toolchain.h"
#include "kiln/status.h"

namespace kiln {

/// One translation unit: `source_path` compiles to `object_path` (parent directories are
/// created). Object paths must be distinct within one CompileAll call.
struct CompileJob {
  std::string source_path;
  std::string object_path;
};

/// What CompileAll did: total == compiled + cached on success.
struct BuildStats {
  int total = 0;
  int compiled = 0;
  int cached = 0;
};

/// Reported once per finished job, for progress displays.
struct BuildEvent {
  enum class Kind { kCached, kCompiled, kFailed };
  Kind kind = Kind::kCompiled;
  const CompileJob* job = nullptr;
  int finished = 0;  // jobs finished so far, this one included
  int total = 0;
  double seconds = 0;  // wall time of this job (cache copy or compile)
};

/// How CompileAll runs.
struct BuildOptions {
  /// Parallel compiler processes; 0 means std::thread::hardware_concurrency().
  int jobs = 0;
  /// Object cache to consult and fill; null compiles everything.
  ObjectCache* cache = nullptr;
  /// Extra cache-key input, e.g. a hash of the headers the generated sources include.
  std::string cache_salt = {};
  /// Called after each job, serialised under a lock (the callback need not be thread-safe).
  std::function<void(const BuildEvent&)> progress = {};
};

/// Compiles every job with `toolchain.compiler toolchain.flags... -c SOURCE -o OBJECT`. Each
/// object is written under a temp name and renamed, so an object path only ever holds a complete
/// object. On the first failure no new jobs start; running ones finish; the failed job's partial
/// output and any stale object at its path are removed; completed objects stay (they are valid).
/// The error names the generated file, includes the compiler's output (first ~60 lines) and the
/// command line; NotFound if a source is missing or the compiler cannot be started.
StatusOr<BuildStats> CompileAll(const std::vector<CompileJob>& jobs, const Toolchain& toolchain,
                                const BuildOptions& options = {});

/// Links `objects` into the shared library `output_so` with
/// `toolchain.compiler toolchain.flags... -shared OBJECTS... -o OUTPUT extra_flags...` (libraries
/// in extra_flags come after the objects, as linkers require). The library is written under a
/// temp name and renamed, so a process that has the old one loaded keeps a consistent file.
Status LinkShared(const std::vector<std::string>& objects, const std::string& output_so,
                  const Toolchain& toolchain, const std::vector<std::string>& extra_flags = {});

}  // namespace kiln

#endif  // KILN_BUILD_BUILD_DRIVER_H_
