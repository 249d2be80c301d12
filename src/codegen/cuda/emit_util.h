// Small helpers shared by the CUDA kernel emitters (src/codegen/cuda/*.cc): the float-dtype
// traits that the kiln_cuda family kernels are templated on and element word sizes. C++ arrays
// of dim expressions for the host-side launchers come from codegen/emit_lists.h.
#ifndef KILN_CODEGEN_CUDA_EMIT_UTIL_H_
#define KILN_CODEGEN_CUDA_EMIT_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/code_writer.h"
#include "codegen/emit_lists.h"
#include "codegen/kernel_context.h"
#include "codegen/tune_task.h"
#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::codegen::cuda {

/// "kiln_cuda::F32", "kiln_cuda::F16" or "kiln_cuda::BF16": the dtype traits of value `v` of
/// `node`. Otherwise Unimplemented naming the node, the value with its type and the cuda targets
/// (the family kernels compute f32 / f16 / bf16 only).
StatusOr<std::string> FloatTraits(const Node& node, const Value* v);

/// The element size of `v` in bytes as a literal ("2"): the word type of the layout kernels.
std::string ElemBytes(const Value* v);

/// Unimplemented(node.Describe() + ": " + what + " is not supported on the cuda targets yet").
Status CudaUnimplemented(const Node& node, const std::string& what);

/// Writes into `w` a call of a shared function (KernelContext::ShareFunction) named
/// `<stem>_<hash>` whose body is `shared` (a CodeWriter's text, starting with the node's typed
/// operand pointers in0.., out0.. as a kernel body does) and whose parameters are
///   (const char* what, const void* const* in, void* const* out, const int64_t* size,
///    void* stream)
/// The call passes the kernel's own `in`, `out` and `stream`, the string `what` (the node, for
/// error messages) and `sizes` (C++ int64 expressions, e.g. "sym_N * 3136", "64") as the array
/// `size`: the shared code must read every node-specific number from `size`, so that nodes of
/// other shapes share it.
void CallSharedFunction(const KernelContext& ctx, const std::string& stem,
                        const std::string& what, const std::vector<std::string>& sizes,
                        const CodeWriter& shared, CodeWriter& w);

/// One of several shared functions a kernel chooses from at run time by its sizes.
struct SharedVariant {
  std::string when;   // a C++ condition over size[] ("" for the last: the default)
  CodeWriter code;    // its body, as `shared` above
  std::string label;  // what it is, for a comment ("64x128x64_1x1_pingpong")
};

/// The C++ condition "fewer than kSm90Sms tiles of tile_m x tile_n": (rows + tile_m - 1) / tile_m
/// * ((cols + tile_n - 1) / tile_n) < 132, rows and cols being C++ expressions (e.g. over size[]).
std::string UnderOneWave(const std::string& rows, const std::string& cols, int tile_m, int tile_n);

/// CallSharedFunction with a choice: the first variant whose condition holds runs; the last one
/// (condition "") is the default (a kiln bug otherwise: checked).
void CallSharedFunctions(const KernelContext& ctx, const std::string& stem,
                         const std::string& what, const std::vector<std::string>& sizes,
                         const std::vector<SharedVariant>& variants, CodeWriter& w);

/// A CodeWriter whose first lines are the node's typed operand pointers (for `shared` above).
CodeWriter SharedBodyWriter(const Node& node);

/// A config chosen for the runs of at most `up_to` rows (-1: all the rest).
template <class Config>
struct RowsConfig {
  int64_t up_to = -1;
  Config config;
};

/// The node's configs from `text` (KernelContext::config, or a forced config): a rows dispatch
/// (codegen/tune_task.h) gives one per entry, a plain config one, "" none (the heuristic decides).
/// `parse` turns a config name into a Config (StatusOr); InvalidArgument naming the node when one
/// does not parse.
template <class Config, class Parse>
StatusOr<std::vector<RowsConfig<Config>>> ParseRowsConfigs(const Node& node, const std::string& text,
                                                           Parse parse) {
  std::vector<RowsConfig<Config>> out;
  if (text.empty()) return out;
  for (const auto& [bound, name] : ParseRowsDispatch(text).value_or(RowsDispatch{{-1, text}})) {
    StatusOr<Config> c = parse(name);
    if (!c.ok()) return InvalidArgument(node.Describe() + ": " + c.status().message());
    out.push_back({bound, *c});
  }
  return out;
}

/// The shared-function variants of a tuned rows dispatch of two or more configs: each runs while
/// `rows` (a C++ expression over size[]) <= its bound, the last is the default; `body(config)`
/// writes one; each is noted in a comment in `w`. Empty for fewer than two (the caller's single
/// config or heuristic then).
template <class Config, class Body>
std::vector<SharedVariant> RowsDispatchVariants(const std::vector<RowsConfig<Config>>& by_rows,
                                                const std::string& rows, Body body, CodeWriter& w) {
  std::vector<SharedVariant> out;
  if (by_rows.size() < 2) return out;
  for (const RowsConfig<Config>& e : by_rows) {
    const std::string bound = e.up_to < 0 ? "" : rows + " <= " + std::to_string(e.up_to);
    w.Line("// tuned per row count: " + (bound.empty() ? std::string("larger") : bound) + ": " +
           e.config.Name());
    out.push_back({bound, body(e.config), e.config.Name()});
  }
  return out;
}

}  // namespace kiln::codegen::cuda

#endif  // KILN_CODEGEN_CUDA_EMIT_UTIL_H_
