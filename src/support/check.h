// KILN_CHECK: invariants whose failure is a bug in kiln, never a user error. It prints the
// condition, file, line and an optional streamed message, then aborts. User errors return Status.
#ifndef KILN_SUPPORT_CHECK_H_
#define KILN_SUPPORT_CHECK_H_

#include <sstream>
#include <string>

namespace kiln::internal {

/// Collects the streamed message and aborts in its destructor.
class CheckFailure {
 public:
  CheckFailure(const char* cond, const char* file, int line);
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

}  // namespace kiln::internal

#define KILN_CHECK(cond) \
  if (cond) {            \
  } else                 \
    ::kiln::internal::CheckFailure(#cond, __FILE__, __LINE__).stream()

#endif  // KILN_SUPPORT_CHECK_H_
