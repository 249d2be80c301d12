// The op registry: OpKind (from the X-macro src/ops/op_list.def) and one OpDef per op with its
// attribute schema, input arity, fusion kind, shape/dtype inference and CPU reference.
//
// The registry lives in ir so the parser, printer and verifier can use it; the definitions live
// in src/ops and are registered explicitly by kiln::RegisterAllOps() (no static initialisers).
#ifndef KILN_IR_OP_REGISTRY_H_
#define KILN_IR_OP_REGISTRY_H_

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ir/attrs.h"
#include "ir/type.h"
#include "kiln/status.h"
#include "support/tensor.h"

namespace kiln {

enum class OpKind : uint16_t {
#define KILN_OP(id, name) k##id,
#include "ops/op_list.def"
#undef KILN_OP
};

inline constexpr int kNumOpKinds = 0
#define KILN_OP(id, name) +1
#include "ops/op_list.def"
#undef KILN_OP
    ;

/// "conv2d", "add", ...
std::string_view OpName(OpKind kind);
std::optional<OpKind> OpKindFromName(std::string_view name);

/// How an op may be fused (as in TVM's OpPatternKind).
enum class FusionKind {
  kElementwise,      // out[i] = f(in[i]) for same-shape operands
  kBroadcast,        // elementwise with numpy broadcasting
  kInjective,        // each output element reads one input element (reshape, transpose, slice)
  kReduction,        // reduces axes (reduce_*, softmax, norms)
  kOutEwiseFusable,  // compute-heavy with a fusable epilogue (gemm, conv)
  kOpaque,           // not fused (attention, fusion, resize, ...)
  kSource,           // no inputs: weight, constant
};

enum class AttrKind { kBool, kInt, kFloat, kString, kEnum, kInts, kFloats, kDims, kDType, kEpilogue, kGraph };

struct AttrSpec {
  std::string name;
  AttrKind kind;
  /// nullopt: the attribute is required.
  std::optional<AttrValue> default_value;
  /// For kEnum: allowed identifiers.
  std::vector<std::string> enum_values = {};
};

class Node;

/// Output types from the node's input types and attributes. Errors name the node, the operand
/// and expected vs actual (use OpError() from ops/op_util.h).
using InferFn = std::function<StatusOr<std::vector<TensorType>>(const Node&)>;
/// Computes `outputs` (already allocated with their concrete shapes and dtypes) from `inputs`
/// on the CPU, accumulating in at least f32. Returns an error only for data-dependent problems
/// (e.g. an out-of-range gather index).
using ReferenceFn =
    std::function<Status(const Node&, std::span<const Tensor> inputs, std::span<Tensor> outputs)>;

struct OpDef {
  OpKind kind;
  FusionKind fusion = FusionKind::kOpaque;
  /// Explicit operands (epilogue operands of gemm/conv come on top). max -1: variadic.
  int min_inputs = 1;
  int max_inputs = 1;
  std::vector<AttrSpec> attrs;
  InferFn infer;
  ReferenceFn reference;
  /// One line for `kiln info`.
  std::string summary;
};

/// Registers a definition; aborts on a duplicate.
void RegisterOp(OpDef def);
/// The definition of `kind`; aborts if RegisterAllOps() has not registered it.
const OpDef& GetOpDef(OpKind kind);
bool IsOpRegistered(OpKind kind);

/// Validates attributes against the schema of `kind` and returns them canonical: unknown names
/// and wrong types are errors, ints widen to floats/dims where the schema says so, values equal
/// to their default are dropped, and the order is the schema's.
StatusOr<Attrs> NormalizeAttrs(OpKind kind, const Attrs& attrs);

/// Fills the registry with every op in src/ops (idempotent). Defined in src/ops/register.cc.
void RegisterAllOps();

}  // namespace kiln

#endif  // KILN_IR_OP_REGISTRY_H_
