// Turning kiln Status errors into Python exceptions, one mapping for the whole extension:
//   InvalidArgument, OutOfRange      -> ValueError          (bad shapes, dtypes, attributes)
//   Unimplemented                    -> NotImplementedError (unsupported op, dtype, target)
//   NotFound                         -> FileNotFoundError   (missing file, weight, model)
//   ParseError                       -> ValueError          (malformed text or files)
//   Cuda, Internal, OutOfMemory, ... -> RuntimeError        (CUDA failures, toolchain errors)
// The exception message is the Status message, unchanged.
#ifndef KILN_PYTHON_ERRORS_H_
#define KILN_PYTHON_ERRORS_H_

#include <utility>

#include "kiln/status.h"

namespace kiln::python {

/// Raises the Python exception for `status` (a C++ exception nanobind translates). Requires
/// !status.ok().
[[noreturn]] void ThrowStatus(const Status& status);

/// Returns `status`'s value or raises its error.
template <typename T>
T ValueOrThrow(StatusOr<T> status_or) {
  if (!status_or.ok()) ThrowStatus(status_or.status());
  return std::move(status_or).value();
}

inline void ThrowIfError(const Status& status) {
  if (!status.ok()) ThrowStatus(status);
}

}  // namespace kiln::python

#endif  // KILN_PYTHON_ERRORS_H_
