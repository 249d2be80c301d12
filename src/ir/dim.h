// Dim: one dimension of a shape, either a static integer or an integer polynomial over named
// symbols (`N`, `seq*12`, `N*S`, `H*W+1`). Symbols get ranges at the graph level; a Dim is
// evaluated once the symbols are bound to concrete values at run time.
#ifndef KILN_IR_DIM_H_
#define KILN_IR_DIM_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln {

/// Concrete values of symbols, e.g. {"N": 8, "seq": 128}.
using SymbolBindings = std::map<std::string, int64_t>;

class Dim {
 public:
  Dim() = default;
  Dim(int64_t value);  // NOLINT: implicit so shapes read like {N, 56, 56, 256}
  /// A dim that is the symbol `name`.
  static Dim Symbol(const std::string& name);

  /// True when the dim has no symbols.
  bool is_static() const;
  /// The static value; aborts if symbolic (check is_static() first).
  int64_t value() const;
  std::optional<int64_t> static_value() const;
  /// Symbols that occur in the dim.
  std::set<std::string> Symbols() const;

  Dim operator+(const Dim& o) const;
  Dim operator-(const Dim& o) const;
  Dim operator*(const Dim& o) const;
  /// Exact division by a positive constant; error if some coefficient is not divisible.
  StatusOr<Dim> DivExact(int64_t divisor) const;
  /// Exact division by a single-monomial dim (e.g. (N*S*768) / (S*12) = N*64); error otherwise.
  StatusOr<Dim> DivExact(const Dim& divisor) const;
  /// Floor division of a static dim, or exact division of a symbolic one (conv output sizes).
  StatusOr<Dim> FloorDiv(int64_t divisor) const;

  /// Value under `bindings`; NotFound error naming the first unbound symbol.
  StatusOr<int64_t> Evaluate(const SymbolBindings& bindings) const;

  /// Canonical text: monomials in lexicographic order, each `A*B*coef`, constant last
  /// (`N*S*12+3`, `seq-1`, `-N`). Parse(ToString()) == *this.
  std::string ToString() const;

  bool operator==(const Dim& o) const { return terms_ == o.terms_; }
  bool operator!=(const Dim& o) const { return !(*this == o); }

 private:
  // monomial (sorted symbol names, repeated for powers; empty for the constant) -> coefficient.
  // Zero coefficients are never stored.
  std::map<std::vector<std::string>, int64_t> terms_;
};

}  // namespace kiln

#endif  // KILN_IR_DIM_H_
