// PassPipeline: runs passes in a fixed, straight-line order (no fixed-point iteration, so the
// compile time is predictable and every IR dump corresponds to one pass), optionally verifying
// and dumping the IR after each pass.
#ifndef KILN_PASSES_PIPELINE_H_
#define KILN_PASSES_PIPELINE_H_

#include <memory>
#include <string>
#include <vector>

#include "passes/pass.h"

namespace kiln {

/// The value of the environment variable KILN_DUMP_IR, or "" when unset.
std::string DumpDirFromEnv();

struct PipelineOptions {
  /// Run the verifier after every pass; a failure is an InternalError naming the pass (a pass
  /// that breaks the graph is a compiler bug). Always on in tests.
  bool verify_each = false;
  /// When non-empty, the IR is written to `<dump_dir>/00-input.kir` before the first pass and to
  /// `<dump_dir>/NN-<pass>.kir` (NN = 1-based position, two digits) after each pass. Created if
  /// missing. Defaults to $KILN_DUMP_IR.
  std::string dump_dir = DumpDirFromEnv();
};

class PassPipeline {
 public:
  /// Appends a pass (run after the ones already added).
  void Add(std::unique_ptr<Pass> pass);
  /// Names of the passes in order (for `kiln info` and tests).
  std::vector<std::string> Names() const;
  /// Runs every pass in order on `graph`; returns whether any pass changed it. A pass error is
  /// returned with the pass named ("pass 'cse': ..."); the graph is then left as that pass left
  /// it. Dump files that cannot be written are an error too (the user asked for them).
  StatusOr<bool> Run(Graph& graph, const PipelineOptions& options = {}) const;

 private:
  std::vector<std::unique_ptr<Pass>> passes_;
};

/// The default optimisation pipeline (positions and reasons in pipeline.cc). `target` adds the
/// passes one backend needs: "cuda-sm90" pad-conv-channels and constants-to-weights, "cuda-sm80"
/// constants-to-weights; "" and "cpu" none.
PassPipeline DefaultPipeline(const std::string& target = "");

}  // namespace kiln

#endif  // KILN_PASSES_PIPELINE_H_
