// CPU kernel emitters: arg_max / arg_min (src/ops/arg_reduce.cc) and gather_elements /
// scatter_elements (src/ops/element_index.cc), written as plain loops in the kernel body.
//
// arg_max / arg_min view the operand as [outer, len, inner] around the axis and compare storage
// values directly: f32, i64, i32, i8 and u8 (f16 / bf16 are Unimplemented). gather_elements and
// scatter_elements walk the index tensor row-major and rebuild each element's data offset from
// its coordinates; they copy any dtype, and scatter's add / mul / max / min reductions take f32,
// i64 and i32. An out-of-range index (a run-time error in the reference) skips the element
// (gather writes zero).
#include <string>

#include "codegen/cpu/emit_util.h"
#include "codegen/cpu/families.h"
#include "codegen/reduce_plan.h"
#include "ops/op_util.h"

namespace kiln::codegen::cpu {
namespace {

std::string DTypeStr(DType d) { return std::string(DTypeName(d)); }

Status EmitArgReduce(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  const DType d = x->dtype();
  if (d != DType::kF32 && d != DType::kI64 && d != DType::kI32 && d != DType::kI8 &&
      d != DType::kU8) {
    return Unimplemented(node.Describe() + ": dtype " + DTypeStr(d) + " is not supported on the " +
                         "cpu target (" + std::string(node.op_name()) +
                         " supports f32, i64, i32, i8 and u8)");
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), x->rank()));
  const AxisSplit split = SplitAroundAxis(ctx, x->shape(), axis);
  const bool is_max = node.op() == OpKind::kArgMax;
  const bool last = node.GetBool("select_last_index");
  // v beats best: strictly (first index wins ties) or also on ties (select_last_index); a NaN
  // beats every number and the first NaN wins, as the reference.
  std::string cmp = is_max ? ">" : "<";
  if (last) cmp += "=";
  std::string better = "(v " + cmp + " b)";
  if (d == DType::kF32) better = "(b == b && (v != v || " + better + "))";
  body.Line("// " + std::string(node.op_name()) + " along axis " + std::to_string(axis) +
            ": outer, len, inner");
  body.Line("const int64_t outer = " + split.outer + ", len = " + split.len +
            ", inner = " + split.inner + ";");
  body.Line("for (int64_t o = 0; o < outer; ++o) {");
  body.Line("  for (int64_t i = 0; i < inner; ++i) {");
  body.Line("    const auto* p = in0 + o * len * inner + i;");
  body.Line("    int64_t best = 0;");
  body.Line("    for (int64_t k = 1; k < len; ++k) {");
  body.Line("      const auto v = p[k * inner], b = p[best * inner];");
  body.Line("      if " + better + " best = k;");
  body.Line("    }");
  body.Line("    out0[o * inner + i] = best;");
  body.Line("  }");
  body.Line("}");
  return Status::Ok();
}

// The loop head shared by gather_elements and scatter_elements: for every element k of the index
// tensor, `off` is its data offset with the axis coordinate replaced by the (wrapped) index; an
// index out of range runs `skip`.
void EmitElementLoop(const KernelContext& ctx, CodeWriter& body, const Value* data,
                     const Value* indices, int64_t axis, const std::string& index_ptr,
                     const std::string& skip) {
  IntArray(body, "idims", DimExprs(ctx, indices->shape()));
  IntArray(body, "ddims", DimExprs(ctx, data->shape()));
  const std::string rank = std::to_string(data->rank());
  body.Line("const int64_t n = " + ctx.Numel(indices->shape()) + ";");
  body.Line("for (int64_t k = 0; k < n; ++k) {");
  body.Line("  int64_t j = static_cast<int64_t>(" + index_ptr + "[k]);");
  body.Line("  const int64_t axis_len = ddims[" + std::to_string(axis) + "];");
  body.Line("  if (j < -axis_len || j >= axis_len) { " + skip + " }");
  body.Line("  if (j < 0) j += axis_len;");
  body.Line("  int64_t rem = k, off = 0, stride = 1;");
  body.Line("  for (int64_t d = " + rank + " - 1; d >= 0; --d) {");
  body.Line("    const int64_t c = rem % idims[d];");
  body.Line("    rem /= idims[d];");
  body.Line("    off += (d == " + std::to_string(axis) + " ? j : c) * stride;");
  body.Line("    stride *= ddims[d];");
  body.Line("  }");
}

Status EmitGatherElements(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  const Value* data = node.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), data->rank()));
  body.Line("// out[k] = data[coords of k with indices[k] on axis " + std::to_string(axis) + "]");
  EmitElementLoop(ctx, body, data, node.input(1), axis, "in1", "out0[k] = {}; continue;");
  body.Line("  out0[k] = in0[off];");
  body.Line("}");
  return Status::Ok();
}

Status EmitScatterElements(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  const Value* data = node.input(0);
  const DType d = data->dtype();
  const std::string r = node.GetEnum("reduction");
  if (r != "none" && d != DType::kF32 && d != DType::kI64 && d != DType::kI32) {
    return Unimplemented(node.Describe() + ": reduction=" + r + " on dtype " + DTypeStr(d) +
                         " is not supported on the cpu target (f32, i64 and i32)");
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), data->rank()));
  body.Line("// out = data; then out[coords of k with indices[k] on axis " + std::to_string(axis) +
            "] " + (r == "none" ? "=" : r) + " updates[k]");
  body.Line("std::memcpy(out0, in0, sizeof(*out0) * (" + ctx.Numel(data->shape()) + "));");
  EmitElementLoop(ctx, body, data, node.input(1), axis, "in1", "continue;");
  std::string update;
  if (r == "none") {
    update = "out0[off] = in2[k];";
  } else if (r == "add") {
    update = "out0[off] = out0[off] + in2[k];";
  } else if (r == "mul") {
    update = "out0[off] = out0[off] * in2[k];";
  } else {
    const char* op = r == "max" ? ">" : "<";
    update = std::string("if (in2[k] ") + op + " out0[off]" +
             (d == DType::kF32 ? " || in2[k] != in2[k]" : "") + ") out0[off] = in2[k];";
  }
  body.Line("  " + update);
  body.Line("}");
  return Status::Ok();
}

}  // namespace

void RegisterElementIndexEmitters() {
  for (OpKind op : {OpKind::kArgMax, OpKind::kArgMin}) RegisterEmitter(op, EmitArgReduce);
  RegisterEmitter(OpKind::kGatherElements, EmitGatherElements);
  RegisterEmitter(OpKind::kScatterElements, EmitScatterElements);
}

}  // namespace kiln::codegen::cpu
