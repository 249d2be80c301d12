// Reading ONNX test-data directories (see test_data.h).
#include "tools/test_data.h"

#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "frontend/onnx/onnx_tensor.h"
#include "ops/interpreter.h"
#include "support/safetensors.h"

namespace kiln::tools {
namespace {

namespace fs = std::filesystem;

std::string FileName(const std::string& prefix, size_t i) {
  return prefix + "_" + std::to_string(i) + ".pb";
}

// "2 inputs (%x: f32[2,3], %y: f32[3])" from the model's names and (optional) types.
std::string Describe(const std::vector<std::string>& names, const std::vector<std::string>& types,
                     const std::string& what) {
  std::string s = std::to_string(names.size()) + " " + what + (names.size() == 1 ? "" : "s");
  if (names.empty()) return s;
  s += " (";
  for (size_t i = 0; i < names.size(); ++i) {
    s += (i ? ", %" : "%") + names[i];
    if (i < types.size()) s += ": " + types[i];
  }
  return s + ")";
}

// More files than model inputs: when each model input names exactly one of the files, those
// (by name), and the rest in `ignored` (inputs bound at compile time, `--bind`); else nothing.
std::optional<std::vector<Tensor>> SelectByName(const std::string& dir, const std::string& prefix,
                                                const std::set<size_t>& present,
                                                const std::vector<std::string>& names,
                                                std::vector<std::string>* ignored) {
  std::map<std::string, std::vector<size_t>> files_of;
  std::map<size_t, Tensor> tensors;
  for (size_t i : present) {
    std::string name;
    StatusOr<Tensor> t =
        onnx_import::ReadTensorProtoFile((fs::path(dir) / FileName(prefix, i)).string(), &name);
    if (!t.ok()) return std::nullopt;
    files_of[name].push_back(i);
    tensors.emplace(i, std::move(*t));
  }
  std::vector<Tensor> out;
  std::set<size_t> used;
  for (const std::string& n : names) {
    auto it = files_of.find(n);
    if (it == files_of.end() || it->second.size() != 1) return std::nullopt;
    used.insert(it->second[0]);
    out.push_back(tensors.at(it->second[0]));
  }
  for (size_t i : present) {
    if (!used.count(i)) ignored->push_back(FileName(prefix, i));
  }
  return out;
}

// Reads DIR/PREFIX_N.pb for N in [0, names.size()), ordered as `names` (see test_data.h for the
// matching); `what` is "input" or "output", `types` the model's types for messages. `ignored`
// (inputs only; else null) receives the files left out when there are more than model inputs.
StatusOr<std::vector<Tensor>> ReadPbFiles(const std::string& dir, const std::string& prefix,
                                          const std::vector<std::string>& names,
                                          const std::vector<std::string>& types,
                                          const std::string& what,
                                          std::vector<std::string>* ignored = nullptr) {
  if (!IsDirectory(dir)) return NotFound("no such directory: " + dir);
  std::set<size_t> present;
  const std::regex pattern(prefix + "_([0-9]+)\\.pb");
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    std::string file = e.path().filename().string();
    if (std::regex_match(file, m, pattern) && m[1].str().size() < 10) {
      present.insert(std::stoul(m[1].str()));
    }
  }
  std::string files;
  for (size_t i : present) files += (files.empty() ? "" : ", ") + FileName(prefix, i);
  if (files.empty()) files = "no " + prefix + "_N.pb files";
  std::string model = "the model has " + Describe(names, types, what);
  for (size_t i = 0; i < names.size(); ++i) {
    if (!present.count(i)) {
      return NotFound((fs::path(dir) / FileName(prefix, i)).string() + " not found: " + model +
                      ", one " + prefix + "_N.pb per " + what + " (the directory has: " + files +
                      ")");
    }
  }
  if (!present.empty() && *present.rbegin() >= names.size()) {
    if (ignored != nullptr) {
      if (std::optional<std::vector<Tensor>> picked =
              SelectByName(dir, prefix, present, names, ignored))
        return std::move(*picked);
    }
    return InvalidArgument(dir + " has " + FileName(prefix, *present.rbegin()) + " but " + model +
                           " (the directory has: " + files + ")");
  }
  std::vector<Tensor> tensors(names.size());
  std::vector<std::string> proto_names(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    std::string path = (fs::path(dir) / FileName(prefix, i)).string();
    KILN_ASSIGN_OR_RETURN(tensors[i], onnx_import::ReadTensorProtoFile(path, &proto_names[i]));
  }
  // By name only when every file names a distinct model input (output).
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < names.size(); ++i) index.emplace(names[i], i);
  std::set<size_t> claimed;
  for (const std::string& n : proto_names) {
    auto it = index.find(n);
    if (it == index.end() || !claimed.insert(it->second).second) return tensors;
  }
  std::vector<Tensor> by_name(names.size());
  for (size_t i = 0; i < names.size(); ++i) by_name[index.at(proto_names[i])] = tensors[i];
  return by_name;
}

}  // namespace

bool IsDirectory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

StatusOr<std::vector<Tensor>> ReadTestDataInputs(const Graph& graph, const std::string& dir,
                                                 std::vector<std::string>* ignored) {
  std::vector<std::string> names, types;
  for (const Value* in : graph.inputs()) {
    names.push_back(in->name());
    types.push_back(in->type().ToString());
  }
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> inputs,
                        ReadPbFiles(dir, "input", names, types, "input", ignored));
  // Per file first, so an error names the file; then the dynamic dims across inputs.
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value* in = graph.inputs()[i];
    const Tensor& t = inputs[i];
    bool fits = t.dtype() == in->dtype() && t.rank() == in->rank();
    for (int64_t a = 0; fits && a < t.rank(); ++a) {
      std::optional<int64_t> d = in->shape()[a].static_value();
      fits = !d || *d == t.dim(a);
    }
    if (!fits) {
      return InvalidArgument((fs::path(dir) / FileName("input", i)).string() + ": model input %" +
                             in->name() + " expects " + in->type().ToString() +
                             ", the file holds " + t.TypeString());
    }
  }
  StatusOr<SymbolBindings> bound = BindInputs(graph, inputs);
  if (!bound.ok()) return bound.status().WithContext(dir);
  return inputs;
}

StatusOr<std::vector<Tensor>> ReadExpectedOutputs(const std::vector<std::string>& output_names,
                                                  const std::string& path) {
  if (IsDirectory(path)) return ReadPbFiles(path, "output", output_names, {}, "output");
  KILN_ASSIGN_OR_RETURN(TensorMap file, LoadSafetensors(path));
  std::vector<Tensor> expected;
  for (const std::string& name : output_names) {
    auto it = file.find(name);
    if (it == file.end()) {
      std::string have;
      for (const auto& [n, t] : file) have += (have.empty() ? "" : ", ") + n;
      return NotFound("output '" + name + "' is missing from " + path +
                      " (it has: " + (have.empty() ? "no tensors" : have) + ")");
    }
    expected.push_back(it->second);
  }
  return expected;
}

}  // namespace kiln::tools
