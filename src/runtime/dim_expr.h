// DimExpr: a dim expression as a module library declares it (kiln_io_info::dim_exprs), parsed
// and evaluated without the IR (the runtime depends on support only). The text is kiln's
// canonical Dim::ToString form: terms joined by + and -, each a product of an integer and
// symbol names joined by * ("N", "S*12", "N*S*12+3", "seq-1", "-N"); no parentheses.
#ifndef KILN_RUNTIME_DIM_EXPR_H_
#define KILN_RUNTIME_DIM_EXPR_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/status.h"

namespace kiln {

class DimExpr {
 public:
  /// Parses `text`; InvalidArgument naming the text and the column of the first bad character.
  static StatusOr<DimExpr> Parse(std::string_view text);

  /// The value with the symbols bound by `values`; NotFound naming the first unbound symbol,
  /// OutOfRange on int64 overflow.
  StatusOr<int64_t> Evaluate(const std::map<std::string, int64_t>& values) const;
  /// The symbol name when the expression is exactly one symbol with coefficient 1 (such a dim
  /// binds its symbol from an input's shape).
  std::optional<std::string> AsSymbol() const;
  /// Every symbol that occurs.
  std::set<std::string> Symbols() const;
  /// The text it was parsed from.
  const std::string& text() const { return text_; }

 private:
  struct Term {
    int64_t coef = 1;
    std::vector<std::string> symbols;
  };
  std::string text_;
  std::vector<Term> terms_;
};

}  // namespace kiln

#endif  // KILN_RUNTIME_DIM_EXPR_H_
