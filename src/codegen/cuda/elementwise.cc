// CUDA kernel emitter for elementwise and broadcasting ops and `fusion` nodes: each iteration
// space of the plan (codegen/elementwise_plan.h) becomes a grid-stride launch of a device lambda;
// a fusion's intermediate values stay in registers.
//
// Vectorised path: when a space is one merged dim (every operand contiguous over it, or a
// broadcast scalar) and its contiguous operands are kernel inputs, each thread takes a vector of
// kVec elements (16 bytes of the widest dtype involved): one vector load per operand, the body
// kVec times in registers, one vector store per result. It runs when every pointer is 16-byte
// aligned (checked at run time); the remaining elements (or all, when misaligned) take the
// scalar path. The scalar path recovers the per-dim indices from the flat output index.
// A space of several dims (an operand broadcast along an outer dim: a position table added to
// every image, a bias over rows) takes vectors along its innermost dim when that dim's extent
// and every outer stride of its contiguous operands are multiples of kVec: a thread recovers the
// indices once per vector, operands constant along the innermost dim are read per element.
#include <algorithm>

#include "codegen/cuda/families.h"
#include "codegen/elementwise_plan.h"
#include "codegen/emit_lists.h"
#include "support/dtype.h"

namespace kiln::codegen::cuda {
namespace {

// `text` as a non-negative integer literal, or -1 (a symbolic extent or stride).
int64_t Literal(const std::string& text) {
  if (text.empty() || text.size() > 15 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  return std::stoll(text);
}

// Elements per 16-byte vector for `nest`, or 0 when it cannot be vectorised (see file comment).
int64_t VectorElements(const EwNest& nest) {
  if (nest.sizes.empty()) return 0;
  const size_t last = nest.sizes.size() - 1;
  int64_t widest = 1;
  for (const EwLoad& load : nest.loads) {
    if (load.strides[last] != "1") {  // a broadcast scalar, or constant along the innermost dim
      if (last > 0 && load.strides[last] != "0") return 0;
      continue;
    }
    if (load.pointer.rfind("in", 0) != 0) return 0;  // a body constant array
    widest = std::max<int64_t>(widest, DTypeSize(load.value->dtype()));
  }
  for (const auto& [v, k] : nest.stores) widest = std::max<int64_t>(widest, DTypeSize(v->dtype()));
  const int64_t vec = 16 / widest;
  if (last == 0) return vec;
  // Vectors must not cross an innermost row, and every contiguous operand's vector must start
  // at a multiple of kVec elements (16-byte aligned when its base is).
  const int64_t inner = Literal(nest.sizes[last]);
  if (inner <= 0 || inner % vec != 0) return 0;
  for (const EwLoad& load : nest.loads) {
    if (load.strides[last] != "1") continue;
    for (size_t k = 0; k < last; ++k) {
      const int64_t stride = Literal(load.strides[k]);
      if (stride < 0 || stride % vec != 0) return 0;
    }
  }
  return vec;
}

// Declares the per-dim indices i0.. of the flat index `flat` (outermost i0 takes the rest) and
// returns their names.
std::vector<std::string> EmitIndices(const EwNest& nest, const std::string& flat, CodeWriter& w) {
  const size_t g = nest.sizes.size();
  std::vector<std::string> index(g);
  std::string rest = flat;
  for (size_t k = g; k-- > 0;) {
    std::string i = "i" + std::to_string(k);
    index[k] = i;
    if (k == 0) {
      w.Line("const int64_t " + i + " = " + rest + ";");
    } else {
      w.Line("const int64_t " + i + " = " + rest + " % n" + std::to_string(k) + ";");
      std::string r = "r" + std::to_string(k);
      w.Line("const int64_t " + r + " = " + rest + " / n" + std::to_string(k) + ";");
      rest = r;
    }
  }
  return index;
}

// The scalar launch over elements [first, first + count) of `nest` (first, count: C++ exprs).
Status EmitScalarLaunch(const EwNest& nest, const std::string& first, const std::string& count,
                        CodeWriter& w) {
  w.Open("kiln_cuda::LaunchElementwise(" + count + ", stream, [=] __device__(int64_t r) {");
  w.Line("const int64_t o = " + (first == "0" ? std::string("r") : first + " + r") + ";");
  KILN_RETURN_IF_ERROR(EmitElement(nest, EmitIndices(nest, "o", w), "o", w));
  w.Close(");");
  return Status::Ok();
}

// `total`: the space's element count (a C++ expression).
Status EmitVectorLaunch(const EwNest& nest, int64_t vec, const std::string& total, CodeWriter& w) {
  const size_t last = nest.sizes.size() - 1;
  // Pointers of the contiguous operands and of the results, for the alignment check.
  std::vector<std::string> pointers;
  EwNest local = nest;  // contiguous loads read from per-thread register arrays
  for (EwLoad& load : local.loads) {
    if (load.strides[last] != "1") continue;
    if (std::find(pointers.begin(), pointers.end(), load.pointer) == pointers.end())
      pointers.push_back(load.pointer);
    if (last == 0) {
      load.pointer = "vec_" + load.pointer;
    } else {  // element e of the vector, whatever the outer indices
      load.pointer = "(vec_" + load.pointer + " + e)";
      std::fill(load.strides.begin(), load.strides.end(), "0");
    }
  }
  std::vector<std::pair<std::string, DType>> outs;
  for (const auto& [v, k] : nest.stores) {
    outs.emplace_back(KernelContext::Out(k), v->dtype());
    pointers.push_back(KernelContext::Out(k));
  }
  std::string aligned;
  for (size_t i = 0; i < pointers.size(); ++i)
    aligned += (i ? " && " : "") + ("kiln_cuda::Aligned16(" + pointers[i] + ")");
  w.Line("// " + std::to_string(vec) + "-element (16-byte) vectors" +
         (last == 0 ? "" : " along the innermost dim") + " when every contiguous pointer is aligned");
  w.Line("constexpr int kVec = " + std::to_string(vec) + ";");
  w.Line("const int64_t head = (" + (aligned.empty() ? std::string("true") : aligned) + ") ? " +
         (last == 0 ? "n0 / kVec * kVec" : total) + " : 0;");
  w.Open("kiln_cuda::LaunchElementwise(head / kVec, stream, [=] __device__(int64_t q) {");
  w.Line("const int64_t o = q * kVec;  // the vector's first element");
  std::vector<std::string> index = {"e"};  // the body's indices (the element within the vector)
  if (last > 0) {
    index = EmitIndices(nest, "o", w);
    index[last] = "(" + index[last] + " + e)";
  }
  std::vector<std::string> done;
  for (const EwLoad& load : nest.loads) {
    if (load.strides[last] != "1" ||
        std::find(done.begin(), done.end(), load.pointer) != done.end())
      continue;
    done.push_back(load.pointer);
    std::vector<std::string> at = index;
    if (last > 0) at[last] = "i" + std::to_string(last);
    const std::string start = last == 0 ? "o" : LoadOffset(load, at);
    w.Line("alignas(16) " + CpuStorageType(load.value->dtype()) + " vec_" + load.pointer +
           "[kVec];");
    w.Line("kiln_cuda::LoadVector(vec_" + load.pointer + ", " + load.pointer + " + " +
           (start.find(' ') == std::string::npos ? start : "(" + start + ")") + ");");
  }
  for (const auto& [name, dtype] : outs) w.Line("auto* const dst_" + name + " = " + name + ";");
  w.Open("{");
  for (const auto& [name, dtype] : outs) {
    w.Line("alignas(16) " + CpuStorageType(dtype) + " " + name +
           "[kVec];  // the body stores here (hides the pointer)");
  }
  w.Line("#pragma unroll");
  w.Open("for (int e = 0; e < kVec; ++e) {");
  KILN_RETURN_IF_ERROR(EmitElement(local, index, "e", w));
  w.Close();
  for (const auto& [name, dtype] : outs)
    w.Line("kiln_cuda::StoreVector(dst_" + name + " + o, " + name + ");");
  w.Close();
  w.Close(");");
  w.Line("// the rest (all of it when misaligned), one element per thread");
  return EmitScalarLaunch(nest, "head", (last == 0 ? "n0" : total) + " - head", w);
}

Status EmitElementwise(const KernelContext& ctx, CodeWriter& w) {
  KILN_ASSIGN_OR_RETURN(EwKernel kernel, PlanElementwise(ctx));
  for (const EwConstant& c : kernel.constants) {
    w.Line("const kiln_cuda::Array<" + CpuStorageType(c.dtype) + ", " +
           std::to_string(std::max<size_t>(c.literals.size(), 1)) + "> " + c.name + "{" +
           BraceList(c.literals) + "};  // " + c.comment);
  }
  for (const EwNest& nest : kernel.nests) {
    w.Open("{");
    std::string total;
    for (size_t k = 0; k < nest.sizes.size(); ++k) {
      w.Line("const int64_t n" + std::to_string(k) + " = " + nest.sizes[k] + ";");
      total += (k ? " * n" : "n") + std::to_string(k);
    }
    const int64_t vec = VectorElements(nest);
    if (vec > 1) {
      KILN_RETURN_IF_ERROR(EmitVectorLaunch(nest, vec, total, w));
    } else {
      KILN_RETURN_IF_ERROR(EmitScalarLaunch(nest, "0", total.empty() ? "1" : total, w));
    }
    w.Close();
  }
  return Status::Ok();
}

}  // namespace

void RegisterElementwiseEmitters() {
  for (OpKind op : ElementwiseOps()) RegisterEmitter(op, EmitElementwise);
}

}  // namespace kiln::codegen::cuda
