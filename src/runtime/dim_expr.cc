#include "runtime/dim_expr.h"

#include <cctype>

namespace kiln {
namespace {

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

}  // namespace

StatusOr<DimExpr> DimExpr::Parse(std::string_view text) {
  DimExpr expr;
  expr.text_ = std::string(text);
  size_t pos = 0;
  auto skip_space = [&] {
    while (pos < text.size() && text[pos] == ' ') ++pos;
  };
  auto error = [&](const std::string& what) {
    return InvalidArgument("dim expression \"" + std::string(text) + "\", column " +
                           std::to_string(pos + 1) + ": " + what);
  };
  skip_space();
  if (pos == text.size()) return error("empty");
  int64_t sign = 1;
  if (text[pos] == '-' || text[pos] == '+') {
    sign = text[pos] == '-' ? -1 : 1;
    ++pos;
  }
  while (true) {
    Term term;
    term.coef = sign;
    // One term: factors joined by '*'.
    while (true) {
      skip_space();
      if (pos < text.size() && IsDigit(text[pos])) {
        int64_t v = 0;
        while (pos < text.size() && IsDigit(text[pos])) {
          if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, text[pos] - '0', &v)) {
            return error("integer overflows int64");
          }
          ++pos;
        }
        if (__builtin_mul_overflow(term.coef, v, &term.coef)) {
          return error("integer overflows int64");
        }
      } else if (pos < text.size() && IsIdentStart(text[pos])) {
        size_t begin = pos;
        while (pos < text.size() && IsIdentChar(text[pos])) ++pos;
        term.symbols.emplace_back(text.substr(begin, pos - begin));
      } else {
        return error(pos == text.size() ? "expected a number or a symbol at the end"
                                        : "expected a number or a symbol");
      }
      skip_space();
      if (pos < text.size() && text[pos] == '*') {
        ++pos;
        continue;
      }
      break;
    }
    expr.terms_.push_back(std::move(term));
    if (pos == text.size()) break;
    if (text[pos] != '+' && text[pos] != '-') return error("expected +, - or *");
    sign = text[pos] == '-' ? -1 : 1;
    ++pos;
  }
  return expr;
}

StatusOr<int64_t> DimExpr::Evaluate(const std::map<std::string, int64_t>& values) const {
  int64_t sum = 0;
  for (const Term& term : terms_) {
    int64_t product = term.coef;
    for (const std::string& s : term.symbols) {
      auto it = values.find(s);
      if (it == values.end()) {
        return NotFound("dim expression \"" + text_ + "\": symbol " + s + " is not bound");
      }
      if (__builtin_mul_overflow(product, it->second, &product)) {
        return OutOfRange("dim expression \"" + text_ + "\" overflows int64");
      }
    }
    if (__builtin_add_overflow(sum, product, &sum)) {
      return OutOfRange("dim expression \"" + text_ + "\" overflows int64");
    }
  }
  return sum;
}

std::optional<std::string> DimExpr::AsSymbol() const {
  if (terms_.size() == 1 && terms_[0].coef == 1 && terms_[0].symbols.size() == 1) {
    return terms_[0].symbols[0];
  }
  return std::nullopt;
}

std::set<std::string> DimExpr::Symbols() const {
  std::set<std::string> out;
  for (const Term& term : terms_) out.insert(term.symbols.begin(), term.symbols.end());
  return out;
}

}  // namespace kiln
