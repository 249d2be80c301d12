// The target-independent half of elementwise kernels (single elementwise/broadcast ops and
// `fusion` nodes, whose bodies hold only such ops; see passes/fuse_elementwise.h).
//
// PlanElementwise turns a node into iteration spaces ("nests"): one per distinct result shape,
// each with the body values it must compute, the operands it loads and their strides per merged
// dim (adjacent dims that broadcast alike in every operand are merged; static 1s are dropped, so
// the innermost stride is a literal 1 or 0). EmitElement writes the statements that compute one
// element at given per-dim indices. A target wraps them in loops (cpu) or a grid (cuda).
//
// Arithmetic follows the reference ops (src/ops/elementwise.cc): float dtypes compute in f32
// (f16/bf16 round after each op, as the reference stores each intermediate), integer and bool
// dtypes in int64 with wrap-around, narrowed after each op to their dtype. Scalar helpers come
// from kiln_scalar:: (src/codegen/runtime_src/kiln_scalar.h, host and device). One deviation: integer
// division by zero and integer pow with a negative exponent give 0 (the reference reports an
// error; a kernel cannot).
#ifndef KILN_CODEGEN_ELEMENTWISE_PLAN_H_
#define KILN_CODEGEN_ELEMENTWISE_PLAN_H_

#include <string>
#include <utility>
#include <vector>

#include "codegen/kernel_context.h"

namespace kiln::codegen {

/// An operand read by a nest: through `pointer` ("in0", or a body constant's array), with one
/// stride expression per merged dim ("0" where it broadcasts).
struct EwLoad {
  const Value* value = nullptr;
  std::string pointer;
  std::vector<std::string> strides;
};

/// One iteration space: `sizes` per merged dim (outer to inner), whose product is the element
/// count of every stored result.
struct EwNest {
  std::vector<std::string> sizes;
  std::vector<EwLoad> loads;
  /// Body nodes to compute, in order (constants excluded: they are loads).
  std::vector<const Node*> nodes;
  /// (value, kernel output index) written at the flat index.
  std::vector<std::pair<const Value*, int>> stores;
};

/// A constant inside a fusion body: the target declares `name` as an array of `literals`.
struct EwConstant {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::string> literals;
  std::string comment;  // "%c"
};

struct EwKernel {
  std::vector<EwConstant> constants;
  std::vector<EwNest> nests;
};

/// Plans ctx.node() (an elementwise/broadcast op or a fusion node). Unimplemented naming the
/// node for what cannot be planned.
StatusOr<EwKernel> PlanElementwise(const KernelContext& ctx);

/// The element offset of `load` at `index` (index expressions per merged dim): the sum of
/// index x stride over its non-zero strides, "0" when every stride is 0.
std::string LoadOffset(const EwLoad& load, const std::vector<std::string>& index);

/// Writes the statements of one element of `nest`: loads into locals, one local per body value,
/// and the stores `out<k>[flat] = ...`. `index[k]` is the index expression of merged dim k.
Status EmitElement(const EwNest& nest, const std::vector<std::string>& index, const std::string& flat,
                   CodeWriter& w);

/// The ops PlanElementwise plans, which a target's elementwise emitter registers for: the single
/// elementwise/broadcast ops and `fusion`.
const std::vector<OpKind>& ElementwiseOps();

}  // namespace kiln::codegen

#endif  // KILN_CODEGEN_ELEMENTWISE_PLAN_H_
