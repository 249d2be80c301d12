#include "ir/graph.h"

#include <algorithm>

#include "support/check.h"

namespace kiln {

// ---------------------------------------------------------------- Node

int Node::num_explicit_inputs() const {
  int n = num_inputs();
  if (const AttrValue* v = attrs_.Find("epilogue")) {
    for (const EpilogueOp& op : std::get<Epilogue>(*v)) n -= op.TakesOperand() ? 1 : 0;
  }
  return n;
}

const AttrValue& Node::Get(std::string_view name) const {
  if (const AttrValue* v = attrs_.Find(name)) return *v;
  for (const AttrSpec& spec : def().attrs) {
    if (spec.name == name) {
      KILN_CHECK(spec.default_value) << "required attribute '" << name << "' missing on "
                                     << Describe();
      return *spec.default_value;
    }
  }
  KILN_CHECK(false) << "op '" << op_name() << "' has no attribute '" << name << "'";
  std::abort();
}

#define KILN_ATTR_GETTER(Name, Type)                                                     \
  Type Node::Name(std::string_view name) const {                                         \
    const AttrValue& v = Get(name);                                                      \
    KILN_CHECK(std::holds_alternative<std::decay_t<Type>>(v))                            \
        << "attribute '" << name << "' of " << Describe() << " has another type";        \
    return std::get<std::decay_t<Type>>(v);                                              \
  }
KILN_ATTR_GETTER(GetBool, bool)
KILN_ATTR_GETTER(GetInt, int64_t)
KILN_ATTR_GETTER(GetFloat, double)
KILN_ATTR_GETTER(GetString, const std::string&)
KILN_ATTR_GETTER(GetInts, const std::vector<int64_t>&)
KILN_ATTR_GETTER(GetFloats, const std::vector<double>&)
KILN_ATTR_GETTER(GetDims, const std::vector<Dim>&)
KILN_ATTR_GETTER(GetDType, DType)
KILN_ATTR_GETTER(GetEpilogue, const Epilogue&)
#undef KILN_ATTR_GETTER

const std::string& Node::GetEnum(std::string_view name) const {
  const AttrValue& v = Get(name);
  KILN_CHECK(std::holds_alternative<EnumValue>(v)) << "attribute '" << name << "' not an enum";
  return std::get<EnumValue>(v).name;
}

const Graph& Node::GetGraph(std::string_view name) const {
  const AttrValue& v = Get(name);
  KILN_CHECK(std::holds_alternative<std::shared_ptr<Graph>>(v)) << "attribute not a graph";
  return *std::get<std::shared_ptr<Graph>>(v);
}

std::string Node::Describe() const {
  std::string s;
  for (size_t i = 0; i < outputs_.size(); ++i) s += (i ? ", %" : "%") + outputs_[i]->name();
  if (!s.empty()) s += " = ";
  s += std::string(op_name());
  if (line_ > 0) s += " (line " + std::to_string(line_) + ")";
  return s;
}

// ---------------------------------------------------------------- Graph

Graph::Graph(std::string name) : name_(std::move(name)), weights_(std::make_shared<TensorMap>()) {}

Status Graph::SetSymbolRange(const std::string& name, int64_t min, int64_t max) {
  auto it = symbols_.find(name);
  if (it == symbols_.end()) {
    std::string have;
    for (const auto& [n, r] : symbols_) have += (have.empty() ? "" : ", ") + n;
    return NotFound("graph @" + name_ + " has no symbol '" + name + "' (its symbols: " +
                    (have.empty() ? "none, all dims are static" : have) + ")");
  }
  if (min > max || min < 0) {
    return InvalidArgument("symbol '" + name + "': empty or negative range [" +
                           std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  it->second = {min, max};
  return Status::Ok();
}

Status Graph::AddSymbol(const std::string& name, int64_t min, int64_t max) {
  if (min > max || min < 0) {
    return InvalidArgument("symbol '" + name + "' has an empty or negative range [" +
                           std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  auto it = symbols_.find(name);
  if (it != symbols_.end() && !(it->second == SymbolRange{min, max})) {
    return InvalidArgument("symbol '" + name + "' declared with range [" +
                           std::to_string(it->second.min) + ", " +
                           std::to_string(it->second.max) + "] and again with [" +
                           std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  symbols_[name] = {min, max};
  return Status::Ok();
}

Dim Graph::Sym(const std::string& name, int64_t min, int64_t max) {
  Status s = AddSymbol(name, min, max);
  KILN_CHECK(s.ok()) << s.ToString();
  return Dim::Symbol(name);
}

Value* Graph::NewValue(const std::string& name, TensorType type) {
  auto v = std::make_unique<Value>();
  v->name_ = name.empty() ? FreshName("v") : name;
  KILN_CHECK(!values_by_name_.count(v->name_)) << "value %" << v->name_ << " defined twice";
  v->type_ = std::move(type);
  Value* raw = v.get();
  values_by_name_[raw->name_] = raw;
  values_.push_back(std::move(v));
  return raw;
}

Value* Graph::AddInput(const std::string& name, TensorType type) {
  Value* v = NewValue(name, std::move(type));
  inputs_.push_back(v);
  return v;
}

StatusOr<Node*> Graph::AddNode(OpKind op, std::vector<Value*> inputs, Attrs attrs,
                               std::vector<std::string> output_names) {
  const OpDef& def = GetOpDef(op);
  auto node = std::make_unique<Node>();
  node->op_ = op;
  node->inputs_ = std::move(inputs);
  for (Value* v : node->inputs_) {
    if (v == nullptr) return InvalidArgument("op '" + std::string(OpName(op)) + "': null operand");
  }
  auto normalized = NormalizeAttrs(op, attrs);
  if (!normalized.ok()) return normalized.status();
  node->attrs_ = std::move(normalized).value();
  int explicit_inputs = node->num_explicit_inputs();
  if (explicit_inputs < def.min_inputs || (def.max_inputs >= 0 && explicit_inputs > def.max_inputs)) {
    return InvalidArgument("op '" + std::string(OpName(op)) + "' takes " +
                           std::to_string(def.min_inputs) +
                           (def.max_inputs == def.min_inputs
                                ? ""
                                : def.max_inputs < 0 ? " or more"
                                                     : " to " + std::to_string(def.max_inputs)) +
                           " operands, got " + std::to_string(explicit_inputs));
  }
  auto types = def.infer(*node);
  if (!types.ok()) return types.status();
  for (size_t i = 0; i < types->size(); ++i) {
    std::string name = i < output_names.size() && !output_names[i].empty()
                           ? output_names[i]
                           : FreshName(std::string(OpName(op)));
    if (values_by_name_.count(name)) return InvalidArgument("value %" + name + " defined twice");
    Value* v = NewValue(name, (*types)[i]);
    v->producer_ = node.get();
    v->index_ = static_cast<int>(i);
    node->outputs_.push_back(v);
  }
  nodes_.push_back(std::move(node));
  return nodes_.back().get();
}

Node* Graph::AddNodeWithTypes(OpKind op, std::vector<Value*> inputs, Attrs attrs,
                              std::vector<std::pair<std::string, TensorType>> outputs) {
  auto node = std::make_unique<Node>();
  node->op_ = op;
  node->inputs_ = std::move(inputs);
  node->attrs_ = std::move(attrs);
  for (size_t i = 0; i < outputs.size(); ++i) {
    Value* v = NewValue(outputs[i].first, std::move(outputs[i].second));
    v->producer_ = node.get();
    v->index_ = static_cast<int>(i);
    node->outputs_.push_back(v);
  }
  nodes_.push_back(std::move(node));
  return nodes_.back().get();
}

void Graph::MoveBefore(Node* node, Node* before) {
  auto find = [&](Node* n) {
    return std::find_if(nodes_.begin(), nodes_.end(), [&](const auto& p) { return p.get() == n; });
  };
  auto it = find(node);
  KILN_CHECK(it != nodes_.end()) << "node not in graph";
  std::unique_ptr<Node> owned = std::move(*it);
  nodes_.erase(it);
  auto pos = find(before);
  KILN_CHECK(pos != nodes_.end()) << "anchor node not in graph";
  nodes_.insert(pos, std::move(owned));
}

void Graph::RemoveNode(Node* node) {
  for (Value* out : node->outputs_) {
    KILN_CHECK(Users(out).empty()) << "removing " << node->Describe() << " whose output has uses";
    KILN_CHECK(std::find(outputs_.begin(), outputs_.end(), out) == outputs_.end())
        << "removing " << node->Describe() << " whose output is a graph output";
  }
  auto it = std::find_if(nodes_.begin(), nodes_.end(), [&](const auto& p) { return p.get() == node; });
  KILN_CHECK(it != nodes_.end()) << "node not in graph";
  for (Value* out : node->outputs_) {
    values_by_name_.erase(out->name_);
    std::erase_if(values_, [&](const auto& v) { return v.get() == out; });
  }
  nodes_.erase(it);
}

void Graph::ReplaceAllUsesWith(Value* from, Value* to) {
  for (auto& n : nodes_) {
    for (Value*& in : n->inputs_) {
      if (in == from) in = to;
    }
  }
  for (Value*& out : outputs_) {
    if (out == from) out = to;
  }
}

std::vector<Node*> Graph::Users(const Value* v) const {
  std::vector<Node*> users;
  for (const auto& n : nodes_) {
    if (std::find(n->inputs_.begin(), n->inputs_.end(), v) != n->inputs_.end()) {
      users.push_back(n.get());
    }
  }
  return users;
}

std::string Graph::FreshName(const std::string& hint) {
  if (!values_by_name_.count(hint)) return hint;
  while (true) {
    std::string name = hint + "_" + std::to_string(++name_counter_);
    if (!values_by_name_.count(name)) return name;
  }
}

Value* Graph::FindValue(const std::string& name) const {
  auto it = values_by_name_.find(name);
  return it == values_by_name_.end() ? nullptr : it->second;
}

Status Graph::RenameValue(Value* v, const std::string& name) {
  if (v->name_ == name) return Status::Ok();
  if (values_by_name_.count(name)) return InvalidArgument("value %" + name + " already exists");
  values_by_name_.erase(v->name_);
  v->name_ = name;
  values_by_name_[name] = v;
  return Status::Ok();
}

std::unique_ptr<Graph> Graph::Clone() const {
  auto g = std::make_unique<Graph>(name_);
  g->symbols_ = symbols_;
  g->weights_ = weights_;
  g->name_counter_ = name_counter_;
  std::map<const Value*, Value*> map;
  for (Value* in : inputs_) map[in] = g->AddInput(in->name_, in->type_);
  for (const auto& n : nodes_) {
    std::vector<Value*> ins;
    for (Value* v : n->inputs_) ins.push_back(map.at(v));
    std::vector<std::pair<std::string, TensorType>> outs;
    for (Value* v : n->outputs_) outs.emplace_back(v->name_, v->type_);
    Attrs attrs;
    for (const auto& [name, value] : n->attrs_.items()) {
      // Sub-graphs are deep-copied so passes may rewrite a clone independently.
      if (auto* sub = std::get_if<std::shared_ptr<Graph>>(&value)) {
        attrs.Set(name, std::shared_ptr<Graph>((*sub)->Clone()));
      } else {
        attrs.Set(name, value);
      }
    }
    Node* c = g->AddNodeWithTypes(n->op_, std::move(ins), std::move(attrs), std::move(outs));
    c->line_ = n->line_;
    for (size_t i = 0; i < n->outputs_.size(); ++i) map[n->outputs_[i]] = c->outputs_[i];
  }
  for (Value* out : outputs_) g->outputs_.push_back(map.at(out));
  return g;
}

// ---------------------------------------------------------------- equality

bool StructurallyEqual(const Graph& a, const Graph& b, std::string* why) {
  auto fail = [&](const std::string& reason) {
    if (why) *why = reason;
    return false;
  };
  if (a.name() != b.name()) return fail("graph names differ: " + a.name() + " vs " + b.name());
  if (a.symbols() != b.symbols()) return fail("symbols differ");
  auto same_values = [](const std::vector<Value*>& x, const std::vector<Value*>& y) {
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (x[i]->name() != y[i]->name() || x[i]->type() != y[i]->type()) return false;
    }
    return true;
  };
  if (!same_values(a.inputs(), b.inputs())) return fail("graph inputs differ");
  if (a.nodes().size() != b.nodes().size()) {
    return fail("node counts differ: " + std::to_string(a.nodes().size()) + " vs " +
                std::to_string(b.nodes().size()));
  }
  for (size_t i = 0; i < a.nodes().size(); ++i) {
    const Node& x = *a.nodes()[i];
    const Node& y = *b.nodes()[i];
    std::string where = "node " + std::to_string(i) + " (" + x.Describe() + ")";
    if (x.op() != y.op()) return fail(where + ": ops differ");
    if (!same_values(x.inputs(), y.inputs())) return fail(where + ": operands differ");
    if (!same_values(x.outputs(), y.outputs())) return fail(where + ": results differ");
    if (!(x.attrs() == y.attrs())) return fail(where + ": attributes differ");
  }
  if (!same_values(a.outputs(), b.outputs())) return fail("graph outputs differ");
  return true;
}

}  // namespace kiln
