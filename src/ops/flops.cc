#include "ops/flops.h"

namespace kiln {
namespace {

// The product of `shape`'s dims at `bindings`.
StatusOr<double> Elements(const Shape& shape, const SymbolBindings& bindings) {
  double n = 1;
  for (const Dim& d : shape) {
    KILN_ASSIGN_OR_RETURN(int64_t v, d.Evaluate(bindings));
    n *= static_cast<double>(v);
  }
  return n;
}

StatusOr<double> DimAt(const Value* v, int64_t axis, const SymbolBindings& bindings) {
  KILN_ASSIGN_OR_RETURN(int64_t d, v->shape()[axis].Evaluate(bindings));
  return static_cast<double>(d);
}

}  // namespace

StatusOr<FlopCount> CountFlops(const Graph& graph, const SymbolBindings& bindings) {
  FlopCount f;
  for (const auto& node : graph.nodes()) {
    switch (node->op()) {
      case OpKind::kGemm: {  // a [.., M, K] (or [.., K, M] with trans_a), out [.., M, N]
        const Value* a = node->input(0);
        const int64_t rank = a->rank();
        KILN_ASSIGN_OR_RETURN(double out, Elements(node->output()->shape(), bindings));
        KILN_ASSIGN_OR_RETURN(double k, DimAt(a, node->GetBool("trans_a") ? rank - 2 : rank - 1, bindings));
        f.gemm += 2 * out * k;
        break;
      }
      case OpKind::kConv2d:             // weight [K, ...]: C / groups x R x S per output element
      case OpKind::kConvTranspose2d: {  // weight [C, ...]: K / groups x R x S per input element
        const Value* w = node->input(1);
        const Value* each = node->op() == OpKind::kConv2d ? node->output() : node->input(0);
        KILN_ASSIGN_OR_RETURN(double elements, Elements(each->shape(), bindings));
        KILN_ASSIGN_OR_RETURN(double weights, Elements(w->shape(), bindings));
        KILN_ASSIGN_OR_RETURN(double w0, DimAt(w, 0, bindings));
        f.conv += 2 * elements * weights / w0;
        break;
      }
      case OpKind::kAttention: {  // out [B, Sq, H, Dv]; q [B, Sq, H, D] (packed: [B, S, 3, H, D])
        const bool packed = node->GetBool("packed");
        const Value* q = node->input(0);
        const Value* k = packed ? q : node->input(1);
        KILN_ASSIGN_OR_RETURN(double out, Elements(node->output()->shape(), bindings));
        KILN_ASSIGN_OR_RETURN(double dv, DimAt(node->output(), 3, bindings));
        KILN_ASSIGN_OR_RETURN(double d, DimAt(q, packed ? 4 : 3, bindings));
        KILN_ASSIGN_OR_RETURN(double sk, DimAt(k, 1, bindings));
        f.attention += 2 * (out / dv) * sk * (d + dv);
        break;
      }
      default:
        break;
    }
  }
  return f;
}

SymbolBindings MaxBindings(const Graph& graph) {
  SymbolBindings b;
  for (const auto& [name, range] : graph.symbols()) b[name] = range.max;
  return b;
}

}  // namespace kiln
