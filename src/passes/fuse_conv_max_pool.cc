#include "passes/fuse_conv_max_pool.h"

#include <string>
#include <vector>

#include "passes/rewrite_util.h"

namespace kiln {
namespace {

using Kind = EpilogueOp::Kind;

// The limits of the few-channel kernel's fused pool and of its conv tile (its shared-memory
// input patch grows with the conv's kernel and stride).
constexpr int64_t kMaxPoolWindow = 5;   // pool kernel and stride, each direction
constexpr int64_t kMaxConvKernel = 11;  // kh, kw
constexpr int64_t kMaxConvStride = 4;   // sh, sw

bool IsStatic(const Dim& d, int64_t* value) {
  if (!d.is_static()) return false;
  *value = d.value();
  return true;
}

bool InRange(const std::vector<int64_t>& v, int64_t lo, int64_t hi) {
  for (int64_t x : v) {
    if (x < lo || x > hi) return false;
  }
  return true;
}

// [], [bias], [relu] or [bias, relu], the bias of the output's dtype: what the few-channel kernel
// fuses (PlanFixedChannelsEpilogue in codegen/cuda/conv.cc, without its cast).
bool FusableEpilogue(const Node& conv) {
  const Epilogue& ep = conv.GetEpilogue();
  size_t i = 0;
  if (i < ep.size() && ep[i].kind == Kind::kBias) {
    if (conv.input(conv.num_explicit_inputs())->dtype() != conv.output()->dtype()) return false;
    ++i;
  }
  if (i < ep.size() && ep[i].kind == Kind::kRelu) ++i;
  return i == ep.size();
}

// Whether `conv` is a conv2d the cuda-sm90 few-channel kernel runs with a fused pool.
bool FusableConv(const Node& conv) {
  if (conv.op() != OpKind::kConv2d) return false;
  if (conv.GetEnum("layout") != "nhwc" || conv.GetInt("groups") != 1) return false;
  if (!conv.GetInts("max_pool").empty()) return false;
  const Value* x = conv.input(0);
  const Value* w = conv.input(1);
  const Value* y = conv.output();
  if (x->dtype() != DType::kF16 && x->dtype() != DType::kBF16) return false;
  if (w->dtype() != x->dtype() || y->dtype() != x->dtype()) return false;
  int64_t c = 0, o = 0, kh = 0, kw = 0;
  if (!IsStatic(x->shape()[3], &c) || (c != 4 && c != 8)) return false;
  if (!IsStatic(y->shape()[3], &o) || o % 8 != 0) return false;
  if (!IsStatic(w->shape()[1], &kh) || !IsStatic(w->shape()[2], &kw)) return false;
  if (kh == 1 && kw == 1) return false;  // a gemm, not the few-channel kernel
  if (kh > kMaxConvKernel || kw > kMaxConvKernel) return false;
  if (conv.GetInts("dilation") != std::vector<int64_t>{1, 1}) return false;
  if (!InRange(conv.GetInts("stride"), 1, kMaxConvStride)) return false;
  return FusableEpilogue(conv);
}

// Whether `pool` is a max pool the few-channel kernel can apply to its tile.
bool FusablePool(const Node& pool) {
  if (pool.op() != OpKind::kMaxPool2d) return false;
  if (pool.GetEnum("layout") != "nhwc" || pool.GetBool("ceil_mode")) return false;
  if (pool.GetInts("dilation") != std::vector<int64_t>{1, 1}) return false;
  return InRange(pool.GetInts("kernel"), 1, kMaxPoolWindow) &&
         InRange(pool.GetInts("stride"), 1, kMaxPoolWindow);
}

// The conv2d producing `pool`'s operand when the two fuse, else nullptr.
Node* FusableProducer(const Graph& graph, const Node& pool) {
  if (!FusablePool(pool)) return nullptr;
  Node* conv = pool.input(0)->producer();
  if (conv == nullptr || !FusableConv(*conv)) return nullptr;
  if (SoleUser(graph, conv->output()) != &pool) return nullptr;
  return conv;
}

// Replaces `conv` and `pool` by one conv2d with max_pool, at the pool's place and name.
Status Fuse(Graph& graph, Node* conv, Node* pool) {
  const std::vector<int64_t>& k = pool->GetInts("kernel");
  const std::vector<int64_t>& s = pool->GetInts("stride");
  const std::vector<int64_t>& p = pool->GetInts("pad");
  Attrs attrs = conv->attrs();
  attrs.Set("max_pool", std::vector<int64_t>{k[0], k[1], s[0], s[1], p[0], p[1], p[2], p[3]});
  const int line = conv->line();
  const std::string name = pool->output()->name();  // the fused result takes it
  KILN_RETURN_IF_ERROR(ReplaceChain(graph, "fuse-conv-max-pool", pool, OpKind::kConv2d,
                                    conv->inputs(), std::move(attrs), {conv, pool}));
  graph.FindValue(name)->producer()->set_line(line);  // the fused node keeps the conv's source line
  return Status::Ok();
}

}  // namespace

StatusOr<bool> FuseConvMaxPoolPass::Run(Graph& graph) {
  // Matches collected first: a fusion removes only its own pool and conv, and a matched conv's
  // one user is its pool, so the other matches' nodes stay valid.
  std::vector<std::pair<Node*, Node*>> matches;
  for (const auto& node : graph.nodes()) {
    if (Node* conv = FusableProducer(graph, *node)) matches.emplace_back(conv, node.get());
  }
  for (const auto& [conv, pool] : matches) KILN_RETURN_IF_ERROR(Fuse(graph, conv, pool));
  return !matches.empty();
}

}  // namespace kiln
