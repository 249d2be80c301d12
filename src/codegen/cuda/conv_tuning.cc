#include "codegen/cuda/conv_tuning.h"

#include <string>
#include <vector>

#include "codegen/cuda/conv_config.h"
#include "codegen/tune_points.h"
#include "ir/printer.h"
#include "ops/epilogue.h"

namespace kiln::codegen::cuda {
namespace {

std::string Ints(const std::vector<int64_t>& v) {
  std::string out;
  for (int64_t x : v) out += (out.empty() ? "" : ",") + std::to_string(x);
  return out;
}

}  // namespace

std::optional<TuneTask> ConvTuneTask(const Graph& graph, const Node& node) {
  if (node.op() != OpKind::kConv2d) return std::nullopt;
  const ConvSm90Plan plan = PlanConvSm90(node);
  const ConvAttrs& a = plan.attrs;
  // The few-channel kernel picks its tile from the CTA count; nothing to tune yet.
  if (!plan.unsupported.empty() || plan.fixed_channels) return std::nullopt;
  // The batch: static, or bucket points of a symbolic one; the emitters dispatch by the rows of
  // the implicit GEMM, batch * P * Q.
  std::vector<BucketPoint> batches;
  if (a.n.is_static()) {
    batches.push_back({a.n.value(), -1});
  } else {
    batches = BucketPoints(graph, a.n, 1);
    if (batches.empty()) return std::nullopt;
  }

  // The profiling graph: the same conv with a symbolic batch N; weights and epilogue operands
  // are inputs (random data when profiled).
  Graph g("tune_conv");
  const Dim n = g.Sym("N", 1, int64_t{1} << 16);
  const DType dtype = node.input(0)->dtype();
  std::vector<Value*> inputs = {
      g.AddInput("x", {dtype, {n, Dim(a.h), Dim(a.w), Dim(a.c)}}),
      g.AddInput("w", {dtype, node.input(1)->shape()}),
  };
  std::vector<std::string> operands;
  for (int i = 2; i < node.num_inputs(); ++i) {
    const Value* v = node.input(i);
    Shape s = v->shape();
    const bool full = i == plan.source;
    if (full) s[0] = n;
    operands.push_back(full ? "residual" : "bias");
    inputs.push_back(g.AddInput("e" + std::to_string(i), {v->dtype(), s}));
  }
  StatusOr<Node*> conv = g.AddNode(OpKind::kConv2d, inputs, node.attrs(), {"y"});
  if (!conv.ok()) return std::nullopt;  // a shape the rebuilt node cannot take: not tunable
  g.SetOutputs({(*conv)->output()});

  std::string epilogue;
  for (const EpilogueOp& step : node.GetEpilogue()) {
    epilogue += (epilogue.empty() ? "" : ",") + std::string(EpilogueKindName(step.kind));
  }
  TuneTask t;
  t.signature = "conv2d " + std::string(DTypeName(dtype)) + "->" +
                std::string(DTypeName(node.output()->dtype())) + " nhwc " + std::to_string(a.h) + "x" +
                std::to_string(a.w) + "x" + std::to_string(a.c) + " -> " + std::to_string(a.o) + " kernel " +
                std::to_string(a.kh) + "x" + std::to_string(a.kw) + " stride " + Ints(a.stride) + " pad " +
                Ints(a.pad) + " dilation " + Ints(a.dilation) + (a.Pointwise() ? " as gemm" : " implicit gemm") +
                " operands [" + [&] {
                  std::string o;
                  for (const std::string& s : operands) o += (o.empty() ? "" : ",") + s;
                  return o;
                }() + "] epilogue [" + epilogue + "]";
  if (a.Pointwise()) {
    for (const GemmConfig& c : Sm90GemmCandidates(plan.gemm)) t.candidates.push_back(c.Name());
  } else {
    for (const ConvTile& c : ConvTileCandidates(a)) t.candidates.push_back(c.Name());
  }
  t.profile_graph = PrintGraph(g);
  t.profile_node = "y";
  const int64_t pixels = a.oh * a.ow;
  for (const BucketPoint& b : batches) {
    const std::string n = "N=" + std::to_string(b.value);
    t.points.push_back({n, n, b.up_to < 0 ? -1 : b.up_to * pixels});
  }
  return t;
}

}  // namespace kiln::codegen::cuda
