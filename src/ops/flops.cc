#include "ops/flops.h"

#include <optional>

#include "ops/op_util.h"

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

// The element count of conv2d `node`'s own result: its output's, or with `max_pool` the count
// before the pool (the multiply-adds happen at every unpooled output pixel).
StatusOr<double> ConvOutputElements(const Node& node, const SymbolBindings& bindings) {
  const Value* y = node.output();
  if (node.GetInts("max_pool").empty()) return Elements(y->shape(), bindings);
  const bool nhwc = node.GetEnum("layout") == "nhwc";
  KILN_ASSIGN_OR_RETURN(double n, DimAt(y, 0, bindings));
  KILN_ASSIGN_OR_RETURN(double o, DimAt(y, nhwc ? 3 : 1, bindings));
  double pixels = 1;
  for (int i = 0; i < 2; ++i) {  // height, width
    const int axis = (nhwc ? 1 : 2) + i;
    KILN_ASSIGN_OR_RETURN(double in, DimAt(node.input(0), axis, bindings));
    KILN_ASSIGN_OR_RETURN(double k, DimAt(node.input(1), axis, bindings));
    const std::optional<int64_t> out = WindowCount(
        static_cast<int64_t>(in), static_cast<int64_t>(k), node.GetInts("stride")[i],
        node.GetInts("pad")[i], node.GetInts("pad")[i + 2], node.GetInts("dilation")[i], false);
    if (!out) return InternalError(node.Describe() + ": the conv output size does not compute");
    pixels *= static_cast<double>(*out);
  }
  return n * o * pixels;
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
        KILN_ASSIGN_OR_RETURN(double elements, node->op() == OpKind::kConv2d
                                                   ? ConvOutputElements(*node, bindings)
                                                   : Elements(node->input(0)->shape(), bindings));
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
