// sink-broadcasts: a tensor that only repeats a smaller one stays small until an op that needs
// it whole. Exported attention masks are the case it is for: transformers' SDPA path builds
// BERT's padding mask as
//
//   %q = greater_equal(%rows, %zero)          : bool[1,1,S,1]   (%rows: a slice of arange(512))
//   %m = where(%q, %keys, %false)             : bool[B,1,S,S]   (%keys: bool[B,1,1,S])
//   %a = where(%m, %zero_f, %min_f)           : f32[B,1,S,S]
//   %o = attention(%q_, %k_, %v_, %a)
//
// which materialises S copies of each key mask (BERT s384 at batch 64: 18.9 MB in f16, read by
// every layer's attention) although every query row is the same. After the pass the attention
// reads where(%keys, %zero_f, %min_f) : f32[B,1,1,S].
//
// Rewrites, repeated until none applies (each computes exactly the same values):
// 1. A comparison whose result is the same for every value its operand can hold, the other
//    operand being a one-value constant, becomes expand(that bool constant) to the result's
//    shape. An operand's possible values are known when it is a view (reshape, squeeze,
//    unsqueeze, slice, expand, transpose, flatten) of a constant; integer operands only, so the
//    comparison is exact. arange(seq) >= 0 is always true.
// 2. where(c, x, y) whose condition is a one-value constant (or an expand of one) becomes x (or
//    y), expanded to the result's shape where it is smaller.
// 3. A broadcasting elementwise op (unary, binary, comparison, where, cast) whose operands are
//    expands or one-value constants, at least one an expand, runs on the expands' operands and
//    is expanded after, when that result has fewer elements (an axis of extent 1 where the
//    result has another extent).
// 4. An expand read by an op that broadcasts that operand itself (a binary op, comparison or
//    where whose result type stays the same without it; the attention mask) is bypassed.
// The expands and constants left without users are removed by the dead-code pass.
//
// Preconditions: a verified graph. Postconditions: it verifies and computes the same values;
// graph outputs keep their names. Returns false when nothing changed.
#ifndef KILN_PASSES_SINK_BROADCASTS_H_
#define KILN_PASSES_SINK_BROADCASTS_H_

#include "passes/pass.h"

namespace kiln {

/// See the file comment.
class SinkBroadcastsPass : public Pass {
 public:
  std::string_view name() const override { return "sink-broadcasts"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_SINK_BROADCASTS_H_
