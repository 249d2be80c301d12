#include "passes/lower_patch_conv.h"

#include <string>
#include <vector>

#include "ops/epilogue.h"
#include "passes/rewrite_util.h"

namespace kiln {
namespace {

// `list` (a conv's stride/dilation/pad attribute) or, when absent, `n` copies of `fallback`.
std::vector<int64_t> IntsOr(const Node& node, const char* name, size_t n, int64_t fallback) {
  const std::vector<int64_t>& v = node.GetInts(name);
  return v.empty() ? std::vector<int64_t>(n, fallback) : v;
}

bool Lowerable(const Node& conv) {
  if (conv.op() != OpKind::kConv2d || conv.GetInt("groups") != 1) return false;
  if (!conv.GetInts("max_pool").empty()) return false;  // the gemm would not pool
  for (const EpilogueOp& step : conv.GetEpilogue()) {
    if (step.kind == EpilogueOp::Kind::kAdd) return false;
  }
  const Shape& x = conv.input(0)->shape();
  const Shape& w = conv.input(1)->shape();
  for (size_t i = 1; i < 4; ++i) {
    if (!x[i].is_static() || !w[i].is_static()) return false;
  }
  if (!w[0].is_static()) return false;
  const bool nhwc = conv.GetEnum("layout") == "nhwc";
  const int64_t kh = w[nhwc ? 1 : 2].value(), kw = w[nhwc ? 2 : 3].value();
  const int64_t h = x[nhwc ? 1 : 2].value(), wd = x[nhwc ? 2 : 3].value();
  const std::vector<int64_t> stride = IntsOr(conv, "stride", 2, 1);
  const std::vector<int64_t> dilation = IntsOr(conv, "dilation", 2, 1);
  const std::vector<int64_t> pad = IntsOr(conv, "pad", 4, 0);
  if (stride != std::vector<int64_t>{kh, kw} || dilation != std::vector<int64_t>{1, 1}) return false;
  if (pad != std::vector<int64_t>{0, 0, 0, 0}) return false;
  return (kh > 1 || kw > 1) && h % kh == 0 && wd % kw == 0;  // a 1x1 conv is a gemm already
}

// `op(input)` with `attrs`, named after `base`, placed before `before`.
StatusOr<Value*> Add(Graph& graph, OpKind op, Value* input, Attrs attrs, const std::string& base,
                     Node* before) {
  KILN_ASSIGN_OR_RETURN(Node * n,
                        AddNodeBefore(graph, before, op, {input}, std::move(attrs), base));
  return n->output();
}

Status Lower(Graph& graph, Node* conv) {
  const bool nhwc = conv->GetEnum("layout") == "nhwc";
  Value* x = conv->input(0);
  Value* w = conv->input(1);
  const Shape& xs = x->shape();
  const Shape& ws = w->shape();
  const Dim n = xs[0];
  const int64_t o = ws[0].value(), kh = ws[nhwc ? 1 : 2].value(), kw = ws[nhwc ? 2 : 3].value();
  const int64_t c = xs[nhwc ? 3 : 1].value();
  const int64_t p = xs[nhwc ? 1 : 2].value() / kh, q = xs[nhwc ? 2 : 3].value() / kw;
  const std::string base = conv->output()->name();

  // The patches as rows: [N, P*Q, patch] with the patch in the filter's (C, kh, kw) or (kh, kw,
  // C) order.
  const std::vector<Dim> split =
      nhwc ? std::vector<Dim>{n, Dim(p), Dim(kh), Dim(q), Dim(kw), Dim(c)}
           : std::vector<Dim>{n, Dim(c), Dim(p), Dim(kh), Dim(q), Dim(kw)};
  const std::vector<int64_t> perm =
      nhwc ? std::vector<int64_t>{0, 1, 3, 2, 4, 5} : std::vector<int64_t>{0, 2, 4, 1, 3, 5};
  KILN_ASSIGN_OR_RETURN(Value * v, Add(graph, OpKind::kReshape, x, Attrs{{"shape", split}},
                                       base + ".patches", conv));
  KILN_ASSIGN_OR_RETURN(v, Add(graph, OpKind::kTranspose, v, Attrs{{"perm", perm}},
                               base + ".patches", conv));
  KILN_ASSIGN_OR_RETURN(
      Value * rows, Add(graph, OpKind::kReshape, v,
                        Attrs{{"shape", std::vector<Dim>{n, Dim(p * q), Dim(c * kh * kw)}}},
                        base + ".patch_rows", conv));
  KILN_ASSIGN_OR_RETURN(
      Value * filter, Add(graph, OpKind::kReshape, w,
                          Attrs{{"shape", std::vector<Dim>{Dim(o), Dim(c * kh * kw)}}},
                          w->name() + ".rows", conv));

  std::vector<Value*> operands = {rows, filter};
  for (int i = conv->num_explicit_inputs(); i < conv->num_inputs(); ++i) {
    operands.push_back(conv->input(i));  // the epilogue's bias operands, in order
  }
  Attrs attrs{{"trans_b", AttrValue(true)}};
  if (!conv->GetEpilogue().empty()) attrs.Set("epilogue", conv->GetEpilogue());
  KILN_ASSIGN_OR_RETURN(Node * gemm, AddNodeBefore(graph, conv, OpKind::kGemm, std::move(operands),
                                                   std::move(attrs), base + ".gemm"));
  KILN_ASSIGN_OR_RETURN(
      Value * y, Add(graph, OpKind::kReshape, gemm->output(),
                     Attrs{{"shape", std::vector<Dim>{n, Dim(p), Dim(q), Dim(o)}}},
                     base + ".nhwc", conv));
  if (!nhwc) {
    KILN_ASSIGN_OR_RETURN(y, Add(graph, OpKind::kTranspose, y,
                                 Attrs{{"perm", std::vector<int64_t>{0, 3, 1, 2}}}, base, conv));
  }
  if (y->type() != conv->output()->type() || !CanReplaceNode(graph, *conv, {y})) {
    return InternalError("lower-patch-conv: the lowering of " + conv->Describe() + " gives " +
                         y->type().ToString() + ", not " + conv->output()->type().ToString());
  }
  ReplaceNode(graph, conv, {y});
  return Status::Ok();
}

}  // namespace

StatusOr<bool> LowerPatchConvPass::Run(Graph& graph) {
  return RewriteEachNode(
      graph, [](const Graph&, const Node& node) { return Lowerable(node); }, Lower);
}

}  // namespace kiln
