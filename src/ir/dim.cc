#include "ir/dim.h"

#include <algorithm>

#include "support/check.h"

namespace kiln {

Dim::Dim(int64_t value) {
  if (value != 0) terms_[{}] = value;
}

Dim Dim::Symbol(const std::string& name) {
  Dim d;
  d.terms_[{name}] = 1;
  return d;
}

bool Dim::is_static() const {
  return terms_.empty() || (terms_.size() == 1 && terms_.begin()->first.empty());
}

int64_t Dim::value() const {
  KILN_CHECK(is_static()) << "symbolic dim " << ToString();
  return terms_.empty() ? 0 : terms_.begin()->second;
}

std::optional<int64_t> Dim::static_value() const {
  if (!is_static()) return std::nullopt;
  return value();
}

std::set<std::string> Dim::Symbols() const {
  std::set<std::string> out;
  for (const auto& [mono, coef] : terms_) out.insert(mono.begin(), mono.end());
  return out;
}

Dim Dim::operator+(const Dim& o) const {
  Dim r = *this;
  for (const auto& [mono, coef] : o.terms_) {
    int64_t c = (r.terms_[mono] += coef);
    if (c == 0) r.terms_.erase(mono);
  }
  return r;
}

Dim Dim::operator-(const Dim& o) const { return *this + o * Dim(-1); }

Dim Dim::operator*(const Dim& o) const {
  Dim r;
  for (const auto& [m1, c1] : terms_) {
    for (const auto& [m2, c2] : o.terms_) {
      std::vector<std::string> mono = m1;
      mono.insert(mono.end(), m2.begin(), m2.end());
      std::sort(mono.begin(), mono.end());
      int64_t c = (r.terms_[mono] += c1 * c2);
      if (c == 0) r.terms_.erase(mono);
    }
  }
  return r;
}

StatusOr<Dim> Dim::DivExact(int64_t divisor) const {
  if (divisor <= 0) return InvalidArgument("division of dim " + ToString() + " by " +
                                           std::to_string(divisor));
  Dim r;
  for (const auto& [mono, coef] : terms_) {
    if (coef % divisor != 0) {
      return InvalidArgument("dim " + ToString() + " is not divisible by " +
                             std::to_string(divisor));
    }
    r.terms_[mono] = coef / divisor;
  }
  return r;
}

StatusOr<Dim> Dim::DivExact(const Dim& divisor) const {
  if (divisor.terms_.size() != 1) {
    return InvalidArgument("cannot divide dim " + ToString() + " by " + divisor.ToString());
  }
  const auto& [dmono, dcoef] = *divisor.terms_.begin();
  Dim r;
  for (const auto& [mono, coef] : terms_) {
    // Remove each symbol of the divisor's monomial from this monomial (multiset difference).
    std::vector<std::string> rest = mono;
    for (const auto& s : dmono) {
      auto it = std::find(rest.begin(), rest.end(), s);
      if (it == rest.end() || dcoef == 0 || coef % dcoef != 0) {
        return InvalidArgument("dim " + ToString() + " is not divisible by " + divisor.ToString());
      }
      rest.erase(it);
    }
    if (dmono.empty() && (dcoef == 0 || coef % dcoef != 0)) {
      return InvalidArgument("dim " + ToString() + " is not divisible by " + divisor.ToString());
    }
    r.terms_[rest] += coef / dcoef;
  }
  return r;
}

StatusOr<Dim> Dim::FloorDiv(int64_t divisor) const {
  if (is_static() && divisor > 0) {
    int64_t v = value();
    int64_t q = v / divisor;
    if ((v % divisor != 0) && ((v < 0) != (divisor < 0))) --q;
    return Dim(q);
  }
  return DivExact(divisor);
}

StatusOr<int64_t> Dim::Evaluate(const SymbolBindings& bindings) const {
  int64_t total = 0;
  for (const auto& [mono, coef] : terms_) {
    int64_t v = coef;
    for (const auto& s : mono) {
      auto it = bindings.find(s);
      if (it == bindings.end()) return NotFound("symbol '" + s + "' has no value");
      v *= it->second;
    }
    total += v;
  }
  return total;
}

std::string Dim::ToString() const {
  if (terms_.empty()) return "0";
  std::string out;
  bool first = true;
  auto emit = [&](const std::vector<std::string>& mono, int64_t coef) {
    int64_t mag = coef < 0 ? -coef : coef;
    if (coef < 0) out += "-";
    else if (!first) out += "+";
    first = false;
    if (mono.empty()) {
      out += std::to_string(mag);
      return;
    }
    for (size_t i = 0; i < mono.size(); ++i) out += (i ? "*" : "") + mono[i];
    if (mag != 1) out += "*" + std::to_string(mag);
  };
  for (const auto& [mono, coef] : terms_) {
    if (!mono.empty()) emit(mono, coef);
  }
  auto c = terms_.find({});
  if (c != terms_.end()) emit({}, c->second);
  return out;
}

}  // namespace kiln
