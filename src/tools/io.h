// Inputs and outputs of the `kiln` subcommands that run models (eval, run, bench): deterministic
// random inputs or inputs from a safetensors file, and a one-line summary per output.
#ifndef KILN_TOOLS_IO_H_
#define KILN_TOOLS_IO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/status.h"
#include "support/tensor.h"

namespace kiln::tools {

struct InputOptions {
  /// Inputs from this .safetensors file (keyed by graph input name); empty: random.
  std::string file = {};
  /// Seed of random inputs (each input also seeded by its name).
  uint64_t seed = 0;
  /// Values for symbols that look like a batch (N, batch, ...) or sequence length (S, seq, ...)
  /// when inputs are random (defaults 1 and 128, clamped into the range); other symbols take
  /// their range's minimum.
  std::optional<int64_t> batch = {};
  std::optional<int64_t> seq = {};
};

/// Whether a symbol name looks like a batch size (N, B, batch, ...) / a sequence length (S, L,
/// T, seq, ...): `--batch` / `--seq` and `--dynamic batch=...` / `seq=...` apply to these.
bool IsBatchSymbol(const std::string& name);
bool IsSeqSymbol(const std::string& name);

/// One tensor per graph input: random (floats in [-1, 1), integers in [0, 1000), inputs named
/// like a mask all ones) or read from options.file; checked against the graph's input types.
StatusOr<std::vector<Tensor>> MakeInputs(const Graph& graph, const InputOptions& options);

/// Prints "%name  f32[1,1000]  min=.. max=.. mean=..  first=[..]" and, for [N,1000] logits,
/// the top-5 classes of the first rows.
void PrintOutput(const std::string& name, const Tensor& t);

}  // namespace kiln::tools

#endif  // KILN_TOOLS_IO_H_
