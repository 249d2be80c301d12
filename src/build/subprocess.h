// Running external tools (compilers, linkers) without a shell.
#ifndef KILN_BUILD_SUBPROCESS_H_
#define KILN_BUILD_SUBPROCESS_H_

#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln {

/// What a finished child process left behind.
struct SubprocessResult {
  /// The exit status; 128 + N when the child was killed by signal N (as shells report it).
  int exit_code = -1;
  /// stdout and stderr interleaved in the order the child wrote them (one shared pipe).
  std::string output;
};

/// Runs argv[0] (looked up on PATH when it has no '/') with argv as its arguments, stdin from
/// /dev/null, and waits for it. No shell is involved, so arguments need no quoting. Returns an
/// error naming the program only if it could not be started; a non-zero exit is a result, not an
/// error. Thread-safe: the pipe is close-on-exec so concurrent children never hold each other's
/// pipes open (which would delay EOF).
StatusOr<SubprocessResult> RunSubprocess(const std::vector<std::string>& argv);

/// argv as a shell-quoted command line, for error messages the user can paste into a terminal.
std::string FormatCommandLine(const std::vector<std::string>& argv);

}  // namespace kiln

#endif  // KILN_BUILD_SUBPROCESS_H_
