#include "tools/common.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>

#include "frontend/onnx/onnx_importer.h"
#include "ir/parser.h"
#include "ir/verifier.h"
#include "models/weights.h"
#include "models/zoo.h"

namespace kiln::tools {

namespace {

constexpr std::string_view kZooPrefix = "zoo:";

std::string ZooNames() {
  std::string names;
  for (const ZooEntry& e : ZooModels()) {
    if (!names.empty()) names += ", ";
    names += e.name;
  }
  return names;
}

StatusOr<Graph> LoadZooModel(const std::string& name, const ModelOptions& options) {
  bool known = false;
  for (const ZooEntry& e : ZooModels()) known = known || e.name == name;
  if (!known) {
    return NotFound("unknown zoo model '" + name + "' (available: " + ZooNames() + ")");
  }
  ZooOptions zoo;
  zoo.batch = options.batch;
  zoo.seq = options.seq;
  zoo.dtype = options.dtype;
  zoo.weights_path = options.weights_path;
  zoo.seed = options.seed;
  StatusOr<Graph> graph = BuildZooModel(name, zoo);
  if (!graph.ok()) return graph.status().WithContext("zoo:" + name);
  return graph;
}

bool Contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

int64_t FanIn(const std::vector<int64_t>& shape) {
  int64_t fan_in = 1;
  for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
  return fan_in;
}

// How to generate a weight known only by its name and shape, with PyTorch-like scales so
// activations stay in a realistic range through deep models. The rules follow the state_dict
// naming the zoo uses, so a zoo model printed with `kiln opt` evaluates to the same numbers:
// running statistics by name; a 1-D `*weight` is a norm scale; a 1-D `*bias` takes the fan-in of
// its `*weight` sibling (a norm shift if that is 1-D too); embeddings and tokens by name; any
// other tensor is [out, in...] with fan-in the product of all but the first dim.
WeightSpec SpecFor(const Node& node, const std::map<std::string, std::vector<int64_t>>& shapes) {
  WeightSpec spec;
  spec.name = node.GetString("name");
  spec.dtype = node.GetDType("dtype");
  spec.shape = node.GetInts("shape");
  const std::string& n = spec.name;
  spec.init = WeightInit::kFanIn;
  if (n.ends_with("running_mean")) {
    spec.init = WeightInit::kRunningMean;
  } else if (n.ends_with("running_var")) {
    spec.init = WeightInit::kRunningVar;
  } else if (spec.shape.size() == 1 && n.ends_with("weight")) {
    spec.init = WeightInit::kNormWeight;
  } else if (spec.shape.size() == 1 && n.ends_with("bias")) {
    auto sibling = shapes.find(n.substr(0, n.size() - 4) + "weight");
    if (sibling == shapes.end()) {
      spec.fan_in = spec.shape[0];
    } else if (sibling->second.size() == 1) {
      spec.init = WeightInit::kNormBias;
    } else {
      spec.fan_in = FanIn(sibling->second);
    }
  } else if (Contains(n, "embed") || Contains(n, "token")) {
    spec.init = WeightInit::kEmbedding;
  } else {
    spec.fan_in = FanIn(spec.shape);
  }
  return spec;
}

}  // namespace

int ReportError(const Status& status) {
  std::cerr << "kiln: error: " << status.message() << "\n";
  return kExitError;
}

bool IsZooRef(const std::string& model) { return model.starts_with(kZooPrefix); }

StatusOr<std::string> ReadTextFile(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFound("no such file: " + path);
  if (std::filesystem::is_directory(path, ec)) {
    return InvalidArgument(path + " is a directory, expected a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path + " for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return InternalError("error while reading " + path);
  return text.str();
}

Status WriteTextFile(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::cout << text << std::flush;
    return Status::Ok();
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return NotFound("cannot open " + path + " for writing");
  out << text;
  out.close();
  if (!out) return InternalError("error while writing " + path);
  return Status::Ok();
}

StatusOr<Graph> LoadModel(const std::string& model, const ModelOptions& options) {
  if (!options.onnx_bound_values.empty() && !IsOnnxPath(model)) {
    return InvalidArgument("--bind applies to .onnx models only (it binds ONNX graph inputs)");
  }
  if (!options.weights_path.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(options.weights_path, ec)) {
      return NotFound("no such weights file: " + options.weights_path);
    }
  }
  if (IsZooRef(model)) {
    KILN_ASSIGN_OR_RETURN(Graph graph, LoadZooModel(model.substr(kZooPrefix.size()), options));
    // A zoo model that fails verification is a kiln bug, but report it rather than abort.
    KILN_RETURN_IF_ERROR(Verify(graph));
    return graph;
  }
  if (IsOnnxPath(model)) {
    // An ONNX model carries its weights (initializers); --weights would be ambiguous.
    if (!options.weights_path.empty()) {
      return InvalidArgument("--weights does not apply to an .onnx model (its initializers are "
                             "its weights)");
    }
    OnnxImportOptions import_options;
    import_options.bound_values = options.onnx_bound_values;
    return ImportOnnxFile(model, import_options);
  }
  KILN_ASSIGN_OR_RETURN(std::string text, ReadTextFile(model));
  std::string source_name = model == "-" ? "<stdin>" : model;
  KILN_ASSIGN_OR_RETURN(Graph graph, ParseGraph(text, source_name));
  Status verified = Verify(graph);
  if (!verified.ok()) return verified.WithContext(source_name);
  if (options.with_weights) {
    KILN_RETURN_IF_ERROR(AttachWeights(graph, options.weights_path, options.seed));
  }
  return graph;
}

Status AttachWeights(Graph& graph, const std::string& weights_path, uint64_t seed) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& node : graph.nodes()) {
    if (node->op() == OpKind::kWeight) shapes[node->GetString("name")] = node->GetInts("shape");
  }
  std::vector<WeightSpec> specs;
  for (const auto& node : graph.nodes()) {
    if (node->op() == OpKind::kWeight) specs.push_back(SpecFor(*node, shapes));
  }
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<TensorMap> weights,
                        MaterializeWeights(specs, weights_path, seed));
  graph.set_weights(std::move(weights));
  return Status::Ok();
}

}  // namespace kiln::tools
