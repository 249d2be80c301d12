// Helpers shared by the CPU kernel tests (tests/codegen/*_kernel_test.cc), which run a
// src/codegen/cpu/runtime_src kernel on plain float buffers and compare with kiln's reference op.
#ifndef KILN_TESTS_CODEGEN_KERNEL_TEST_UTIL_H_
#define KILN_TESTS_CODEGEN_KERNEL_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "support/tensor.h"

namespace kiln::testutil {

/// Expects the kernel output `got` to match the reference `ref` (same element count, compared as
/// f32) with max |got - ref| <= rel_tol * max(1, max |ref|) over the finite reference elements.
/// Where the reference is NaN or +-inf the output must be the same special value (NaN with NaN,
/// -inf with -inf); anywhere else a NaN output fails.
inline void ExpectMatches(const std::vector<float>& got, const Tensor& ref, double rel_tol) {
  const std::vector<float> want = ref.ToF32();
  ASSERT_EQ(got.size(), want.size());
  double max_ref = 1.0, max_err = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i]) || std::isinf(want[i])) {
      EXPECT_TRUE(std::isnan(want[i]) ? std::isnan(got[i]) : got[i] == want[i])
          << "element " << i << ": got " << got[i] << ", want " << want[i];
      continue;
    }
    ASSERT_FALSE(std::isnan(got[i])) << "element " << i << " is NaN";
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(want[i])));
    max_err = std::max(max_err, std::fabs(static_cast<double>(got[i]) - want[i]));
  }
  EXPECT_LE(max_err, rel_tol * max_ref) << "max |ref| " << max_ref;
}

}  // namespace kiln::testutil

#endif  // KILN_TESTS_CODEGEN_KERNEL_TEST_UTIL_H_
