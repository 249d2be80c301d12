#include "ir/printer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <type_traits>

#include "ir/lexer.h"

namespace kiln {
namespace {

std::string Indent(int level) { return std::string(2 * level, ' '); }

std::string Name(char sigil, const std::string& name) {
  return sigil + (IsBareName(name) ? name : QuoteString(name));
}

std::string ValueRef(const Value* v) { return v ? Name('%', v->name()) : "%<null>"; }

template <typename T, typename F>
std::string List(const std::vector<T>& items, const char* sep, F&& format) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += format(items[i]);
  }
  return out + "]";
}

class Printer {
 public:
  explicit Printer(std::string* out) : out_(*out) {}

  void PrintGraphAt(const Graph& g, int level, bool top) {
    out_ += "graph " + Name('@', g.name()) + "(";
    for (size_t i = 0; i < g.inputs().size(); ++i) {
      const Value* in = g.inputs()[i];
      out_ += (i ? ", " : "") + ValueRef(in) + ": " + in->type().ToString();
    }
    out_ += ") -> (";
    for (size_t i = 0; i < g.outputs().size(); ++i) {
      out_ += (i ? ", " : "") + ValueRef(g.outputs()[i]);
    }
    out_ += ")";
    // Nested graphs inherit their parent's symbols, so only the top level declares them.
    if (top && !g.symbols().empty()) {
      out_ += " where ";
      bool first = true;
      for (const auto& [sym, range] : g.symbols()) {
        out_ += (first ? "" : ", ") + sym + " in [" + std::to_string(range.min) + ", " +
                std::to_string(range.max) + "]";
        first = false;
      }
    }
    out_ += " {\n";
    for (const auto& node : g.nodes()) {
      out_ += Indent(level + 1);
      PrintNodeAt(*node, level + 1);
      out_ += "\n";
    }
    out_ += Indent(level) + "}";
  }

  void PrintNodeAt(const Node& node, int level) {
    for (int i = 0; i < node.num_outputs(); ++i) {
      out_ += (i ? ", " : "") + ValueRef(node.output(i));
    }
    out_ += " = " + std::string(node.op_name());
    if (!PrintSourceForm(node)) PrintGenericForm(node, level);
    out_ += " :";
    for (int i = 0; i < node.num_outputs(); ++i) {
      out_ += (i ? ", " : " ") + node.output(i)->type().ToString();
    }
  }

 private:
  // `weight "name"` and `constant [values]`: the dtype and shape attrs are implied by the
  // declared type. Falls back to the generic form for a malformed node so printing never fails.
  bool PrintSourceForm(const Node& node) {
    if (node.num_inputs() != 0 || node.num_outputs() != 1) return false;
    if (node.op() == OpKind::kWeight) {
      const AttrValue* name = node.attrs().Find("name");
      if (!name || !std::holds_alternative<std::string>(*name)) return false;
      out_ += " " + QuoteString(std::get<std::string>(*name));
      return true;
    }
    if (node.op() == OpKind::kConstant) {
      const AttrValue* value = node.attrs().Find("value");
      if (!value || !std::holds_alternative<std::vector<double>>(*value)) return false;
      DType dtype = node.output()->dtype();
      bool as_int = IsInteger(dtype) || dtype == DType::kBool;
      out_ += " " + List(std::get<std::vector<double>>(*value), ", ", [&](double v) {
        // 2^63 bounds the doubles that convert to int64 exactly.
        if (as_int && std::trunc(v) == v && std::abs(v) < 9.2233720368547758e18) {
          return std::to_string(static_cast<int64_t>(v));
        }
        return FormatFloat(v);
      });
      return true;
    }
    return false;
  }

  void PrintGenericForm(const Node& node, int level) {
    // Epilogue operands are the trailing inputs; they print inside the epilogue list.
    int num_explicit = std::max(0, std::min(node.num_explicit_inputs(), node.num_inputs()));
    out_ += "(";
    for (int i = 0; i < num_explicit; ++i) out_ += (i ? ", " : "") + ValueRef(node.input(i));
    out_ += ")";
    if (node.attrs().empty()) return;
    int next_operand = num_explicit;
    out_ += " {";
    bool first = true;
    for (const auto& [name, value] : node.attrs().items()) {
      out_ += (first ? "" : ", ") + name + "=";
      first = false;
      PrintAttr(node, value, level, &next_operand);
    }
    out_ += "}";
  }

  void PrintAttr(const Node& node, const AttrValue& value, int level, int* next_operand) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, bool>) {
            out_ += v ? "true" : "false";
          } else if constexpr (std::is_same_v<T, int64_t>) {
            out_ += std::to_string(v);
          } else if constexpr (std::is_same_v<T, double>) {
            out_ += FormatFloat(v);
          } else if constexpr (std::is_same_v<T, std::string>) {
            out_ += QuoteString(v);
          } else if constexpr (std::is_same_v<T, EnumValue>) {
            out_ += v.name;
          } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
            out_ += List(v, ",", [](int64_t x) { return std::to_string(x); });
          } else if constexpr (std::is_same_v<T, std::vector<double>>) {
            out_ += List(v, ",", FormatFloat);
          } else if constexpr (std::is_same_v<T, std::vector<Dim>>) {
            out_ += List(v, ",", [](const Dim& d) { return d.ToString(); });
          } else if constexpr (std::is_same_v<T, DType>) {
            out_ += DTypeName(v);
          } else if constexpr (std::is_same_v<T, Epilogue>) {
            out_ += List(v, ", ", [&](const EpilogueOp& op) {
              return EpilogueStep(node, op, next_operand);
            });
          } else if constexpr (std::is_same_v<T, std::shared_ptr<Graph>>) {
            if (v) {
              PrintGraphAt(*v, level, /*top=*/false);
            } else {
              out_ += "graph @<null>() -> () {}";
            }
          }
        },
        value);
  }

  static std::string EpilogueStep(const Node& node, const EpilogueOp& op, int* next_operand) {
    std::string s(EpilogueKindName(op.kind));
    if (op.TakesOperand()) {
      int i = *next_operand;
      const Value* operand = i < node.num_inputs() ? node.input(i) : nullptr;
      ++*next_operand;
      s += "(" + ValueRef(operand) + ")";
    } else if (op.kind == EpilogueOp::Kind::kScale) {
      s += "(" + FormatFloat(op.scale) + ")";
    } else if (op.kind == EpilogueOp::Kind::kCast) {
      s += "(" + std::string(DTypeName(op.dtype)) + ")";
    }
    return s;
  }

  std::string& out_;
};

}  // namespace

std::string FormatFloat(double value) {
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof(buf), value);
  std::string s(buf, result.ptr);
  // 'n' catches inf and nan, which the parser reads as floats.
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string PrintGraph(const Graph& graph) {
  std::string out;
  Printer(&out).PrintGraphAt(graph, 0, /*top=*/true);
  return out + "\n";
}

std::string PrintNode(const Node& node) {
  std::string out;
  Printer(&out).PrintNodeAt(node, 0);
  return out;
}

}  // namespace kiln
