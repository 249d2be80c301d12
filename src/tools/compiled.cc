#include "tools/compiled.h"

#include <filesystem>

#include "ir/parser.h"
#include "tools/common.h"

namespace kiln::tools {
namespace fs = std::filesystem;

bool IsCompiledDir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::exists(fs::path(path) / "model.so", ec);
}

StatusOr<Compiled> OpenCompiled(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return NotFound("no such directory: " + dir);
  if (!fs::is_directory(dir, ec)) {
    return InvalidArgument(dir + " is not a directory (expected the output directory of `kiln compile`)");
  }
  fs::path so = fs::path(dir) / "model.so";
  if (!fs::exists(so, ec)) {
    return NotFound(dir + " has no model.so: is it the output directory of `kiln compile`?");
  }
  Compiled c;
  c.dir = dir;
  KILN_ASSIGN_OR_RETURN(c.module, Module::Load(so.string()));
  fs::path weights = fs::path(dir) / "model.safetensors";
  if (fs::exists(weights, ec)) c.weights_path = weights.string();
  KILN_ASSIGN_OR_RETURN(c.instance, c.module->CreateInstance(c.weights_path));
  fs::path kir = fs::path(dir) / "model.kir";
  KILN_ASSIGN_OR_RETURN(std::string text, ReadTextFile(kir.string()));
  KILN_ASSIGN_OR_RETURN(Graph graph, ParseGraph(text, kir.string()));
  c.graph = std::make_unique<Graph>(std::move(graph));
  return c;
}

}  // namespace kiln::tools
