// CUDA kernel emitters: the layout and indexing families. All are dtype-agnostic (elements move
// as words of DTypeSize bytes, runtime_src/kiln_cuda_layout.cuh):
// - views (reshape, flatten, squeeze, unsqueeze) normally share their operand's buffer and run
//   nothing; they get a kernel only when the result must live elsewhere (a graph output), a
//   device-to-device copy;
// - transpose: 32x32 shared-memory tiles when the last axis moves, a strided gather otherwise;
// - expand, slice: strided gathers; concat / split: one row-block copy per operand / result;
// - pad (constant, reflect, edge), gather / embedding and gather_elements (i64 or i32 indices):
//   one thread per output element.
// Ranks above 8 are Unimplemented.
#include <string>
#include <vector>

#include "codegen/cuda/emit_util.h"
#include "codegen/cuda/families.h"
#include "codegen/layout_plan.h"
#include "codegen/reduce_plan.h"
#include "ops/op_util.h"
#include "support/dtype.h"

namespace kiln::codegen::cuda {
namespace {

constexpr int64_t kMaxRank = 8;  // kiln_cuda::kMaxCopyDims

Status CheckRank(const Node& node, const Value* v) {
  if (v->rank() <= kMaxRank) return Status::Ok();
  return CudaUnimplemented(node, "%" + v->name() + " of rank " + std::to_string(v->rank()) + " (" +
                                     v->type().ToString() + "; at most " +
                                     std::to_string(kMaxRank) + ")");
}

Status EmitViewCopy(const KernelContext& ctx, CodeWriter& w) {
  const Value* out = ctx.node().output();
  w.Line("// a view: the same bytes under a new shape");
  w.Line("kiln_cuda::Copy(out0, in0, " + ctx.Numel(out->shape()) + " * " + ElemBytes(out) +
         ", stream);");
  return Status::Ok();
}

Status EmitTranspose(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  KILN_RETURN_IF_ERROR(CheckRank(node, x));
  const std::vector<int64_t>& perm = node.GetInts("perm");
  const bool tiled = !perm.empty() && perm.back() != x->rank() - 1;
  w.Line("// transpose of " + x->type().ToString() + ": " +
         (tiled ? "the last axis moves: 32x32 tiles through shared memory"
                : "the last axis stays: a strided gather"));
  IntArray(w, "src_dims", DimExprs(ctx, x->shape()));
  IntArray(w, "perm", IntStrings(perm));
  w.Line("kiln_cuda::Transpose<" + ElemBytes(x) + ">(in0, src_dims, perm, " +
         std::to_string(x->rank()) + ", out0, stream);");
  return Status::Ok();
}

Status EmitExpand(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  const Value* y = node.output(0);
  KILN_RETURN_IF_ERROR(CheckRank(node, y));
  w.Line("// expand " + x->type().ToString() + " to " + y->type().ToString() +
         " (broadcast axes read with stride 0)");
  IntArray(w, "src_dims", DimExprs(ctx, x->shape()));
  IntArray(w, "dst_dims", DimExprs(ctx, y->shape()));
  w.Line("kiln_cuda::Expand<" + ElemBytes(x) + ">(in0, src_dims, " + std::to_string(x->rank()) +
         ", out0, dst_dims, " + std::to_string(y->rank()) + ", stream);");
  return Status::Ok();
}

Status EmitSlice(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  const Value* y = node.output(0);
  KILN_RETURN_IF_ERROR(CheckRank(node, x));
  KILN_ASSIGN_OR_RETURN(SlicePlan plan, PlanSlice(ctx));
  w.Line("// slice of " + x->type().ToString() + " to " + y->type().ToString() +
         ": a strided gather");
  IntArray(w, "src_dims", DimExprs(ctx, x->shape()));
  IntArray(w, "dst_dims", DimExprs(ctx, y->shape()));
  IntArray(w, "starts", plan.starts);
  IntArray(w, "steps", plan.steps);
  for (int64_t a : plan.checked) {
    // The reference reports an error here; a kernel cannot, so it writes zeros and never reads
    // outside the operand.
    const std::string i = std::to_string(a);
    w.Open("if (starts[" + i + "] < 0 || starts[" + i + "] + dst_dims[" + i + "] > src_dims[" + i +
           "]) {  // out of range");
    w.Line("cudaMemsetAsync(out0, 0, " + ctx.Numel(y->shape()) + " * " + ElemBytes(y) +
           ", kiln_cuda::AsStream(stream));");
    w.Line("return;");
    w.Close();
  }
  w.Line("kiln_cuda::Slice<" + ElemBytes(x) + ">(in0, src_dims, starts, steps, " +
         std::to_string(x->rank()) + ", out0, dst_dims, stream);");
  return Status::Ok();
}

// concat (to_whole true: operands -> result) and split (result blocks from the operand): each
// part is [outer, part_len * inner] inside the whole's [outer, whole_len * inner].
Status EmitBlocks(const KernelContext& ctx, CodeWriter& w, const std::vector<Value*>& parts,
                  const Value* whole, bool to_whole) {
  const Node& node = ctx.node();
  const Shape& ws = whole->shape();
  const int64_t rank = static_cast<int64_t>(ws.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), rank));
  const std::string bytes = ElemBytes(whole);
  w.Line("// " + std::string(node.op_name()) + " along axis " + std::to_string(axis) + " of " +
         whole->type().ToString() + ": [outer, len * inner] blocks, one copy per " +
         (to_whole ? "operand" : "result"));
  w.Line("const int64_t outer = " + ctx.Product(ws, 0, axis) + ", inner = " +
         ctx.Product(ws, axis + 1, rank) + ", whole = " + ctx.Dim(ws[axis]) + " * inner;");
  w.Line("int64_t offset = 0;  // the block's first column in the whole");
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string len = ctx.Dim(parts[i]->shape()[axis]) + " * inner";
    const std::string idx = std::to_string(i);
    w.Open("{");
    w.Line("const int64_t cols = " + len + ";");
    if (to_whole) {
      w.Line("kiln_cuda::CopyRows<" + bytes + ">(in" + idx +
             ", cols, reinterpret_cast<char*>(out0) + offset * " + bytes +
             ", whole, outer, cols, stream);");
    } else {
      w.Line("kiln_cuda::CopyRows<" + bytes + ">(reinterpret_cast<const char*>(in0) + offset * " +
             bytes + ", whole, out" + idx + ", cols, outer, cols, stream);");
    }
    w.Line("offset += cols;");
    w.Close();
  }
  return Status::Ok();
}

Status EmitConcat(const KernelContext& ctx, CodeWriter& w) {
  return EmitBlocks(ctx, w, ctx.node().inputs(), ctx.node().output(0), true);
}

Status EmitSplit(const KernelContext& ctx, CodeWriter& w) {
  return EmitBlocks(ctx, w, ctx.node().outputs(), ctx.node().input(0), false);
}

Status EmitPad(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  const Value* y = node.output(0);
  KILN_RETURN_IF_ERROR(CheckRank(node, x));
  const PadPlan plan = PlanPad(ctx);
  w.Line("// pad " + x->type().ToString() + " to " + y->type().ToString() + ", mode " +
         node.GetEnum("mode"));
  IntArray(w, "src_dims", DimExprs(ctx, x->shape()));
  IntArray(w, "dst_dims", DimExprs(ctx, y->shape()));
  IntArray(w, "pads_begin", plan.pads_begin);
  w.Line("alignas(8) const uint8_t fill[] = " + BraceList(plan.fill_bytes) + ";  // " +
         plan.fill_comment);
  w.Line("kiln_cuda::Pad<" + ElemBytes(x) + ">(in0, src_dims, pads_begin, " +
         std::to_string(x->rank()) + ", kiln_cuda::PadMode::" + plan.mode +
         ", fill, out0, dst_dims, stream);");
  return Status::Ok();
}

// The kernels take i64 or i32 indices.
Status CheckIndices(const Node& node, const Value* indices) {
  if (indices->dtype() == DType::kI64 || indices->dtype() == DType::kI32) return Status::Ok();
  return CudaUnimplemented(node, "indices of dtype " + std::string(DTypeName(indices->dtype())) +
                                     " (i64 and i32 are)");
}

// gather and embedding: rows of data at the indices.
Status EmitGather(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* data = node.input(0);
  const Value* indices = node.input(1);
  KILN_RETURN_IF_ERROR(CheckIndices(node, indices));
  KILN_ASSIGN_OR_RETURN(int64_t axis, GatherAxis(node));
  const AxisSplit rows = SplitAroundAxis(ctx, data->shape(), axis);
  w.Line("// data " + data->type().ToString() + " as [outer, len, inner] rows at " +
         indices->type().ToString() +
         " indices; an out-of-range index gives a zero row (the reference reports an error)");
  w.Line("const int64_t outer = " + rows.outer + ", len = " + rows.len + ", inner = " + rows.inner +
         ";");
  w.Line("kiln_cuda::GatherRows<" + ElemBytes(data) + ">(in0, in1, " + ctx.Numel(indices->shape()) +
         ", out0, outer, len, inner, stream);");
  return Status::Ok();
}

Status EmitGatherElements(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* data = node.input(0);
  const Value* indices = node.input(1);
  KILN_RETURN_IF_ERROR(CheckIndices(node, indices));
  KILN_RETURN_IF_ERROR(CheckRank(node, data));
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), data->rank()));
  w.Line("// gather_elements along axis " + std::to_string(axis) + " of " +
         data->type().ToString() + " at " + indices->type().ToString() +
         " indices; an out-of-range index gives zero (the reference reports an error)");
  IntArray(w, "data_dims", DimExprs(ctx, data->shape()));
  IntArray(w, "index_dims", DimExprs(ctx, indices->shape()));
  w.Line("kiln_cuda::GatherElements<" + ElemBytes(data) + ">(in0, data_dims, in1, index_dims, " +
         std::to_string(data->rank()) + ", " + std::to_string(axis) + ", out0, stream);");
  return Status::Ok();
}

}  // namespace

void RegisterLayoutEmitters() {
  for (OpKind op : {OpKind::kReshape, OpKind::kFlatten, OpKind::kSqueeze, OpKind::kUnsqueeze}) {
    RegisterEmitter(op, EmitViewCopy);
  }
  RegisterEmitter(OpKind::kTranspose, EmitTranspose);
  RegisterEmitter(OpKind::kExpand, EmitExpand);
  RegisterEmitter(OpKind::kSlice, EmitSlice);
  RegisterEmitter(OpKind::kConcat, EmitConcat);
  RegisterEmitter(OpKind::kSplit, EmitSplit);
  RegisterEmitter(OpKind::kPad, EmitPad);
  for (OpKind op : {OpKind::kGather, OpKind::kEmbedding}) RegisterEmitter(op, EmitGather);
  RegisterEmitter(OpKind::kGatherElements, EmitGatherElements);
}

}  // namespace kiln::codegen::cuda
