#include "ir/op_registry.h"

#include <array>
#include <memory>

#include "support/check.h"

namespace kiln {
namespace {

constexpr std::array<std::string_view, kNumOpKinds> kOpNames = {
#define KILN_OP(id, name) name,
#include "ops/op_list.def"
#undef KILN_OP
};

std::array<std::unique_ptr<OpDef>, kNumOpKinds>& Registry() {
  static std::array<std::unique_ptr<OpDef>, kNumOpKinds> registry;
  return registry;
}

const char* AttrKindName(AttrKind kind) {
  switch (kind) {
    case AttrKind::kBool: return "bool";
    case AttrKind::kInt: return "int";
    case AttrKind::kFloat: return "float";
    case AttrKind::kString: return "string";
    case AttrKind::kEnum: return "identifier";
    case AttrKind::kInts: return "list of ints";
    case AttrKind::kFloats: return "list of floats";
    case AttrKind::kDims: return "list of dims";
    case AttrKind::kDType: return "dtype";
    case AttrKind::kEpilogue: return "epilogue list";
    case AttrKind::kGraph: return "graph";
  }
  return "?";
}

// Converts `v` to the representation of `spec.kind` where that is lossless (int -> float,
// ints -> floats/dims, identifier -> dtype, empty list -> any list); nullopt if it cannot be.
std::optional<AttrValue> Coerce(const AttrSpec& spec, const AttrValue& v) {
  auto empty_list = [&] {
    if (auto* l = std::get_if<std::vector<int64_t>>(&v)) return l->empty();
    if (auto* l = std::get_if<std::vector<double>>(&v)) return l->empty();
    if (auto* l = std::get_if<std::vector<Dim>>(&v)) return l->empty();
    if (auto* l = std::get_if<Epilogue>(&v)) return l->empty();
    return false;
  }();
  switch (spec.kind) {
    case AttrKind::kBool:
      if (std::holds_alternative<bool>(v)) return v;
      break;
    case AttrKind::kInt:
      if (std::holds_alternative<int64_t>(v)) return v;
      break;
    case AttrKind::kFloat:
      if (std::holds_alternative<double>(v)) return v;
      if (auto* i = std::get_if<int64_t>(&v)) return AttrValue(static_cast<double>(*i));
      break;
    case AttrKind::kString:
      if (std::holds_alternative<std::string>(v)) return v;
      break;
    case AttrKind::kEnum:
      if (auto* e = std::get_if<EnumValue>(&v)) {
        for (const auto& allowed : spec.enum_values) {
          if (allowed == e->name) return v;
        }
        return std::nullopt;
      }
      if (auto* s = std::get_if<std::string>(&v)) return Coerce(spec, EnumValue{*s});
      break;
    case AttrKind::kInts:
      if (std::holds_alternative<std::vector<int64_t>>(v)) return v;
      if (empty_list) return AttrValue(std::vector<int64_t>{});
      break;
    case AttrKind::kFloats:
      if (std::holds_alternative<std::vector<double>>(v)) return v;
      if (auto* l = std::get_if<std::vector<int64_t>>(&v)) {
        return AttrValue(std::vector<double>(l->begin(), l->end()));
      }
      if (empty_list) return AttrValue(std::vector<double>{});
      break;
    case AttrKind::kDims:
      if (std::holds_alternative<std::vector<Dim>>(v)) return v;
      if (auto* l = std::get_if<std::vector<int64_t>>(&v)) {
        return AttrValue(std::vector<Dim>(l->begin(), l->end()));
      }
      if (empty_list) return AttrValue(std::vector<Dim>{});
      break;
    case AttrKind::kDType:
      if (std::holds_alternative<DType>(v)) return v;
      if (auto* e = std::get_if<EnumValue>(&v)) {
        if (auto d = ParseDType(e->name)) return AttrValue(*d);
      }
      break;
    case AttrKind::kEpilogue:
      if (std::holds_alternative<Epilogue>(v)) return v;
      if (empty_list) return AttrValue(Epilogue{});
      break;
    case AttrKind::kGraph:
      if (std::holds_alternative<std::shared_ptr<Graph>>(v)) return v;
      break;
  }
  return std::nullopt;
}

}  // namespace

std::string_view OpName(OpKind kind) { return kOpNames[static_cast<int>(kind)]; }

std::optional<OpKind> OpKindFromName(std::string_view name) {
  for (int i = 0; i < kNumOpKinds; ++i) {
    if (kOpNames[i] == name) return static_cast<OpKind>(i);
  }
  return std::nullopt;
}

void RegisterOp(OpDef def) {
  auto& slot = Registry()[static_cast<int>(def.kind)];
  KILN_CHECK(!slot) << "op '" << OpName(def.kind) << "' registered twice";
  slot = std::make_unique<OpDef>(std::move(def));
}

const OpDef& GetOpDef(OpKind kind) {
  const auto& slot = Registry()[static_cast<int>(kind)];
  KILN_CHECK(slot) << "op '" << OpName(kind)
                   << "' is not registered (RegisterAllOps() not called, or its family misses it)";
  return *slot;
}

bool IsOpRegistered(OpKind kind) { return Registry()[static_cast<int>(kind)] != nullptr; }

StatusOr<Attrs> NormalizeAttrs(OpKind kind, const Attrs& attrs) {
  const OpDef& def = GetOpDef(kind);
  for (const auto& [name, value] : attrs.items()) {
    bool known = false;
    for (const auto& spec : def.attrs) known |= spec.name == name;
    if (!known) {
      std::string allowed;
      for (const auto& spec : def.attrs) allowed += (allowed.empty() ? "" : ", ") + spec.name;
      return InvalidArgument("unknown attribute '" + name + "' for op '" +
                             std::string(OpName(kind)) + "' (allowed: " +
                             (allowed.empty() ? "none" : allowed) + ")");
    }
  }
  Attrs out;
  for (const auto& spec : def.attrs) {
    const AttrValue* v = attrs.Find(spec.name);
    if (!v) {
      if (!spec.default_value) {
        return InvalidArgument("op '" + std::string(OpName(kind)) + "' requires attribute '" +
                               spec.name + "' (" + AttrKindName(spec.kind) + ")");
      }
      continue;
    }
    std::optional<AttrValue> c = Coerce(spec, *v);
    if (!c) {
      std::string expected = AttrKindName(spec.kind);
      if (spec.kind == AttrKind::kEnum) {
        expected += " one of";
        for (const auto& e : spec.enum_values) expected += " " + e;
      }
      return InvalidArgument("attribute '" + spec.name + "' of op '" + std::string(OpName(kind)) +
                             "' has the wrong type or value, expected " + expected);
    }
    if (spec.default_value && AttrValueEquals(*c, *spec.default_value)) continue;
    out.Set(spec.name, std::move(*c));
  }
  return out;
}

}  // namespace kiln
