// The target-independent half of the reduce-family emitters (src/codegen/{cpu,cuda}/reduce.cc,
// and the emitters that view an operand around one axis: norms, gathers, concat): the operand's
// dims with a 0/1 mask of reduced axes, the [outer, len, inner] split around an axis, and the
// Reduction enumerator of a reduce op.
#ifndef KILN_CODEGEN_REDUCE_PLAN_H_
#define KILN_CODEGEN_REDUCE_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/kernel_context.h"
#include "kiln/status.h"

namespace kiln::codegen {

/// The reduce_* ops: reduce_sum, reduce_mean, reduce_max, reduce_min, reduce_prod.
const std::vector<OpKind>& ReduceOps();

/// "kSum", "kMean", "kMax", "kMin" or "kProd": the Reduction enumerator (kiln_cpu:: and
/// kiln_cuda:: name them alike) of a reduce_* op.
const char* ReductionEnumerator(OpKind op);

/// The operand of a reduce_* node as the runtime Reduce kernels take it: its dims and, per dim,
/// "1" when it is reduced and "0" when it is kept (a kernel coalesces them at run time).
struct ReducePlan {
  std::vector<std::string> dims;
  std::vector<std::string> reduced;
};

/// Plans the reduce_* node of `ctx` (attribute axes; empty reduces every axis). A rank-0 operand
/// reduces to itself: one kept axis of size 1. Errors: an axis out of range.
StatusOr<ReducePlan> PlanReduce(const KernelContext& ctx);

/// `shape` viewed as [outer, len, inner] around axis `axis`: products of the dims before it, the
/// dim itself and the dims after it, as C++ expressions. Precondition: 0 <= axis < rank.
struct AxisSplit {
  std::string outer, len, inner;
};
AxisSplit SplitAroundAxis(const KernelContext& ctx, const Shape& shape, int64_t axis);

}  // namespace kiln::codegen

#endif  // KILN_CODEGEN_REDUCE_PLAN_H_
