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
// Shared functions: code that many nodes have in common although their kernels differ (the
// CUTLASS kernel instantiation of 13 ResNet convs of different shapes but one tile, dtype and
// epilogue) goes into a function of its own through KernelContext::ShareFunction. The module
// emitter writes each distinct one once, to kernels/<name> (the heavy file to compile), and
// declares it in the kernel files that call it (light files: one call with the node's sizes and
// pointers). Compile time then grows with the distinct instantiations, not with the nodes.
//
// Aliasing: an output may be the same buffer as an input when the memory plan runs a node in
// place (elementwise nodes, see plan/memory_plan.h); kernels of other ops never see aliasing.
//
// Scratch: a kernel that needs temporary device memory while it runs (a split-K gemm's partial
// sums) asks KernelContext::Scratch for it; the module emitter passes one region at the end of
// the workspace, as large as the largest request, after the node's outputs in `out` (nodes run
// one at a time on the instance's stream, so they can all share it).
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

/// The typed pointer locals a kernel body starts with (see the file comment): one line per
/// operand, `[[maybe_unused]] const float* in0 = static_cast<const float*>(in[0]);`, then the
/// outputs (out0..); from `in` and `out` arrays of void pointers. Each line starts with `indent`.
std::string OperandLocals(const Node& node, const std::string& indent = "");

/// `v` rounded to f32 as a C++ float literal ("0.5f", "1e-05f", "__builtin_inff()", NaN too).
std::string FloatLiteralExpr(double v);

/// `v` as a C++ literal of `dtype`'s storage type (f16/bf16 as their bits, bools true/false).
std::string LiteralExpr(double v, DType dtype);

/// A function that kernel bodies call and that is written once for all the nodes sharing it.
struct SharedFunction {
  std::string name;    // <stem>_<hash of params and code>: also the file name's stem
  std::string params;  // the parameter list, without the parentheses
  std::string code;    // the body; `#include` lines in it move to the top of its file
};

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

  /// Moves `code`, the body of `void NAME(params)`, into a shared function (see the file
  /// comment) and returns NAME, `<stem>_<16 hex digits hashing params and code>`: equal text
  /// gives the same name in every node and model. (Its file also names the graph and its first
  /// caller, so the object cache reuses it within a model, not across models.) The kernel body
  /// then calls NAME; `code` must not depend on anything but its parameters.
  std::string ShareFunction(const std::string& stem, const std::string& params,
                            const std::string& code) const;
  /// The shared functions this node's body calls, in the order they were made.
  const std::vector<SharedFunction>& shared() const { return shared_; }

  /// Asks for `bytes` of scratch (see the file comment); repeated calls keep the largest size.
  void RequestScratch(int64_t bytes) const;
  /// The C++ expression of the scratch's 256-byte aligned address (a `void*`) in the body and in
  /// shared functions, which get the same `out`: "out[<outputs>]". Valid once requested.
  std::string ScratchExpr() const;
  /// The scratch this node asked for (0: none).
  int64_t scratch_bytes() const { return scratch_bytes_; }

 private:
  const Node& node_;
  std::vector<std::string> symbols_;
  std::string config_;
  mutable std::vector<SharedFunction> shared_;  // filled while the const emitter runs
  mutable int64_t scratch_bytes_ = 0;
};

/// The C++ storage type of `dtype` in generated CPU code: float, uint16_t (the bits of f16 and
/// bf16), int64_t, int32_t, int8_t, uint8_t, bool.
std::string CpuStorageType(DType dtype);

/// Writes the body of the kernel that computes ctx.node() (see the file comment). Unimplemented
/// (naming the node, the attribute or dtype, and the target) for what the target cannot do.
using KernelEmitFn = Status (*)(const KernelContext& ctx, CodeWriter& body);

}  // namespace kiln::codegen

#endif  // KILN_CODEGEN_KERNEL_CONTEXT_H_
