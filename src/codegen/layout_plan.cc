// The target-independent half of the layout kernels' emitters (see layout_plan.h).
#include "codegen/layout_plan.h"

#include <algorithm>
#include <cstdio>

#include "ops/op_util.h"
#include "support/dtype.h"
#include "support/tensor.h"

namespace kiln::codegen {
namespace {

// ONNX Slice on a static dim (as the reference, src/ops/indexing.cc): the clamped start.
int64_t OnnxSliceStart(int64_t dim, int64_t start, int64_t step) {
  if (dim == 0) return 0;
  if (start < 0) start += dim;
  return step > 0 ? std::clamp<int64_t>(start, 0, dim) : std::clamp<int64_t>(start, 0, dim - 1);
}

}  // namespace

StatusOr<SlicePlan> PlanSlice(const KernelContext& ctx) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  const int64_t rank = x->rank();
  const std::vector<Dim>& starts = node.GetDims("starts");
  const std::vector<Dim>& ends = node.GetDims("ends");
  std::vector<int64_t> axes = node.GetInts("axes");
  std::vector<int64_t> steps = node.GetInts("steps");
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  SlicePlan plan;
  plan.starts.assign(rank, "0");
  plan.steps.assign(rank, "1");
  for (size_t i = 0; i < axes.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(node, axes[i], rank));
    const Dim& dim = x->shape()[a];
    plan.steps[a] = std::to_string(steps[i]);
    if (dim.is_static() && starts[i].is_static() && ends[i].is_static()) {
      plan.starts[a] = std::to_string(OnnxSliceStart(dim.value(), starts[i].value(), steps[i]));
    } else {
      // Symbolic: step 1 and non-negative bounds (shape inference checked), length end - start.
      plan.starts[a] = ctx.Dim(starts[i]);
      plan.checked.push_back(a);
    }
  }
  return plan;
}

PadPlan PlanPad(const KernelContext& ctx) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  const std::vector<int64_t>& pads = node.GetInts("pads");
  const std::string& mode = node.GetEnum("mode");
  PadPlan plan;
  for (int64_t a = 0; a < x->rank(); ++a) plan.pads_begin.push_back(std::to_string(pads[a]));
  const double value = node.GetFloat("value");
  Tensor fill = Tensor::FromF64(x->dtype(), {}, std::vector<double>{value});
  const auto* p = static_cast<const uint8_t*>(fill.data());
  for (int64_t i = 0; i < fill.nbytes(); ++i) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "0x%02x", p[i]);
    plan.fill_bytes.push_back(buf);
  }
  char value_text[64];
  std::snprintf(value_text, sizeof(value_text), "%.17g", value);
  plan.fill_comment = std::string(value_text) + " as " + std::string(DTypeName(x->dtype()));
  plan.mode = mode == "reflect" ? "kReflect" : mode == "edge" ? "kEdge" : "kConstant";
  return plan;
}

StatusOr<int64_t> GatherAxis(const Node& node) {
  if (node.op() == OpKind::kEmbedding) return int64_t{0};
  return NormalizeAxis(node, node.GetInt("axis"), node.input(0)->rank());
}

}  // namespace kiln::codegen
