#include "support/check.h"

#include <cstdio>
#include <cstdlib>

namespace kiln::internal {

CheckFailure::CheckFailure(const char* cond, const char* file, int line) {
  stream_ << "kiln internal error: check failed: " << cond << " at " << file << ":" << line << ": ";
}

CheckFailure::~CheckFailure() {
  std::fprintf(stderr, "%s\n(this is a bug in kiln; please report it)\n", stream_.str().c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace kiln::internal
