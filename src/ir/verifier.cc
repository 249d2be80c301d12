#include "ir/verifier.h"

#include <set>

namespace kiln {
namespace {

Status CheckSymbols(const Graph& g, const Value& v, const std::string& where) {
  for (const Dim& d : v.shape()) {
    for (const std::string& s : d.Symbols()) {
      if (!g.symbols().count(s)) {
        return InvalidArgument(where + ": %" + v.name() + " uses symbol '" + s +
                               "' that is not declared in the graph's where clause");
      }
    }
  }
  return Status::Ok();
}

Status VerifyNode(const Graph& g, const Node& node, const std::set<const Value*>& defined) {
  const std::string where = node.Describe();
  if (!IsOpRegistered(node.op())) {
    return InvalidArgument(where + ": op is not registered");
  }
  for (int i = 0; i < node.num_inputs(); ++i) {
    const Value* in = node.input(i);
    if (in == nullptr) return InvalidArgument(where + ": operand " + std::to_string(i) + " is null");
    if (!defined.count(in)) {
      return InvalidArgument(where + ": operand %" + in->name() +
                             " is used before it is defined (or not in this graph)");
    }
  }
  auto normalized = NormalizeAttrs(node.op(), node.attrs());
  if (!normalized.ok()) return normalized.status().WithContext(where);
  if (!(*normalized == node.attrs())) {
    return InvalidArgument(where + ": attributes are not in normal form (NormalizeAttrs)");
  }
  const OpDef& def = node.def();
  int n = node.num_explicit_inputs();
  if (n < def.min_inputs || (def.max_inputs >= 0 && n > def.max_inputs)) {
    return InvalidArgument(where + ": takes " + std::to_string(def.min_inputs) +
                           (def.max_inputs < 0 ? "+" : ".." + std::to_string(def.max_inputs)) +
                           " operands, got " + std::to_string(n));
  }
  auto inferred = def.infer(node);
  if (!inferred.ok()) return inferred.status();
  if (inferred->size() != node.outputs().size()) {
    return InvalidArgument(where + ": declares " + std::to_string(node.num_outputs()) +
                           " results, the op produces " + std::to_string(inferred->size()));
  }
  for (size_t i = 0; i < inferred->size(); ++i) {
    const Value* out = node.output(static_cast<int>(i));
    if (out->type() != (*inferred)[i]) {
      return InvalidArgument(where + ": result %" + out->name() + " is declared " +
                             out->type().ToString() + " but the op infers " +
                             (*inferred)[i].ToString());
    }
    KILN_RETURN_IF_ERROR(CheckSymbols(g, *out, where));
  }
  if (node.op() == OpKind::kFusion) {
    const Graph& body = node.GetGraph("body");
    KILN_RETURN_IF_ERROR(Verify(body).WithContext(where + ": body @" + body.name()));
  }
  return Status::Ok();
}

}  // namespace

Status Verify(const Graph& graph) {
  std::set<const Value*> defined;
  std::set<std::string> names;
  const std::string gname = "graph @" + graph.name();
  for (const Value* in : graph.inputs()) {
    KILN_RETURN_IF_ERROR(CheckSymbols(graph, *in, gname + " input"));
    if (!names.insert(in->name()).second) {
      return InvalidArgument(gname + ": value %" + in->name() + " defined twice");
    }
    defined.insert(in);
  }
  for (const auto& node : graph.nodes()) {
    KILN_RETURN_IF_ERROR(VerifyNode(graph, *node, defined));
    for (const Value* out : node->outputs()) {
      if (!names.insert(out->name()).second) {
        return InvalidArgument(node->Describe() + ": value %" + out->name() + " defined twice");
      }
      defined.insert(out);
    }
  }
  if (graph.outputs().empty()) return InvalidArgument(gname + " has no outputs");
  for (const Value* out : graph.outputs()) {
    if (!defined.count(out)) {
      return InvalidArgument(gname + ": output %" + out->name() + " is not defined in the graph");
    }
  }
  return Status::Ok();
}

}  // namespace kiln
