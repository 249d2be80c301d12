// The interface between the module emitter and the per-op kernel emitters of a target.
//
// Every node of the planned graph becomes one call of a generated kernel function
//
//   void kernel_7(const void* const* in, void* const* out, const int64_t* sym, void* stream)
//
// whose prologue (written by the framework, src/codegen/module_emitter.cc) declares typed
// pointers to the node's operands and results and the dynamic-dim symbols:
//
//   const float* in0 = static_cast<const float*>(in[0]);    // node input 0, row-major
//   float* out0 = static_cast<float*>(out[0]);              // node output 0
//   [[maybe_unused]] const int64_t sym_N = sym[0];          // symbol N (graph symbol order)
//
// A target's emitter for an op writes only the body, using those names and KernelContext to turn
// IR dims into C++ expressions. Kernels whose text is identical (same op, attributes and shapes,
// e.g. the 12 layers of BERT) are emitted once and called from every node that needs them.
// A body line `#include "header"` is moved to the top of the kernel's file, after the target's
// prelude: runtime headers that only some kernels need (compile time).
//
// Aliasing: an output may be the same buffer as an input when the memory plan runs a node in
// place (elementwise nodes, see plan/memory_plan.h); kernels of other ops never see aliasing.
#ifndef KILN_CODEGEN_KERNEL_CONTEXT_H_
#define KILN_CODEGEN_KERNEL_CONTEXT_H_

#include <string>
#include <vector>

#include "codegen/code_writer.h"
#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::codegen {

/// The functions behind KernelContext::Dim and Product, for code outside kernels (model.cc).
std::string DimExpr(const Dim& d);
std::string ProductExpr(const Shape& shape, int64_t begin, int64_t end);

/// `v` rounded to f32 as a C++ float literal ("0.5f", "1e-05f", "__builtin_inff()", NaN too).
std::string FloatLiteralExpr(double v);

/// `v` as a C++ literal of `dtype`'s storage type (f16/bf16 as their bits, bools true/false).
std::string LiteralExpr(double v, DType dtype);

/// What an emitter sees when writing the kernel of one node.
class KernelContext {
 public:
  KernelContext(const Node& node, std::vector<std::string> symbols, std::string config = "")
      : node_(node), symbols_(std::move(symbols)), config_(std::move(config)) {}

  const Node& node() const { return node_; }

  /// C++ expression of `d` in a kernel body: a literal ("768") or an int64_t expression over the
  /// symbol locals ("sym_N*128+1"). Parenthesised when it is not a single term.
  std::string Dim(const kiln::Dim& d) const { return DimExpr(d); }
  /// Product of the dims of `shape` as a C++ expression ("sym_N*150528"; "1" for a scalar).
  std::string Numel(const Shape& shape) const { return ProductExpr(shape, 0, static_cast<int64_t>(shape.size())); }
  /// Product of dims [begin, end) of `shape`.
  std::string Product(const Shape& shape, int64_t begin, int64_t end) const {
    return ProductExpr(shape, begin, end);
  }

  /// Names of the typed pointer locals in the body.
  static std::string In(int i) { return "in" + std::to_string(i); }
  static std::string Out(int i) { return "out" + std::to_string(i); }

  /// The graph's symbols in module order (the order of `sym`).
  const std::vector<std::string>& symbols() const { return symbols_; }

  /// The kernel configuration chosen for this node by the tuner (a name the target's emitter
  /// parses, e.g. a gemm's "128x256x64_2x1_coop"), or "" to let the emitter's heuristic pick.
  const std::string& config() const { return config_; }

 private:
  const Node& node_;
  std::vector<std::string> symbols_;
  std::string config_;
};

/// The C++ storage type of `dtype` in generated CPU code: float, uint16_t (the bits of f16 and
/// bf16), int64_t, int32_t, int8_t, uint8_t, bool.
std::string CpuStorageType(DType dtype);

/// Writes the body of the kernel that computes ctx.node() (see the file comment). Unimplemented
/// (naming the node, the attribute or dtype, and the target) for what the target cannot do.
using KernelEmitFn = Status (*)(const KernelContext& ctx, CodeWriter& body);

}  // namespace kiln::codegen

#endif  // KILN_CODEGEN_KERNEL_CONTEXT_H_
