#include "ir/attrs.h"

#include <array>

#include "ir/graph.h"

namespace kiln {
namespace {

constexpr std::array<std::pair<EpilogueOp::Kind, std::string_view>, 10> kEpilogueNames = {{
    {EpilogueOp::Kind::kBias, "bias"},
    {EpilogueOp::Kind::kRelu, "relu"},
    {EpilogueOp::Kind::kGelu, "gelu"},
    {EpilogueOp::Kind::kGeluTanh, "gelu_tanh"},
    {EpilogueOp::Kind::kSilu, "silu"},
    {EpilogueOp::Kind::kSigmoid, "sigmoid"},
    {EpilogueOp::Kind::kTanh, "tanh"},
    {EpilogueOp::Kind::kAdd, "add"},
    {EpilogueOp::Kind::kScale, "scale"},
    {EpilogueOp::Kind::kCast, "cast"},
}};

}  // namespace

std::string_view EpilogueKindName(EpilogueOp::Kind kind) {
  return kEpilogueNames[static_cast<int>(kind)].second;
}

bool ParseEpilogueKind(std::string_view name, EpilogueOp::Kind* kind) {
  for (const auto& [k, n] : kEpilogueNames) {
    if (n == name) {
      *kind = k;
      return true;
    }
  }
  return false;
}

bool AttrValueEquals(const AttrValue& a, const AttrValue& b) {
  if (a.index() != b.index()) return false;
  if (const auto* ga = std::get_if<std::shared_ptr<Graph>>(&a)) {
    const auto& gb = std::get<std::shared_ptr<Graph>>(b);
    if (!*ga || !gb) return *ga == gb;
    return StructurallyEqual(**ga, *gb);
  }
  return a == b;
}

const AttrValue* Attrs::Find(std::string_view name) const {
  for (const auto& [n, v] : items_) {
    if (n == name) return &v;
  }
  return nullptr;
}

void Attrs::Set(std::string name, AttrValue value) {
  for (auto& [n, v] : items_) {
    if (n == name) {
      v = std::move(value);
      return;
    }
  }
  items_.emplace_back(std::move(name), std::move(value));
}

void Attrs::Erase(std::string_view name) {
  std::erase_if(items_, [&](const auto& item) { return item.first == name; });
}

bool Attrs::operator==(const Attrs& o) const {
  if (items_.size() != o.items_.size()) return false;
  for (size_t i = 0; i < items_.size(); ++i) {
    if (items_[i].first != o.items_[i].first) return false;
    if (!AttrValueEquals(items_[i].second, o.items_[i].second)) return false;
  }
  return true;
}

}  // namespace kiln
