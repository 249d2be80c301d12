// CPU kernel emitters: the layout and indexing families. All are dtype-agnostic (elements move as
// bytes of DTypeSize):
// - views (reshape, flatten, squeeze, unsqueeze): a memcpy of the bytes; the module emitter skips
//   the call when the memory plan lets the result share its operand's buffer;
// - transpose, expand, slice, pad: kiln_cpu strided-copy kernels;
// - concat, split: row-block copies; gather, embedding: row gathers on i64/i32 indices.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "codegen/cpu/emit_util.h"
#include "codegen/cpu/families.h"
#include "ops/op_util.h"
#include "support/tensor.h"

namespace kiln::codegen::cpu {
namespace {

std::vector<std::string> IntStrings(const std::vector<int64_t>& v) {
  std::vector<std::string> out;
  for (int64_t x : v) out.push_back(std::to_string(x));
  return out;
}

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

// ONNX Slice on a static dim (as the reference, src/ops/indexing.cc): the clamped start.
int64_t OnnxSliceStart(int64_t dim, int64_t start, int64_t step) {
  if (dim == 0) return 0;
  if (start < 0) start += dim;
  return step > 0 ? std::clamp<int64_t>(start, 0, dim) : std::clamp<int64_t>(start, 0, dim - 1);
}

Status EmitSlice(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  const Value* y = node.output(0);
  const int64_t rank = x->rank();
  const std::vector<Dim>& starts = node.GetDims("starts");
  const std::vector<Dim>& ends = node.GetDims("ends");
  std::vector<int64_t> axes = node.GetInts("axes");
  std::vector<int64_t> steps = node.GetInts("steps");
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  std::vector<std::string> start_exprs(rank, "0"), step_strs(rank, "1");
  std::vector<int64_t> checked;  // axes whose symbolic start is checked at run time
  for (size_t i = 0; i < axes.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(node, axes[i], rank));
    const Dim& dim = x->shape()[a];
    step_strs[a] = std::to_string(steps[i]);
    if (dim.is_static() && starts[i].is_static() && ends[i].is_static()) {
      start_exprs[a] = std::to_string(OnnxSliceStart(dim.value(), starts[i].value(), steps[i]));
    } else {
      // Symbolic: step 1 and non-negative bounds (shape inference checked), length end - start.
      start_exprs[a] = ctx.Dim(starts[i]);
      checked.push_back(a);
    }
  }
  IntArray(body, "src_dims", DimExprs(ctx, x->shape()));
  IntArray(body, "dst_dims", DimExprs(ctx, y->shape()));
  IntArray(body, "starts", start_exprs);
  IntArray(body, "steps", step_strs);
  for (int64_t a : checked) {
    // The reference reports an error here; a kernel cannot, so it writes zeros and never reads
    // outside the operand.
    const std::string i = std::to_string(a);
    body.Open("if (starts[" + i + "] < 0 || starts[" + i + "] + dst_dims[" + i + "] > src_dims[" +
              i + "]) {  // out of range");
    body.Line("std::memset(out0, 0, " + RowBytes(ctx, y->shape(), 0, y->dtype()) + ");");
    body.Line("return;");
    body.Close();
  }
  body.Line("kiln_cpu::Slice(in0, src_dims, starts, steps, " + std::to_string(rank) +
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
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  const Value* y = node.output(0);
  const int64_t rank = x->rank();
  const std::vector<int64_t>& pads = node.GetInts("pads");
  const std::string& mode = node.GetEnum("mode");
  // The fill value converted to the dtype exactly as the reference does (Tensor::FromF64), as
  // raw bytes so one line serves every dtype.
  const double value = node.GetFloat("value");
  Tensor fill = Tensor::FromF64(x->dtype(), {}, std::vector<double>{value});
  std::vector<std::string> bytes;
  const auto* p = static_cast<const uint8_t*>(fill.data());
  for (int64_t i = 0; i < fill.nbytes(); ++i) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "0x%02x", p[i]);
    bytes.push_back(buf);
  }
  char value_text[64];
  std::snprintf(value_text, sizeof(value_text), "%.17g", value);
  IntArray(body, "src_dims", DimExprs(ctx, x->shape()));
  IntArray(body, "dst_dims", DimExprs(ctx, y->shape()));
  IntArray(body, "pads_begin", IntStrings(std::vector<int64_t>(pads.begin(), pads.begin() + rank)));
  body.Line("alignas(8) const uint8_t fill[] = " + BraceList(bytes) + ";  // " + value_text +
            " as " + std::string(DTypeName(x->dtype())));
  const char* mode_name = mode == "reflect" ? "kReflect" : mode == "edge" ? "kEdge" : "kConstant";
  body.Line("kiln_cpu::Pad(in0, src_dims, pads_begin, " + std::to_string(rank) +
            ", kiln_cpu::PadMode::" + mode_name + ", fill, out0, dst_dims, " + ElemSize(x) + ");");
  return Status::Ok();
}

// --------------------------------------------------------------------------- gather, embedding

Status EmitGatherRows(const KernelContext& ctx, CodeWriter& body, int64_t axis) {
  const Node& node = ctx.node();
  const Value* data = node.input(0);
  const Value* indices = node.input(1);
  const Shape& ds = data->shape();
  body.Line("// data [outer, axis_len, inner] at " + std::to_string(indices->shape().size()) +
            "-d indices; an out-of-range index gives");
  body.Line("// zero rows (the reference reports an error)");
  body.Line("(void)kiln_cpu::Gather(in0, in1, " + ctx.Numel(indices->shape()) + ", out0, " +
            ctx.Product(ds, 0, axis) + ", " + ctx.Dim(ds[axis]) + ", " +
            ctx.Product(ds, axis + 1, static_cast<int64_t>(ds.size())) + ", " + ElemSize(data) +
            ");");
  return Status::Ok();
}

Status EmitGather(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(int64_t axis,
                        NormalizeAxis(node, node.GetInt("axis"), node.input(0)->rank()));
  return EmitGatherRows(ctx, body, axis);
}

Status EmitEmbedding(const KernelContext& ctx, CodeWriter& body) {
  return EmitGatherRows(ctx, body, 0);
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
  RegisterEmitter(OpKind::kGather, EmitGather);
  RegisterEmitter(OpKind::kEmbedding, EmitEmbedding);
}

}  // namespace kiln::codegen::cpu
