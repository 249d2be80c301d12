// ONNX backend node-test conformance runner: for each test directory (model.onnx plus
// test_data_set_*/input_N.pb and output_N.pb), imports the model, runs the reference interpreter
// on each data set and compares with the expected outputs (|got - want| <= atol + rtol*|want|,
// atol 1e-5, rtol 1e-3 like ONNX's backend tests; integers and bools exactly).
//
// A model that imports only when some input is known at import time (Reshape's shape, Tile's
// repeats, a Resize's sizes given as graph inputs: kiln compiles static graphs) is imported again
// per data set with the integer and bool inputs the error names (else all of them) bound to that
// data set's values (OnnxImportOptions::bound_inputs); such a test passes as `pass-bound`, is
// counted as supported and listed separately in the totals.
//
// Prints one line per failing or pass-bound test (every test with --verbose: pass / pass-bound /
// FAIL / unsupported with the reason), a table per op type and the totals. Exit code: 0 when no
// supported test fails, 1 when some do, 2 when the data directory is missing. An unsupported test
// is one whose import or run reports Unimplemented (op, attribute or dtype); any other error or a
// wrong value is a failure.
//
//   run_conformance [DIR (default /usr/share/libonnx-testdata/data/node)] [--verbose] [--filter S]
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "frontend/onnx/onnx_importer.h"
#include "frontend/onnx/onnx_tensor.h"
#include "ops/interpreter.h"

namespace fs = std::filesystem;

namespace kiln {
namespace {

enum class Outcome { kPass, kFail, kUnsupported };

struct Result {
  Outcome outcome = Outcome::kPass;
  std::string reason;
  bool bound = false;  // integer / bool inputs were bound at import time
};

StatusOr<std::string> Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

StatusOr<Tensor> ReadPb(const fs::path& path) {
  KILN_ASSIGN_OR_RETURN(std::string bytes, Slurp(path));
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) return ParseError(path.string() + ": not a TensorProto");
  return onnx_import::ReadTensorProto(proto, path.parent_path().string(), path.filename().string());
}

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

Result Compare(const Tensor& want, const Tensor& got, const std::string& what) {
  if (want.shape() != got.shape() || want.dtype() != got.dtype()) {
    return {Outcome::kFail, what + ": expected " + want.TypeString() + ", got " + got.TypeString()};
  }
  bool exact = !IsFloat(want.dtype());
  std::vector<double> w = want.ToF64(), g = got.ToF64();
  for (size_t i = 0; i < w.size(); ++i) {
    if (std::isnan(w[i]) && std::isnan(g[i])) continue;
    if (std::isinf(w[i]) && w[i] == g[i]) continue;
    double tol = exact ? 0.0 : 1e-5 + 1e-3 * std::abs(w[i]);
    if (!(std::abs(w[i] - g[i]) <= tol)) {
      return {Outcome::kFail, what + " element " + std::to_string(i) + ": expected " +
                                  std::to_string(w[i]) + ", got " + std::to_string(g[i])};
    }
  }
  return {};
}

// The names of the model's graph inputs that are not initializers, in order (the order of the
// data sets' input_N.pb files).
std::vector<std::string> GraphInputNames(const fs::path& model_path) {
  std::vector<std::string> names;
  StatusOr<std::string> bytes = Slurp(model_path);
  onnx::ModelProto model;
  if (!bytes.ok() || !model.ParseFromString(*bytes)) return names;
  std::set<std::string> inits;
  for (const auto& t : model.graph().initializer()) inits.insert(t.name());
  for (const auto& in : model.graph().input()) {
    if (!inits.count(in.name())) names.push_back(in.name());
  }
  return names;
}

// Imports `model_path` with some of the integer and bool inputs bound to this data set's values
// (OnnxImportOptions::bound_inputs): first those the import error names ('name'), then, if it
// names none, all remaining ones; repeated while the error is "known at import time". Removes the
// bound inputs from `inputs` and lists their names in *bound_names.
StatusOr<Graph> BindAndImport(const fs::path& model_path, const std::vector<std::string>& names,
                              std::vector<Tensor>* inputs, std::string* bound_names) {
  OnnxImportOptions options;
  StatusOr<Graph> graph = ImportOnnxFile(model_path.string(), options);
  while (!graph.ok() && graph.status().code() == StatusCode::kUnimplemented &&
         graph.status().message().find("known at import time") != std::string::npos) {
    const std::string& msg = graph.status().message();
    std::vector<size_t> pick;
    for (size_t i = 0; i < names.size(); ++i) {
      if (!IsFloat((*inputs)[i].dtype()) && !options.bound_inputs.count(names[i]) &&
          msg.find("'" + names[i] + "'") != std::string::npos) {
        pick.push_back(i);
      }
    }
    for (size_t i = 0; pick.empty() && i < names.size(); ++i) {
      if (!IsFloat((*inputs)[i].dtype()) && !options.bound_inputs.count(names[i]))
        pick.push_back(i);
    }
    if (pick.empty()) break;
    for (size_t i : pick) options.bound_inputs[names[i]] = (*inputs)[i];
    graph = ImportOnnxFile(model_path.string(), options);
  }
  bound_names->clear();
  std::vector<Tensor> rest;
  for (size_t i = 0; i < names.size(); ++i) {
    if (options.bound_inputs.count(names[i])) {
      *bound_names += (bound_names->empty() ? "" : ", ") + names[i];
    } else {
      rest.push_back((*inputs)[i]);
    }
  }
  *inputs = std::move(rest);
  return graph;
}

Result RunTest(const fs::path& dir) {
  const fs::path model_path = dir / "model.onnx";
  StatusOr<Graph> graph = ImportOnnxFile(model_path.string());
  const bool bind = !graph.ok() && graph.status().code() == StatusCode::kUnimplemented &&
                    graph.status().message().find("known at import time") != std::string::npos;
  if (!graph.ok() && !bind) {
    Outcome o = graph.status().code() == StatusCode::kUnimplemented ? Outcome::kUnsupported
                                                                    : Outcome::kFail;
    return {o, "import: " + FirstLine(graph.status().message())};
  }
  const std::vector<std::string> input_names =
      bind ? GraphInputNames(model_path) : std::vector<std::string>();
  std::string bound_names;
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory() && e.path().filename().string().starts_with("test_data_set_")) {
      sets.push_back(e.path());
    }
  }
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return {Outcome::kFail, "no test_data_set_* directory"};
  for (const fs::path& set : sets) {
    std::vector<Tensor> inputs, expected;
    for (int i = 0; fs::exists(set / ("input_" + std::to_string(i) + ".pb")); ++i) {
      StatusOr<Tensor> t = ReadPb(set / ("input_" + std::to_string(i) + ".pb"));
      if (!t.ok()) {
        Outcome o = t.status().code() == StatusCode::kUnimplemented ? Outcome::kUnsupported
                                                                    : Outcome::kFail;
        return {o, "input: " + t.status().message()};
      }
      inputs.push_back(*t);
    }
    for (int i = 0; fs::exists(set / ("output_" + std::to_string(i) + ".pb")); ++i) {
      StatusOr<Tensor> t = ReadPb(set / ("output_" + std::to_string(i) + ".pb"));
      if (!t.ok()) return {Outcome::kUnsupported, "output: " + t.status().message()};
      expected.push_back(*t);
    }
    if (bind) {  // import again, binding integer / bool inputs until the import succeeds
      if (input_names.size() != inputs.size()) {
        return {Outcome::kFail, std::to_string(inputs.size()) + " input files for " +
                                    std::to_string(input_names.size()) + " graph inputs"};
      }
      graph = BindAndImport(model_path, input_names, &inputs, &bound_names);
      if (!graph.ok()) {
        Outcome o = graph.status().code() == StatusCode::kUnimplemented ? Outcome::kUnsupported
                                                                        : Outcome::kFail;
        std::string with = bound_names.empty() ? "" : " (" + bound_names + " bound)";
        return {o, "import" + with + ": " + FirstLine(graph.status().message())};
      }
    }
    if (inputs.size() != graph->inputs().size()) {
      return {Outcome::kFail, std::to_string(inputs.size()) + " input files for " +
                                  std::to_string(graph->inputs().size()) + " graph inputs"};
    }
    StatusOr<std::vector<Tensor>> got = Interpret(*graph, inputs);
    if (!got.ok()) {
      Outcome o = got.status().code() == StatusCode::kUnimplemented ? Outcome::kUnsupported
                                                                    : Outcome::kFail;
      return {o, "run: " + FirstLine(got.status().message())};
    }
    if (got->size() != expected.size()) {
      return {Outcome::kFail, std::to_string(got->size()) + " outputs, expected " +
                                  std::to_string(expected.size())};
    }
    for (size_t o = 0; o < expected.size(); ++o) {
      Result r =
          Compare(expected[o], (*got)[o], set.filename().string() + " output " + std::to_string(o));
      if (r.outcome != Outcome::kPass) return r;
    }
  }
  if (bind) return {Outcome::kPass, "bound at import time: " + bound_names, true};
  return {};
}

// The op a node test exercises: the op types of its model's nodes joined by '+'.
std::string OpOf(const fs::path& dir) {
  StatusOr<std::string> bytes = Slurp(dir / "model.onnx");
  onnx::ModelProto model;
  if (!bytes.ok() || !model.ParseFromString(*bytes)) return "<unreadable>";
  std::string op;
  for (const auto& n : model.graph().node()) {
    if (op.find(n.op_type()) != std::string::npos) continue;
    op += (op.empty() ? "" : "+") + n.op_type();
  }
  return op.empty() ? "<none>" : op;
}

int Main(int argc, char** argv) {
  fs::path root = "/usr/share/libonnx-testdata/data/node";
  bool verbose = false;
  std::string filter;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--verbose")
      verbose = true;
    else if (a == "--filter" && i + 1 < argc)
      filter = argv[++i];
    else
      root = a;
  }
  if (!fs::is_directory(root)) {
    std::cerr << "run_conformance: no such directory " << root
              << " (install Debian's libonnx-testdata)\n";
    return 2;
  }
  std::vector<fs::path> tests;
  for (const auto& e : fs::directory_iterator(root)) {
    if (fs::exists(e.path() / "model.onnx") &&
        e.path().filename().string().find(filter) != std::string::npos) {
      tests.push_back(e.path());
    }
  }
  std::sort(tests.begin(), tests.end());
  struct Counts {
    int pass = 0, fail = 0, unsupported = 0, bound = 0;
  };
  std::map<std::string, Counts> per_op;
  Counts total;
  for (const fs::path& t : tests) {
    Result r = RunTest(t);
    std::string op = OpOf(t);
    Counts& c = per_op[op];
    const char* word = "pass";
    if (r.outcome == Outcome::kPass) {
      ++c.pass, ++total.pass;
      if (r.bound) ++total.bound, word = "pass-bound";
    } else if (r.outcome == Outcome::kFail) {
      ++c.fail, ++total.fail, word = "FAIL";
    } else {
      ++c.unsupported, ++total.unsupported, word = "unsupported";
    }
    if (verbose || r.outcome == Outcome::kFail || r.bound) {
      std::cout << word << "  " << t.filename().string() << "  [" << op << "]"
                << (r.reason.empty() ? "" : "  " + r.reason) << "\n";
    }
  }
  std::cout << "\nper op: pass / fail / unsupported\n";
  for (const auto& [op, c] : per_op) {
    std::cout << "  " << op << ": " << c.pass << " / " << c.fail << " / " << c.unsupported << "\n";
  }
  int supported = total.pass + total.fail;
  int all = supported + total.unsupported;
  std::cout << "\ntotal " << all << " node tests: " << total.pass << " pass, " << total.fail
            << " fail, " << total.unsupported << " unsupported (" << total.bound
            << " of the passing tests bind integer or bool inputs at import time)\n";
  if (all > 0 && supported > 0) {
    std::cout << "pass rate of supported tests: " << (100.0 * total.pass / supported) << "%; "
              << "supported coverage: " << (100.0 * supported / all) << "% of all node tests\n";
  }
  return total.fail > 0 ? 1 : 0;
}

}  // namespace
}  // namespace kiln

int main(int argc, char** argv) { return kiln::Main(argc, argv); }
