// ScopedEnv: sets an environment variable for one scope (tests of settings read from the
// environment: KILN_NVCC, CXX, KILN_GEMM_CONFIG) and restores the previous value.
#ifndef KILN_TESTS_SCOPED_ENV_H_
#define KILN_TESTS_SCOPED_ENV_H_

#include <cstdlib>
#include <string>

namespace kiln {

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (had_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

}  // namespace kiln

#endif  // KILN_TESTS_SCOPED_ENV_H_
