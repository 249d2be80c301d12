// The cpu target end to end on elementwise ops and fusion nodes: compiled, loaded, run and
// compared with the reference interpreter (tests/e2e/cpu_e2e_util.h).
#include "tests/e2e/cpu_e2e_util.h"

namespace kiln {
namespace {

TEST(CpuElementwiseTest, UnaryF32) {
  for (const char* op : {"abs", "neg", "relu", "erf", "exp", "tanh", "sigmoid", "silu", "gelu"}) {
    ExpectCpuMatchesInterpreter(ParseVerified(std::string("graph @u(%x: f32[2,3,5]) -> (%y) {\n  %y = ") + op +
                                              "(%x) : f32[2,3,5]\n}\n"));
  }
}

TEST(CpuElementwiseTest, BroadcastBinarySymbolic) {
  ExpectCpuMatchesInterpreter(ParseVerified(R"(graph @b(%x: f32[N,4,5], %y: f32[4,1]) -> (%z) where N in [1, 8] {
  %z = add(%x, %y) : f32[N,4,5]
})"));
}

}  // namespace
}  // namespace kiln
