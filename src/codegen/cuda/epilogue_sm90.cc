// The epilogue visitor tree of the cuda-sm90 gemm and conv kernels (see epilogue_sm90.h): one
// tree node per epilogue step, the last converting to the output's dtype.
#include "codegen/cuda/epilogue_sm90.h"

#include <string>
#include <vector>

#include "codegen/cuda/gemm.h"
#include "codegen/kernel_context.h"
#include "ops/epilogue.h"

namespace kiln::codegen::cuda {
namespace {

constexpr const char* kNs = "kiln_cuda::sm90::";

// The functor of an activation step; `out16`: D is f16 or bf16, whose rounding hides the error of
// the GELUs' one-instruction tanh (see Gelu16 in kiln_cuda_epilogue_sm90.cuh).
std::string StepFunctor(EpilogueOp::Kind kind, bool out16) {
  switch (kind) {
    case EpilogueOp::Kind::kRelu:
      return "Relu";
    case EpilogueOp::Kind::kGelu:
      return out16 ? "GeluFor16BitOutput" : "Gelu";
    case EpilogueOp::Kind::kGeluTanh:
      return out16 ? "GeluTanhFor16BitOutput" : "GeluTanh";
    case EpilogueOp::Kind::kSilu:
      return "Silu";
    case EpilogueOp::Kind::kSigmoid:
      return "Sigmoid";
    case EpilogueOp::Kind::kTanh:
      return "Tanh";
    default:
      return "";
  }
}

}  // namespace

int EmitEpilogueTree(const Node& node, int source_input, int c_row_vector, CodeWriter& w) {
  const std::string td = CutlassType(node.output()->dtype());
  struct Step {
    std::string functor;    // kiln_cuda::sm90 functor
    std::string leaf;       // a second child (Source/Bias type), or ""
    std::string leaf_args;  // its arguments
    std::string own_args;   // the compute node's own arguments
    std::string comment;
  };
  std::vector<Step> steps;
  // alpha and beta are gemm attributes; a conv has neither.
  const bool gemm = node.op() == OpKind::kGemm;
  const double alpha = gemm ? node.GetFloat("alpha") : 1.0, beta = gemm ? node.GetFloat("beta") : 0.0;
  if (alpha != 1.0) steps.push_back({"Mul", "", "", "{" + FloatLiteralExpr(alpha) + "}", "alpha"});
  auto in_ptr = [&](int input) {
    return "reinterpret_cast<const " + CutlassType(node.input(input)->dtype()) + "*>(" +
           KernelContext::In(input) + ")";
  };
  auto source_type = [&] {
    return std::string(kNs) + "Source<" + CutlassType(node.input(source_input)->dtype()) + ">";
  };
  if (node.num_explicit_inputs() == 3) {
    const std::string what =
        std::string("beta * c (in2") + (c_row_vector >= 0 ? ", a row vector)" : ")");
    const std::string leaf =
        c_row_vector >= 0
            ? std::string(kNs) + "Bias<" + CutlassType(node.input(2)->dtype()) + ", Tile>"
            : source_type();
    steps.push_back({"PlusScaled", leaf, c_row_vector >= 0 ? "{" + in_ptr(2) + "}" : "{}",
                     "{" + FloatLiteralExpr(beta) + "}", what});
  }
  int operand = node.num_explicit_inputs();
  for (const EpilogueOp& step : node.GetEpilogue()) {
    switch (step.kind) {
      case EpilogueOp::Kind::kBias:
        steps.push_back(
            {"Plus",
             std::string(kNs) + "Bias<" + CutlassType(node.input(operand)->dtype()) + ", Tile>",
             "{" + in_ptr(operand) + "}", "{}", "bias(" + KernelContext::In(operand) + ")"});
        ++operand;
        break;
      case EpilogueOp::Kind::kAdd:
        steps.push_back({"Plus", source_type(), "{}", "{}",
                         "add(" + KernelContext::In(operand) + "), the source operand C"});
        ++operand;
        break;
      case EpilogueOp::Kind::kScale:
        steps.push_back({"Mul", "", "", "{" + FloatLiteralExpr(step.scale) + "}", "scale"});
        break;
      case EpilogueOp::Kind::kCast:
        break;  // the root stores the output's (cast) dtype
      default: {
        const DType out = node.output()->dtype();
        const std::string f = StepFunctor(step.kind, out == DType::kF16 || out == DType::kBF16);
        steps.push_back({f, "", "", "{}", std::string(EpilogueKindName(step.kind))});
      }
    }
  }
  if (steps.empty()) steps.push_back({"Identity", "", "", "{}", "store"});
  w.Line("using E0 = " + std::string(kNs) + "Acc;  // the f32 accumulators");
  w.Line("const typename E0::Arguments ep0{};");
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    const bool root = i + 1 == steps.size();
    const std::string e = "E" + std::to_string(i + 1), prev = "E" + std::to_string(i);
    w.Line("using " + e + " = " + kNs + "Node<" + kNs + s.functor + ", " + (root ? td : "float") +
           ", " + prev + (s.leaf.empty() ? "" : ", " + s.leaf) + ">;  // " + s.comment +
           (root ? " -> D" : ""));
    w.Line("const typename " + e + "::Arguments ep" + std::to_string(i + 1) + "{ep" +
           std::to_string(i) + (s.leaf.empty() ? "" : ", " + s.leaf_args) + ", " + s.own_args +
           "};");
  }
  return static_cast<int>(steps.size());
}

}  // namespace kiln::codegen::cuda
