#include "ops/interpreter.h"

#include <map>
#include <set>
#include <unordered_map>

#include "ops/op_util.h"

namespace kiln {
namespace {

// The weight named by a `weight` node, checked against its declared type.
StatusOr<Tensor> LookupWeight(const Graph& graph, const Node& node) {
  const std::string& name = node.GetString("name");
  const TensorMap& weights = *graph.weights();
  auto it = weights.find(name);
  if (it == weights.end()) {
    return NotFound("weight \"" + name + "\" (" + node.output()->type().ToString() +
                    ") has no data: it is missing from the weights");
  }
  const Tensor& t = it->second;
  const std::vector<int64_t>& shape = node.GetInts("shape");
  if (t.dtype() != node.GetDType("dtype") || t.shape() != shape) {
    return InvalidArgument("weight \"" + name + "\" is declared " +
                           node.output()->type().ToString() + " but its data is " +
                           t.TypeString());
  }
  return t;
}

}  // namespace

StatusOr<SymbolBindings> BindInputs(const Graph& graph, const std::vector<Tensor>& inputs) {
  if (inputs.size() != graph.inputs().size()) {
    return InvalidArgument("graph @" + graph.name() + " takes " +
                           std::to_string(graph.inputs().size()) + " inputs, got " +
                           std::to_string(inputs.size()));
  }
  SymbolBindings bindings;
  // First pass: dims that are a single symbol bind it; second pass checks every dim.
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value* in = graph.inputs()[i];
    const Tensor& t = inputs[i];
    std::string where = "input %" + in->name();
    if (t.dtype() != in->dtype()) {
      return InvalidArgument(where + ": expected dtype " + std::string(DTypeName(in->dtype())) +
                             ", got " + std::string(DTypeName(t.dtype())));
    }
    if (t.rank() != in->rank()) {
      return InvalidArgument(where + ": expected " + in->type().ToString() + " (rank " +
                             std::to_string(in->rank()) + "), got " + t.TypeString());
    }
    for (int64_t a = 0; a < t.rank(); ++a) {
      const Dim& d = in->shape()[a];
      std::set<std::string> syms = d.Symbols();
      if (syms.size() == 1 && d == Dim::Symbol(*syms.begin())) {
        const std::string& s = *syms.begin();
        auto [it, inserted] = bindings.emplace(s, t.dim(a));
        if (!inserted && it->second != t.dim(a)) {
          return InvalidArgument(where + ": dim " + std::to_string(a) + " binds " + s + " = " +
                                 std::to_string(t.dim(a)) + " but another input bound " + s +
                                 " = " + std::to_string(it->second));
        }
      }
    }
  }
  for (const auto& [name, value] : bindings) {
    auto range = graph.symbols().find(name);
    if (range != graph.symbols().end() &&
        (value < range->second.min || value > range->second.max)) {
      return OutOfRange("dynamic dim " + name + " = " + std::to_string(value) +
                        " is outside its declared range [" + std::to_string(range->second.min) +
                        ", " + std::to_string(range->second.max) + "]");
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value* in = graph.inputs()[i];
    auto expected = EvaluateShape(in->shape(), bindings);
    if (!expected.ok()) {
      return InvalidArgument("input %" + in->name() + ": " + expected.status().message());
    }
    if (*expected != inputs[i].shape()) {
      return InvalidArgument("input %" + in->name() + ": expected " + in->type().ToString() +
                             " = " + IntsToString(*expected) + ", got " +
                             inputs[i].TypeString());
    }
  }
  return bindings;
}

StatusOr<std::vector<Tensor>> Interpret(const Graph& graph, const std::vector<Tensor>& inputs) {
  KILN_ASSIGN_OR_RETURN(SymbolBindings bindings, BindInputs(graph, inputs));

  // Last use of every value, so intermediates are freed as soon as possible.
  std::unordered_map<const Value*, size_t> last_use;
  for (size_t i = 0; i < graph.nodes().size(); ++i) {
    for (const Value* v : graph.nodes()[i]->inputs()) last_use[v] = i;
  }
  for (const Value* v : graph.outputs()) last_use[v] = graph.nodes().size();

  std::unordered_map<const Value*, Tensor> env;
  for (size_t i = 0; i < inputs.size(); ++i) env[graph.inputs()[i]] = inputs[i];

  for (size_t i = 0; i < graph.nodes().size(); ++i) {
    const Node& node = *graph.nodes()[i];
    std::vector<Tensor> outs;
    if (node.op() == OpKind::kWeight) {
      KILN_ASSIGN_OR_RETURN(Tensor w, LookupWeight(graph, node));
      outs.push_back(std::move(w));
    } else {
      std::vector<Tensor> ins;
      ins.reserve(node.num_inputs());
      for (const Value* v : node.inputs()) ins.push_back(env.at(v));
      for (const Value* out : node.outputs()) {
        auto shape = EvaluateShape(out->shape(), bindings);
        if (!shape.ok()) return shape.status().WithContext(node.Describe());
        outs.emplace_back(out->dtype(), std::move(shape).value());
      }
      Status s = node.def().reference(node, ins, outs);
      if (!s.ok()) return s.WithContext(node.Describe());
    }
    for (int k = 0; k < node.num_outputs(); ++k) env[node.output(k)] = std::move(outs[k]);
    for (const Value* v : node.inputs()) {
      if (last_use[v] == i) env.erase(v);
    }
  }
  std::vector<Tensor> results;
  for (const Value* v : graph.outputs()) results.push_back(env.at(v));
  return results;
}

}  // namespace kiln
