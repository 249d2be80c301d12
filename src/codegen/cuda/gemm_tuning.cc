#include "codegen/cuda/gemm_tuning.h"

#include "codegen/cuda/gemm.h"
#include "codegen/cuda/gemm_config.h"
#include "codegen/tune_points.h"
#include "ir/printer.h"

namespace kiln::codegen::cuda {
namespace {

// A symbolic size for the profiling graph: `name8*8` when the real size is a multiple of 8 (so
// the emitter sees the same alignment), else `name`; Binding gives the symbol's value for a size.
struct SymDim {
  Dim dim;
  std::string symbol;
  bool by8 = false;
  std::string Binding(int64_t value) const {
    return symbol + "=" + std::to_string(by8 ? value / 8 : value);
  }
};

SymDim MakeSym(Graph& g, const std::string& name, bool by8, int64_t max) {
  if (by8) return {g.Sym(name + "8", 1, max / 8) * Dim(8), name + "8", true};
  return {g.Sym(name, 1, max), name, false};
}

std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

}  // namespace

std::optional<TuneTask> GemmTuneTask(const Graph& graph, const Node& node) {
  if (node.op() != OpKind::kGemm) return std::nullopt;
  const Sm90Plan plan = PlanSm90(node);
  const GemmProblem& p = plan.problem;
  if (!plan.unsupported.empty() || p.n < 0 || p.k < 0 || p.batch < 0) return std::nullopt;
  // The rows (M, times the batch where it is folded in): static, or bucket points of a symbolic
  // count (a dynamic batch or sequence), each timed as a static M.
  std::vector<BucketPoint> rows;
  bool rows_by8 = p.m % 8 == 0;
  if (p.m >= 0) {
    rows.push_back({p.m, -1});
  } else {
    if (p.batch != 1) return std::nullopt;  // a symbolic M of a batched gemm: the heuristic's
    const Shape& out = node.output()->shape();
    Dim count(1);
    for (size_t i = 0; i + 1 < out.size(); ++i) count = count * out[i];
    rows_by8 = count.DivExact(8).ok();
    rows = BucketPoints(graph, count, rows_by8 ? 8 : 1);
    if (rows.empty()) return std::nullopt;
  }
  const bool batched = p.batch > 1;
  Graph g("tune_gemm");
  constexpr int64_t kMax = int64_t{1} << 24;
  const SymDim m = MakeSym(g, "M", rows_by8, kMax), n = MakeSym(g, "N", p.n % 8 == 0, kMax),
               k = MakeSym(g, "K", p.k % 8 == 0, kMax);
  std::vector<std::string> bindings = {n.Binding(p.n), k.Binding(p.k)};
  Shape lead;
  if (batched) {
    lead.push_back(g.Sym("L", 1, kMax));
    bindings.push_back("L=" + std::to_string(p.batch));
  }
  auto with_batch = [&](bool full, Shape s) {
    if (full && batched) s.insert(s.begin(), lead.begin(), lead.end());
    return s;
  };
  const Shape out = with_batch(true, {m.dim, n.dim});
  std::vector<Value*> inputs;
  const DType in_dtype = node.input(0)->dtype();
  inputs.push_back(g.AddInput("a", {in_dtype, with_batch(plan.a_batch == "full" && !plan.fold_batch,
                                                         p.trans_a ? Shape{k.dim, m.dim}
                                                                   : Shape{m.dim, k.dim})}));
  inputs.push_back(g.AddInput("b", {in_dtype, with_batch(plan.b_batch == "full",
                                                         p.trans_b ? Shape{n.dim, k.dim}
                                                                   : Shape{k.dim, n.dim})}));
  // Operands after a and b, in the node's order: c, then the epilogue's bias / add operands.
  std::vector<std::string> roles;
  for (int i = 2; i < node.num_inputs(); ++i) {
    const Value* v = node.input(i);
    Shape s;
    std::string role;
    if (i == plan.c_row_vector || (i >= node.num_explicit_inputs() && v->shape().size() == 1)) {
      s = {n.dim};
      role = "row";
    } else if (i == plan.source.input && plan.source.batch_shared) {
      s = {m.dim, n.dim};
      role = "shared";
    } else {
      s = out;
      role = "full";
    }
    roles.push_back(role);
    inputs.push_back(g.AddInput("e" + std::to_string(i), {v->dtype(), s}));
  }
  StatusOr<Node*> gemm = g.AddNode(OpKind::kGemm, inputs, node.attrs(), {"y"});
  if (!gemm.ok()) return std::nullopt;  // a shape the rebuilt node cannot take: not tunable
  g.SetOutputs({(*gemm)->output()});

  std::vector<std::string> epilogue;
  for (const EpilogueOp& step : node.GetEpilogue()) {
    epilogue.push_back(std::string(EpilogueKindName(step.kind)));
  }
  TuneTask t;
  t.signature = "gemm " + std::string(DTypeName(p.a)) + "->" + std::string(DTypeName(p.d)) + " " +
                (p.trans_a ? "t" : "n") + (p.trans_b ? "t" : "n") + " align " +
                std::to_string(p.align_a) + "/" + std::to_string(p.align_b) + "/" +
                std::to_string(p.align_c) + "/" + std::to_string(p.align_d) + " batch " +
                plan.a_batch + "/" + plan.b_batch + (batched ? "" : " single") + " operands [" +
                Join(roles, ",") + "] epilogue [" + Join(epilogue, ",") + "]";
  for (const GemmConfig& c : Sm90GemmCandidates(p)) t.candidates.push_back(c.Name());
  t.profile_graph = PrintGraph(g);
  t.profile_node = "y";
  for (const BucketPoint& r : rows) {
    t.points.push_back({"M=" + std::to_string(r.value) + ",N=" + std::to_string(p.n) + ",K=" +
                            std::to_string(p.k) + ",L=" + std::to_string(p.batch),
                        Join(bindings, ",") + "," + m.Binding(r.value), r.up_to});
  }
  return t;
}

}  // namespace kiln::codegen::cuda
