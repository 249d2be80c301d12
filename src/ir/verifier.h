// Verifier: checks a graph's structure (SSA: every operand defined before use, unique names,
// outputs defined, symbols declared) and re-runs each op's shape/dtype inference against the
// declared result types. Runs after import/parsing and after every pass in tests.
#ifndef KILN_IR_VERIFIER_H_
#define KILN_IR_VERIFIER_H_

#include "ir/graph.h"

namespace kiln {

/// Ok, or an InvalidArgument naming the first offending node (with its line when parsed) and
/// what was expected vs found.
Status Verify(const Graph& graph);

}  // namespace kiln

#endif  // KILN_IR_VERIFIER_H_
