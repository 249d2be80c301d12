#include "passes/fold_batch_norm.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "passes/rewrite_util.h"
#include "support/tensor.h"

namespace kiln {
namespace {

// The axis of the batch_norm input that the producer's bias runs along, or -1 when the producer
// cannot take the fold (a gemm with a `c` operand).
int64_t FoldAxis(const Node& producer) {
  const int64_t rank = producer.output()->rank();
  if (producer.op() == OpKind::kGemm) return producer.num_explicit_inputs() == 2 ? rank - 1 : -1;
  return producer.GetEnum("layout") == "nhwc" ? 3 : 1;
}

// The output channel of flat element `i` of the producer's weight operand `w` (static shape).
int64_t WeightChannel(const Node& producer, const std::vector<int64_t>& w, int64_t i) {
  const int64_t r = static_cast<int64_t>(w.size());
  if (producer.op() == OpKind::kConv2d) {
    int64_t inner = 1;
    for (int64_t a = 1; a < r; ++a) inner *= w[a];
    return i / inner;  // conv weights are [O, ...] in both layouts
  }
  if (producer.GetBool("trans_b")) return (i / w[r - 1]) % w[r - 2];  // [..., N, K]
  return i % w[r - 1];                                                // [..., K, N]
}

// Folds `bn` into its producer when the preconditions hold; returns whether it did.
StatusOr<bool> TryFold(Graph& graph, Node* bn) {
  Value* y = bn->input(0);
  Node* producer = y->producer();
  if (producer == nullptr ||
      (producer->op() != OpKind::kConv2d && producer->op() != OpKind::kGemm)) {
    return false;
  }
  // A conv2d with `max_pool` pools after its epilogue: a batch norm of the pooled result does not
  // commute with the max (a negative scale turns it into a min), so it stays.
  if (producer->op() == OpKind::kConv2d && !producer->GetInts("max_pool").empty()) return false;
  if (IsGraphOutput(graph, y) || graph.Users(y).size() != 1) return false;
  int64_t axis = bn->GetInt("axis");
  if (axis < 0) axis += y->rank();
  if (axis != FoldAxis(*producer)) return false;
  const Epilogue& epilogue = producer->GetEpilogue();
  const bool has_bias = epilogue.size() == 1 && epilogue[0].kind == EpilogueOp::Kind::kBias;
  if (!epilogue.empty() && !has_bias) return false;
  Value* w = producer->input(1);
  if (!IsSource(w) || w->rank() < 2) return false;

  // Every operand the fold reads: w, the old bias, scale, beta, mean, var.
  std::vector<Value*> sources = {w};
  if (has_bias) sources.push_back(producer->input(2));
  for (int i = 1; i <= 4; ++i) sources.push_back(bn->input(i));
  std::vector<std::vector<double>> data;
  for (Value* v : sources) {
    KILN_ASSIGN_OR_RETURN(std::optional<std::vector<double>> values, SourceValues(graph, v));
    if (!values) return false;
    data.push_back(std::move(*values));
  }
  const std::vector<double>& w_data = data[0];
  const size_t p0 = has_bias ? 2 : 1;
  const std::vector<double>& scale = data[p0];
  const std::vector<double>& beta = data[p0 + 1];
  const std::vector<double>& mean = data[p0 + 2];
  const std::vector<double>& var = data[p0 + 3];

  const double eps = bn->GetFloat("eps");
  const size_t channels = scale.size();
  std::vector<double> s(channels), new_bias(channels);
  for (size_t c = 0; c < channels; ++c) {
    s[c] = scale[c] / std::sqrt(var[c] + eps);
    const double old = has_bias ? data[1][c] : 0.0;
    new_bias[c] = (old - mean[c]) * s[c] + beta[c];
  }
  const std::vector<int64_t> w_shape = w->producer()->GetInts("shape");
  std::vector<double> new_w(w_data.size());
  for (size_t i = 0; i < w_data.size(); ++i) {
    new_w[i] = w_data[i] * s[WeightChannel(*producer, w_shape, static_cast<int64_t>(i))];
  }

  KILN_ASSIGN_OR_RETURN(Value * w2,
                        AddSource(graph, w, ".bn_folded", w->dtype(), w_shape, new_w, bn));
  KILN_ASSIGN_OR_RETURN(Value * b2, AddSource(graph, w, ".bn_folded_bias", y->dtype(),
                                              {static_cast<int64_t>(channels)}, new_bias, bn));
  Attrs attrs = producer->attrs();
  EpilogueOp bias;
  bias.kind = EpilogueOp::Kind::kBias;
  attrs.Set("epilogue", Epilogue{bias});
  StatusOr<Node*> folded =
      graph.AddNode(producer->op(), {producer->input(0), w2, b2}, std::move(attrs));
  if (!folded.ok()) {
    return InternalError("fold-batch-norm: folding " + bn->Describe() + " into " +
                         producer->Describe() + " failed: " + folded.status().ToString());
  }
  (*folded)->set_line(producer->line());
  graph.MoveBefore(*folded, bn);
  const std::string name = bn->output()->name();
  graph.ReplaceAllUsesWith(bn->output(), (*folded)->output());
  graph.RemoveNode(bn);
  graph.RemoveNode(producer);
  KILN_RETURN_IF_ERROR(graph.RenameValue((*folded)->output(), name));

  // The old parameters are dead now unless something else reads them.
  std::set<Value*> removed;
  for (Value* v : sources) {
    if (removed.count(v) || IsGraphOutput(graph, v) || !graph.Users(v).empty()) continue;
    removed.insert(v);
    graph.RemoveNode(v->producer());
  }
  return true;
}

}  // namespace

StatusOr<bool> FoldBatchNormPass::Run(Graph& graph) {
  // Collected first: a fold removes only its own batch_norm (and nodes that are not
  // batch_norms), so the other pointers stay valid.
  std::vector<Node*> norms;
  for (const auto& node : graph.nodes()) {
    if (node->op() == OpKind::kBatchNorm) norms.push_back(node.get());
  }
  bool changed = false;
  for (Node* bn : norms) {
    KILN_ASSIGN_OR_RETURN(bool folded, TryFold(graph, bn));
    changed = changed || folded;
  }
  return changed;
}

}  // namespace kiln
