// Opening a directory written by `kiln compile` (for `kiln run`, `kiln bench`, `kiln info DIR`):
// its library loaded and instantiated, and its IR (model.kir) parsed for input generation and
// `--check`.
#ifndef KILN_TOOLS_COMPILED_H_
#define KILN_TOOLS_COMPILED_H_

#include <memory>
#include <string>

#include "ir/graph.h"
#include "kiln/module.h"
#include "kiln/status.h"

namespace kiln::tools {

struct Compiled {
  std::string dir;
  /// DIR/model.kir: the graph the library implements (weights not attached).
  std::unique_ptr<Graph> graph;
  std::shared_ptr<Module> module;
  std::unique_ptr<Instance> instance;
  /// DIR/model.safetensors, or empty when the library embeds its weights.
  std::string weights_path;
};

/// True when `path` is a directory holding model.so.
bool IsCompiledDir(const std::string& path);

/// Loads DIR/model.so, creates an instance with DIR/model.safetensors (or the embedded weights)
/// and parses DIR/model.kir. NotFound naming what is missing (and that `kiln compile` makes it).
StatusOr<Compiled> OpenCompiled(const std::string& dir);

}  // namespace kiln::tools

#endif  // KILN_TOOLS_COMPILED_H_
