// CPU kernel emitters: the layout and indexing families. All are dtype-agnostic (elements move as
// bytes of DTypeSize):
// - views (reshape, flatten, squeeze, unsqueeze): a memcpy of the bytes; the module emitter skips
//   the call when the memory plan lets the result share its operand's buffer;
// - transpose, expand, slice, pad: kiln_cpu strided-copy kernels;
// - concat, split: row-block copies; gather, embedding: row gathers on i64/i32 indices.
#include <string>
#include <vector>

#include "codegen/cpu/emit_util.h"
#include "codegen/cpu/families.h"
#include "codegen/layout_plan.h"
#include "codegen/reduce_plan.h"
#include "ops/op_util.h"
#include "support/dtype.h"

namespace kiln::codegen::cpu {
namespace {

std::string ElemSize(const Value* v) { return std::to_string(DTypeSize(v->dtype())); }

// Bytes of `shape[begin:]` times the element size, as a C++ expression.
std::string RowBytes(const KernelContext& ctx, const Shape& shape, int64_t begin, DType dtype) {
  Shape s(shape.begin() + begin, shape.end());
  s.push_back(Dim(DTypeSize(dtype)));
  return ctx.Numel(s);
}

// ------------------------------------------------------------------------------------ views

Status EmitView(const KernelContext& ctx, CodeWriter& body) {
  const Value* x = ctx.node().input(0);
  body.Line("// a view: the same bytes under a new shape");
  body.Line("std::memcpy(out0, in0, " + RowBytes(ctx, x->shape(), 0, x->dtype()) + ");");
  return Status::Ok();
}

// ----------------------------------------------------------------------- transpose, expand

Status EmitTranspose(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  IntArray(body, "src_dims", DimExprs(ctx, x->shape()));
  IntArray(body, "perm", IntStrings(node.GetInts("perm")));
  body.Line("kiln_cpu::Transpose(in0, src_dims, perm, " + std::to_string(x->rank()) + ", out0, " +
            ElemSize(x) + ");");
  return Status::Ok();
}

Status EmitExpand(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  const Value* y = node.output(0);
  IntArray(body, "src_dims", DimExprs(ctx, x->shape()));
  IntArray(body, "dst_dims", DimExprs(ctx, y->shape()));
  body.Line("kiln_cpu::Expand(in0, src_dims, " + std::to_string(x->rank()) + ", out0, dst_dims, " +
            std::to_string(y->rank()) + ", " + ElemSize(x) + ");");
  return Status::Ok();
}

// -------------------------------------------------------------------------------------- slice

Status EmitSlice(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  const Value* y = node.output(0);
  KILN_ASSIGN_OR_RETURN(SlicePlan plan, PlanSlice(ctx));
  IntArray(body, "src_dims", DimExprs(ctx, x->shape()));
  IntArray(body, "dst_dims", DimExprs(ctx, y->shape()));
  IntArray(body, "starts", plan.starts);
  IntArray(body, "steps", plan.steps);
  for (int64_t a : plan.checked) {
    // The reference reports an error here; a kernel cannot, so it writes zeros and never reads
    // outside the operand.
    const std::string i = std::to_string(a);
    body.Open("if (starts[" + i + "] < 0 || starts[" + i + "] + dst_dims[" + i + "] > src_dims[" +
              i + "]) {  // out of range");
    body.Line("std::memset(out0, 0, " + RowBytes(ctx, y->shape(), 0, y->dtype()) + ");");
    body.Line("return;");
    body.Close();
  }
  body.Line("kiln_cpu::Slice(in0, src_dims, starts, steps, " + std::to_string(x->rank()) +
            ", out0, dst_dims, " + ElemSize(x) + ");");
  return Status::Ok();
}

// ------------------------------------------------------------------------------ concat, split

// Outer count and per-operand row bytes of a concat/split along `axis` of `values`.
Status EmitRowBlocks(const KernelContext& ctx, CodeWriter& body, const std::vector<Value*>& values,
                     const Shape& whole, const char* pointers_decl,
                     const std::vector<std::string>& pointers) {
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(
      int64_t axis, NormalizeAxis(node, node.GetInt("axis"), static_cast<int64_t>(whole.size())));
  std::vector<std::string> bytes;
  for (const Value* v : values) bytes.push_back(RowBytes(ctx, v->shape(), axis, v->dtype()));
  body.Line(std::string(pointers_decl) + " = " + BraceList(pointers) + ";");
  IntArray(body, "row_bytes", bytes);
  body.Line("const int64_t outer = " + ctx.Product(whole, 0, axis) + ";  // dims before axis " +
            std::to_string(axis));
  return Status::Ok();
}

Status EmitConcat(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  std::vector<std::string> ins;
  for (int i = 0; i < node.num_inputs(); ++i) ins.push_back(KernelContext::In(i));
  KILN_RETURN_IF_ERROR(EmitRowBlocks(ctx, body, node.inputs(), node.output(0)->shape(),
                                     "const void* const srcs[]", ins));
  body.Line("kiln_cpu::Concat(srcs, row_bytes, " + std::to_string(node.num_inputs()) +
            ", outer, out0);");
  return Status::Ok();
}

Status EmitSplit(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  std::vector<std::string> outs;
  for (int i = 0; i < node.num_outputs(); ++i) outs.push_back(KernelContext::Out(i));
  KILN_RETURN_IF_ERROR(
      EmitRowBlocks(ctx, body, node.outputs(), node.input(0)->shape(), "void* const dsts[]", outs));
  body.Line("kiln_cpu::Split(in0, dsts, row_bytes, " + std::to_string(node.num_outputs()) +
            ", outer);");
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------- pad

Status EmitPad(const KernelContext& ctx, CodeWriter& body) {
  const Value* x = ctx.node().input(0);
  const Value* y = ctx.node().output(0);
  const PadPlan plan = PlanPad(ctx);
  IntArray(body, "src_dims", DimExprs(ctx, x->shape()));
  IntArray(body, "dst_dims", DimExprs(ctx, y->shape()));
  IntArray(body, "pads_begin", plan.pads_begin);
  body.Line("alignas(8) const uint8_t fill[] = " + BraceList(plan.fill_bytes) + ";  // " +
            plan.fill_comment);
  body.Line("kiln_cpu::Pad(in0, src_dims, pads_begin, " + std::to_string(x->rank()) +
            ", kiln_cpu::PadMode::" + plan.mode + ", fill, out0, dst_dims, " + ElemSize(x) + ");");
  return Status::Ok();
}

// --------------------------------------------------------------------------- gather, embedding

// gather and embedding: rows of data at the indices.
Status EmitGather(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  const Value* data = node.input(0);
  const Value* indices = node.input(1);
  KILN_ASSIGN_OR_RETURN(int64_t axis, GatherAxis(node));
  const AxisSplit rows = SplitAroundAxis(ctx, data->shape(), axis);
  body.Line("// data [outer, axis_len, inner] at " + std::to_string(indices->shape().size()) +
            "-d indices; an out-of-range index gives");
  body.Line("// zero rows (the reference reports an error)");
  body.Line("(void)kiln_cpu::Gather(in0, in1, " + ctx.Numel(indices->shape()) + ", out0, " +
            rows.outer + ", " + rows.len + ", " + rows.inner + ", " + ElemSize(data) + ");");
  return Status::Ok();
}

}  // namespace

void RegisterLayoutEmitters() {
  for (OpKind op : {OpKind::kReshape, OpKind::kFlatten, OpKind::kSqueeze, OpKind::kUnsqueeze}) {
    RegisterEmitter(op, EmitView);
  }
  RegisterEmitter(OpKind::kTranspose, EmitTranspose);
  RegisterEmitter(OpKind::kExpand, EmitExpand);
  RegisterEmitter(OpKind::kSlice, EmitSlice);
  RegisterEmitter(OpKind::kConcat, EmitConcat);
  RegisterEmitter(OpKind::kSplit, EmitSplit);
  RegisterEmitter(OpKind::kPad, EmitPad);
  for (OpKind op : {OpKind::kGather, OpKind::kEmbedding}) RegisterEmitter(op, EmitGather);
}

}  // namespace kiln::codegen::cpu
