#include "codegen/cuda/conv_tuning.h"

#include <string>
#include <vector>

#include "codegen/cuda/conv_config.h"
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

std::optional<TuneTask> ConvTuneTask(const Node& node) {
  if (node.op() != OpKind::kConv2d) return std::nullopt;
  const ConvSm90Plan plan = PlanConvSm90(node);
  const ConvAttrs& a = plan.attrs;
  // The fixed-channels kernel has one tile per width of the output; nothing to tune yet.
  if (!plan.unsupported.empty() || plan.fixed_channels || !a.n.is_static()) return std::nullopt;

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
  t.shape = "N=" + std::to_string(a.n.value());
  if (a.Pointwise()) {
    for (const GemmConfig& c : Sm90GemmCandidates(plan.gemm)) t.candidates.push_back(c.Name());
  } else {
    for (const ConvTile& c : ConvTileCandidates(a)) t.candidates.push_back(c.Name());
  }
  t.profile_graph = PrintGraph(g);
  t.profile_node = "y";
  t.profile_dims = "N=" + std::to_string(a.n.value());
  return t;
}

}  // namespace kiln::codegen::cuda
