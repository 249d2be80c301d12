#include "passes/fuse_epilogue.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "support/tensor.h"

namespace kiln {
namespace {

using Kind = EpilogueOp::Kind;

// Whether `node` owns an epilogue that more steps may join. A conv2d with `max_pool` does not:
// its epilogue runs before the pool, while its consumers read the pooled result (relu would
// commute with the max, but a bias or residual add of the pooled shape would not fit).
bool TakesSteps(const Node& node) {
  const OpKind op = node.op();
  if (op == OpKind::kConv2d) return node.GetInts("max_pool").empty();
  return op == OpKind::kGemm || op == OpKind::kConvTranspose2d;
}

// The axis a bias runs along: the last one for gemm and nhwc convolutions, 1 for nchw.
int64_t ChannelAxis(const Node& producer) {
  const int64_t rank = producer.output()->rank();
  if (producer.op() == OpKind::kGemm) return rank - 1;
  return producer.GetEnum("layout") == "nhwc" ? rank - 1 : 1;
}

bool IsSource(const Value* v) {
  const Node* p = v->producer();
  return p != nullptr && (p->op() == OpKind::kWeight || p->op() == OpKind::kConstant);
}

bool IsGraphOutput(const Graph& graph, const Value* v) {
  return std::find(graph.outputs().begin(), graph.outputs().end(), v) != graph.outputs().end();
}

EpilogueOp Step(Kind kind) {
  EpilogueOp op;
  op.kind = kind;
  return op;
}

// How a consumer becomes one epilogue step.
struct Match {
  EpilogueOp op;
  Value* operand = nullptr;      // bias / residual operand
  bool reshape_operand = false;  // the bias operand needs a reshape to [C] first
};

// The operand of binary `consumer` that is not `out`, or nullptr when both are `out`.
Value* OtherOperand(const Node& consumer, const Value* out) {
  if (consumer.input(0) == out) return consumer.input(1) == out ? nullptr : consumer.input(1);
  return consumer.input(0);
}

// True when `b` holds one value per output channel of `out`, broadcast along `channel_axis`:
// aligned to the right against the output shape, every dim is 1 except the channel's.
bool IsChannelVector(const Value* b, const Value* out, int64_t channel_axis) {
  const Dim& channels = out->shape()[channel_axis];
  const int64_t offset = out->rank() - b->rank();
  if (!channels.is_static() || offset < 0 || channel_axis < offset) return false;
  for (int64_t i = 0; i < b->rank(); ++i) {
    const Dim expected = (i + offset == channel_axis) ? channels : Dim(1);
    if (b->shape()[i] != expected) return false;
  }
  return true;
}

std::optional<Match> MatchAdd(const Node& producer, const Node& consumer) {
  const Value* out = producer.output();
  Value* other = OtherOperand(consumer, out);
  if (other == nullptr || consumer.output()->shape() != out->shape()) return std::nullopt;
  if (other->dtype() != out->dtype()) return std::nullopt;
  if (other->shape() == out->shape()) return Match{Step(Kind::kAdd), other, false};
  const Epilogue& ep = producer.GetEpilogue();
  const bool only_biases =
      std::all_of(ep.begin(), ep.end(), [](const EpilogueOp& s) { return s.kind == Kind::kBias; });
  const int64_t axis = ChannelAxis(producer);
  if (!only_biases || !IsSource(other) || !IsChannelVector(other, out, axis)) return std::nullopt;
  return Match{Step(Kind::kBias), other, other->rank() != 1};
}

std::optional<Match> MatchMul(const Node& producer, const Node& consumer) {
  const Value* out = producer.output();
  const Value* other = OtherOperand(consumer, out);
  if (other == nullptr || consumer.output()->shape() != out->shape()) return std::nullopt;
  const Node* source = other->producer();
  if (source == nullptr || source->op() != OpKind::kConstant) return std::nullopt;
  const std::vector<int64_t>& shape = source->GetInts("shape");
  if (std::any_of(shape.begin(), shape.end(), [](int64_t d) { return d != 1; })) {
    return std::nullopt;
  }
  // The unfused mul multiplies by the constant as stored in its dtype, so round it the same way.
  const double value = source->GetFloats("value").at(0);
  Tensor rounded = Tensor::FromF64(other->dtype(), {}, std::vector<double>{value});
  EpilogueOp op = Step(Kind::kScale);
  op.scale = rounded.GetF64(0);
  return Match{op, nullptr, false};
}

// The epilogue step `consumer` becomes when appended to `producer`'s epilogue, if any.
std::optional<Match> MatchConsumer(const Node& producer, const Node& consumer) {
  const Epilogue& ep = producer.GetEpilogue();
  if (!ep.empty() && ep.back().kind == Kind::kCast) return std::nullopt;  // cast stays last
  switch (consumer.op()) {
    case OpKind::kRelu:
      return Match{Step(Kind::kRelu)};
    case OpKind::kSigmoid:
      return Match{Step(Kind::kSigmoid)};
    case OpKind::kTanh:
      return Match{Step(Kind::kTanh)};
    case OpKind::kSilu:
      return Match{Step(Kind::kSilu)};
    case OpKind::kGelu:
      return Match{Step(consumer.GetEnum("approximate") == "tanh" ? Kind::kGeluTanh : Kind::kGelu)};
    case OpKind::kCast: {
      const DType to = consumer.GetDType("to");
      if (to != DType::kF32 && to != DType::kF16 && to != DType::kBF16) return std::nullopt;
      EpilogueOp op = Step(Kind::kCast);
      op.dtype = to;
      return Match{op};
    }
    case OpKind::kAdd:
      return MatchAdd(producer, consumer);
    case OpKind::kMul:
      return MatchMul(producer, consumer);
    default:
      return std::nullopt;
  }
}

// Replaces `producer` and `consumer` with one node carrying the extra step; returns it.
StatusOr<Node*> Fuse(Graph& graph, Node* producer, Node* consumer, const Match& match) {
  std::vector<Value*> inputs = producer->inputs();
  if (match.operand != nullptr) {
    Value* operand = match.operand;
    if (match.reshape_operand) {
      const Dim channels = producer->output()->shape()[ChannelAxis(*producer)];
      Attrs attrs{{"shape", std::vector<Dim>{channels}}};
      KILN_ASSIGN_OR_RETURN(Node * reshape,
                            graph.AddNode(OpKind::kReshape, {operand}, std::move(attrs),
                                          {graph.FreshName(operand->name() + ".flat")}));
      graph.MoveBefore(reshape, consumer);
      operand = reshape->output();
    }
    inputs.push_back(operand);
  }
  Attrs attrs = producer->attrs();
  Epilogue epilogue = producer->GetEpilogue();
  epilogue.push_back(match.op);
  attrs.Set("epilogue", std::move(epilogue));
  StatusOr<Node*> fused = graph.AddNode(producer->op(), std::move(inputs), std::move(attrs));
  if (!fused.ok()) {
    return InternalError("fuse-epilogue: fusing " + consumer->Describe() + " into " +
                         producer->Describe() + " failed: " + fused.status().ToString());
  }
  (*fused)->set_line(producer->line());
  graph.MoveBefore(*fused, consumer);
  const std::string name = consumer->output()->name();
  graph.ReplaceAllUsesWith(consumer->output(), (*fused)->output());
  graph.RemoveNode(consumer);
  graph.RemoveNode(producer);
  KILN_RETURN_IF_ERROR(graph.RenameValue((*fused)->output(), name));
  return *fused;
}

}  // namespace

StatusOr<bool> FuseEpiloguePass::Run(Graph& graph) {
  // Producers are collected first: fusing replaces a producer and one elementwise consumer,
  // never another producer, so the remaining pointers stay valid.
  std::vector<Node*> producers;
  for (const auto& node : graph.nodes()) {
    if (TakesSteps(*node)) producers.push_back(node.get());
  }
  bool changed = false;
  for (Node* producer : producers) {
    while (true) {
      Value* out = producer->output();
      if (IsGraphOutput(graph, out)) break;
      std::vector<Node*> users = graph.Users(out);
      if (users.size() != 1) break;
      std::optional<Match> match = MatchConsumer(*producer, *users[0]);
      if (!match) break;
      KILN_ASSIGN_OR_RETURN(producer, Fuse(graph, producer, users[0], *match));
      changed = true;
    }
  }
  return changed;
}

}  // namespace kiln
