#include "passes/pad_conv_channels.h"

#include <optional>
#include <string>
#include <vector>

#include "passes/rewrite_util.h"

namespace kiln {
namespace {

constexpr int64_t kMultiple = 8;  // 16 bytes of f16 / bf16

// The channel count conv `n`'s input of c channels is padded to: 4 for up to 4, not 1x1 (the
// fixed-channels kernel), else the next multiple of 8.
int64_t PaddedChannels(const Node& n, int64_t c) {
  const Shape& w = n.input(1)->shape();
  const bool pointwise =
      w[1].is_static() && w[1].value() == 1 && w[2].is_static() && w[2].value() == 1;
  if (c <= 4 && !pointwise) return 4;
  return (c + kMultiple - 1) / kMultiple * kMultiple;
}

// The channel count of conv `n`'s input when the pass applies to it, else nullopt.
std::optional<int64_t> PaddableChannels(const Node& n) {
  if (n.op() != OpKind::kConv2d || n.GetEnum("layout") != "nhwc" || n.GetInt("groups") != 1) {
    return std::nullopt;
  }
  const DType d = n.input(0)->dtype();
  if (d != DType::kF16 && d != DType::kBF16) return std::nullopt;
  const Dim& c = n.input(0)->shape()[3];
  const Dim& o = n.output()->shape()[3];
  if (!c.is_static() || !o.is_static() || o.value() % kMultiple != 0) return std::nullopt;
  if (PaddedChannels(n, c.value()) == c.value()) return std::nullopt;
  return c.value();
}

// A pad node appending `extra` zeros to axis `axis` of `v`, placed before `before`.
StatusOr<Value*> PadAxis(Graph& graph, Value* v, int64_t axis, int64_t extra, Node* before) {
  std::vector<int64_t> pads(2 * v->rank(), 0);
  pads[v->rank() + axis] = extra;  // the end pads follow the begin pads
  Attrs attrs;
  attrs.Set("pads", pads);
  KILN_ASSIGN_OR_RETURN(Node * pad,
                        AddNodeBefore(graph, before, OpKind::kPad, {v}, std::move(attrs),
                                      v->name() + ".padded_channels"));
  return pad->output();
}

// w [O, kh, kw, C] with zero taps appended up to C + extra: a new source when w's values are
// known at compile time, else a pad node.
StatusOr<Value*> PadWeight(Graph& graph, Value* w, int64_t extra, Node* before) {
  KILN_ASSIGN_OR_RETURN(std::optional<std::vector<double>> values, SourceValues(graph, w));
  if (!values) return PadAxis(graph, w, 3, extra, before);
  const Shape& s = w->shape();
  const int64_t c = s[3].value(), rows = s[0].value() * s[1].value() * s[2].value();
  std::vector<double> padded(rows * (c + extra), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < c; ++i) padded[r * (c + extra) + i] = (*values)[r * c + i];
  }
  return AddSource(graph, w, ".padded_channels", w->dtype(),
                   {s[0].value(), s[1].value(), s[2].value(), c + extra}, padded, before);
}

// conv's input padded by `extra` channels. When it is a layout transpose into NHWC read by
// nothing else (an NCHW image turned NHWC), the pad goes before it, on the axis that becomes the
// channels: in NCHW that appends whole zero planes (a row-block copy) and the transpose then
// writes each pixel's 4 channels as one 8-byte word, where a pad after it moved 3-element rows.
StatusOr<Value*> PadInput(Graph& graph, Node* conv, int64_t extra) {
  Value* x = conv->input(0);
  Node* t = x->producer();
  if (t == nullptr || t->op() != OpKind::kTranspose || SoleUser(graph, x) != conv) {
    return PadAxis(graph, x, x->rank() - 1, extra, conv);
  }
  KILN_ASSIGN_OR_RETURN(Value * padded,
                        PadAxis(graph, t->input(0), t->GetInts("perm").back(), extra, conv));
  KILN_ASSIGN_OR_RETURN(Node * tp, AddNodeBefore(graph, conv, OpKind::kTranspose, {padded},
                                                 t->attrs(), x->name() + ".padded_channels"));
  return tp->output();
}

}  // namespace

StatusOr<bool> PadConvChannelsPass::Run(Graph& graph) {
  std::vector<Node*> convs;
  for (const auto& n : graph.nodes()) {
    if (PaddableChannels(*n)) convs.push_back(n.get());
  }
  for (Node* conv : convs) {
    const int64_t c = *PaddableChannels(*conv);
    const int64_t extra = PaddedChannels(*conv, c) - c;
    Value* w = conv->input(1);
    Value* x = conv->input(0);
    KILN_ASSIGN_OR_RETURN(Value * xp, PadInput(graph, conv, extra));
    KILN_ASSIGN_OR_RETURN(Value * wp, PadWeight(graph, w, extra, conv));
    conv->set_input(0, xp);
    conv->set_input(1, wp);
    std::vector<Node*> dead;
    for (Value* v : {x, w}) {
      if (v->producer() != nullptr) dead.push_back(v->producer());
    }
    RemoveDeadChainNodes(graph, dead);
  }
  return !convs.empty();
}

}  // namespace kiln
