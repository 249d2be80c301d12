#include "codegen/cuda/gemm_tuning.h"

#include "codegen/cuda/gemm.h"
#include "codegen/cuda/gemm_config.h"
#include "ir/printer.h"

namespace kiln::codegen::cuda {
namespace {

// A symbolic size for the profiling graph: `name8*8` when the real size is a multiple of 8 (so
// the emitter sees the same alignment), else `name`; and the symbol's value for the real size.
struct SymDim {
  Dim dim;
  std::string binding;  // "K8=96"
};

SymDim MakeSym(Graph& g, const std::string& name, int64_t value, int64_t max) {
  if (value % 8 == 0) {
    const std::string s = name + "8";
    return {g.Sym(s, 1, max / 8) * Dim(8), s + "=" + std::to_string(value / 8)};
  }
  return {g.Sym(name, 1, max), name + "=" + std::to_string(value)};
}

std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

}  // namespace

std::optional<TuneTask> GemmTuneTask(const Node& node) {
  if (node.op() != OpKind::kGemm) return std::nullopt;
  const Sm90Plan plan = PlanSm90(node);
  const GemmProblem& p = plan.problem;
  if (!plan.unsupported.empty() || p.m < 0 || p.n < 0 || p.k < 0 || p.batch < 0) {
    return std::nullopt;
  }
  const bool batched = p.batch > 1;
  Graph g("tune_gemm");
  constexpr int64_t kMax = int64_t{1} << 24;
  const SymDim m = MakeSym(g, "M", p.m, kMax), n = MakeSym(g, "N", p.n, kMax),
               k = MakeSym(g, "K", p.k, kMax);
  std::vector<std::string> bindings = {m.binding, n.binding, k.binding};
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
  t.shape = "M=" + std::to_string(p.m) + ",N=" + std::to_string(p.n) + ",K=" +
            std::to_string(p.k) + ",L=" + std::to_string(p.batch);
  for (const GemmConfig& c : Sm90GemmCandidates(p)) t.candidates.push_back(c.Name());
  t.profile_graph = PrintGraph(g);
  t.profile_node = "y";
  t.profile_dims = Join(bindings, ",");
  return t;
}

}  // namespace kiln::codegen::cuda
