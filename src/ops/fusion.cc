// fusion(operands...) {body}: a node that owns a sub-graph. The body's inputs bind to the
// operands in order and its outputs are the node's results. Fusion passes create these; a backend
// emits one kernel per fusion node, and the reference simply interprets the body.
#include "ops/families.h"
#include "ops/interpreter.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

StatusOr<std::vector<TensorType>> InferFusion(const Node& node) {
  const Graph& body = node.GetGraph("body");
  if (static_cast<int>(body.inputs().size()) != node.num_inputs()) {
    return OpError(node, "body @" + body.name() + " takes " +
                             std::to_string(body.inputs().size()) + " inputs, the node passes " +
                             std::to_string(node.num_inputs()));
  }
  for (int i = 0; i < node.num_inputs(); ++i) {
    if (body.inputs()[i]->type() != node.input(i)->type()) {
      return OpError(node, "operand " + std::to_string(i) + " is " +
                               node.input(i)->type().ToString() + " but body input %" +
                               body.inputs()[i]->name() + " is " +
                               body.inputs()[i]->type().ToString());
    }
  }
  std::vector<TensorType> out;
  for (const Value* v : body.outputs()) out.push_back(v->type());
  return out;
}

Status FusionReference(const Node& node, std::span<const Tensor> inputs,
                       std::span<Tensor> outputs) {
  std::vector<Tensor> ins(inputs.begin(), inputs.end());
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> outs, Interpret(node.GetGraph("body"), ins));
  for (size_t i = 0; i < outs.size(); ++i) outputs[i] = std::move(outs[i]);
  return Status::Ok();
}

}  // namespace

void RegisterFusionOps() {
  RegisterOp({.kind = OpKind::kFusion,
              .fusion = FusionKind::kOpaque,
              .min_inputs = 0,
              .max_inputs = -1,
              .attrs = {{"body", AttrKind::kGraph, std::nullopt}},
              .infer = InferFusion,
              .reference = FusionReference,
              .summary = "owns a sub-graph of fused ops (one kernel per fusion node)"});
}

}  // namespace kiln
