// Helpers shared by the `kiln` subcommands: reading the MODEL argument (a .kir file, an .onnx
// file, `-` for stdin, or `zoo:NAME`), file I/O with user-facing errors, and the one way errors
// are reported.
#ifndef KILN_TOOLS_COMMON_H_
#define KILN_TOOLS_COMMON_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "ir/graph.h"
#include "kiln/status.h"
#include "support/dtype.h"

namespace CLI {
class App;
}  // namespace CLI

namespace kiln::tools {

// Each subcommand adds itself to `app`; when it runs, its callback stores its exit code (0, or
// kExitError after printing the error) in *exit_code.
/// `kiln opt`: parse, verify and print text IR (opt.cc).
void AddOptCommand(CLI::App& app, int* exit_code);
/// `kiln info`: the op registry and zoo, or a summary of one model (info.cc).
void AddInfoCommand(CLI::App& app, int* exit_code);
/// `kiln eval`: run a model with the reference interpreter (eval.cc).
void AddEvalCommand(CLI::App& app, int* exit_code);
/// `kiln compile`: build a model library (compile.cc).
void AddCompileCommand(CLI::App& app, int* exit_code);
/// `kiln run`: run a compiled model, optionally checked against the interpreter (run.cc).
void AddRunCommand(CLI::App& app, int* exit_code);
/// `kiln bench`: time a compiled model (bench.cc).
void AddBenchCommand(CLI::App& app, int* exit_code);

/// Exit code of a command that failed with a user error (CLI11 usage errors exit with 2).
inline constexpr int kExitError = 1;

/// Prints "kiln: error: <message>" to stderr and returns kExitError.
int ReportError(const Status& status);

/// How to load the MODEL argument.
struct ModelOptions {
  /// Zoo models only: make the batch / sequence dims static (nullopt keeps them symbolic).
  std::optional<int64_t> batch;
  std::optional<int64_t> seq;
  /// Zoo models only: element type of activations and weights.
  DType dtype = DType::kF32;
  /// Attach weights to a .kir graph (zoo graphs always come with theirs).
  bool with_weights = false;
  /// Weights file (.safetensors keyed by weight name); empty: generated from `seed`.
  std::string weights_path;
  /// Seed of the deterministic weights.
  uint64_t seed = 0;
  /// .onnx models only: graph inputs bound to comma-separated values at import time (--bind).
  std::map<std::string, std::string> onnx_bound_values;
};

/// True for "zoo:NAME".
bool IsZooRef(const std::string& model);

/// Reads a whole file; "-" reads stdin. NotFound names the path.
StatusOr<std::string> ReadTextFile(const std::string& path);
/// Writes `text` to `path`; "-" writes stdout.
Status WriteTextFile(const std::string& path, const std::string& text);

/// Loads and verifies MODEL: parses a .kir file (or stdin for "-"), imports an .onnx file (with
/// its initializers as weights; see frontend/onnx/onnx_importer.h), or builds a zoo model with
/// `options` (batch/seq/dtype apply to zoo models only). Zoo graphs come with their weights; a
/// .kir graph gets them only with options.with_weights (see AttachWeights).
StatusOr<Graph> LoadModel(const std::string& model, const ModelOptions& options);

/// Attaches weights to a graph parsed from text, one per `weight` node: loaded from the
/// safetensors file `weights_path` (each checked for presence, dtype and shape) or, when it is
/// empty, generated deterministically from `seed` and the weight's name, scaled like PyTorch's
/// default initialisation as far as the name and shape tell (fan-in from the shape, norm and
/// running statistics from the name).
Status AttachWeights(Graph& graph, const std::string& weights_path, uint64_t seed);

}  // namespace kiln::tools

#endif  // KILN_TOOLS_COMMON_H_
