// `kiln run DIR`: runs a compiled model (the output directory of `kiln compile`) on inputs from a
// safetensors file, an ONNX test-data directory (input_N.pb) or random inputs, prints its outputs
// and latency; with --check compares them with the reference interpreter running the same IR
// (DIR/model.kir) and weights, with --expect with expected outputs (output_N.pb in a directory, or
// a safetensors file keyed by output name). Either comparison exits 1 on a mismatch. Runs take host
// tensors on every target (Instance::Run; a CUDA library stages them through the GPU itself).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "ops/interpreter.h"
#include "support/safetensors.h"
#include "tools/common.h"
#include "tools/compiled.h"
#include "tools/io.h"
#include "tools/test_data.h"

namespace kiln::tools {
namespace {

struct RunArgs {
  std::string dir;
  std::string inputs;
  bool random = false;
  uint64_t seed = 0;
  std::optional<int64_t> batch;
  std::optional<int64_t> seq;
  bool check = false;
  std::string expect;
  std::optional<double> tolerance;  // unset: DefaultTolerance per output
  std::string save;
};

// --check / --expect tolerance when --tolerance is not given: 1e-4 for f32 (and other) outputs;
// 2e-2 for f16 and bf16 outputs, whose kernels round intermediates to 16 bits (and may accumulate
// in another order) while the interpreter rounds only each op's result.
constexpr double kDefaultTolerance = 1e-4;
constexpr double kDefaultHalfTolerance = 2e-2;

double ToleranceFor(DType dtype, const std::optional<double>& given) {
  if (given) return *given;
  return dtype == DType::kF16 || dtype == DType::kBF16 ? kDefaultHalfTolerance : kDefaultTolerance;
}

double Ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Compares one output with its reference and prints "LABEL %NAME: max abs err .., max rel err ..
// (tolerance ..): ok" (or MISMATCH); false on a mismatch. The error is relative to the
// reference's largest magnitude (as bench/zoo_check), so tiny elements near zero do not dominate;
// a NaN on one side only, or a different dtype or shape, is a mismatch.
bool CompareOutput(const char* label, const std::string& name, const Tensor& want,
                   const Tensor& got, double tolerance) {
  if (want.dtype() != got.dtype() || want.shape() != got.shape()) {
    std::printf("%s %%%s: expected %s, got %s: MISMATCH\n", label, name.c_str(),
                want.TypeString().c_str(), got.TypeString().c_str());
    return false;
  }
  std::vector<double> w = want.ToF64(), g = got.ToF64();
  double max_abs = 0, max_ref = 0;
  bool nan_mismatch = false;
  for (size_t i = 0; i < w.size(); ++i) {
    if (std::isnan(w[i]) || std::isnan(g[i])) {
      nan_mismatch |= std::isnan(w[i]) != std::isnan(g[i]);
      continue;
    }
    max_abs = std::max(max_abs, std::fabs(w[i] - g[i]));
    max_ref = std::max(max_ref, std::fabs(w[i]));
  }
  double rel = max_ref > 0 ? max_abs / max_ref : max_abs;
  bool ok = !nan_mismatch && rel <= tolerance;
  std::printf("%s %%%s: max abs err %.3g, max rel err %.3g (tolerance %.3g)%s: %s\n", label,
              name.c_str(), max_abs, rel, tolerance,
              nan_mismatch ? ", NaN where the reference has none (or vice versa)" : "",
              ok ? "ok" : "MISMATCH");
  return ok;
}

// Compares the library's outputs with the interpreter's; false when one exceeds the tolerance.
StatusOr<bool> Check(const Compiled& c, const std::vector<Tensor>& inputs,
                     const std::vector<Tensor>& outputs, std::optional<double> tolerance) {
  if (c.weights_path.empty()) {
    return InvalidArgument("--check needs " + c.dir + "/model.safetensors, but this library was compiled with --embed-weights");
  }
  KILN_ASSIGN_OR_RETURN(TensorMap weights, LoadSafetensors(c.weights_path));
  std::unique_ptr<Graph> graph = c.graph->Clone();
  graph->set_weights(std::make_shared<TensorMap>(std::move(weights)));
  auto start = std::chrono::steady_clock::now();
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> want, Interpret(*graph, inputs));
  double ms = Ms(start);
  bool all_ok = true;
  for (size_t o = 0; o < want.size(); ++o) {
    all_ok &= CompareOutput("check", c.graph->outputs()[o]->name(), want[o], outputs[o],
                            ToleranceFor(want[o].dtype(), tolerance));
  }
  std::printf("reference interpreter: %.1f ms\n", ms);
  return all_ok;
}

// Compares the outputs with those read from --expect; false when one differs.
StatusOr<bool> Expect(const Compiled& c, const std::string& path,
                      const std::vector<Tensor>& outputs, std::optional<double> tolerance) {
  std::vector<std::string> names;
  for (const auto& out : c.module->outputs()) names.push_back(out.name);
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> want, ReadExpectedOutputs(names, path));
  bool all_ok = true;
  for (size_t o = 0; o < want.size(); ++o) {
    all_ok &= CompareOutput("expect", names[o], want[o], outputs[o],
                            ToleranceFor(want[o].dtype(), tolerance));
  }
  return all_ok;
}

// Inputs from an ONNX test-data directory, a safetensors file, or random.
StatusOr<std::vector<Tensor>> ReadInputs(const Graph& graph, const RunArgs& args) {
  if (IsDirectory(args.inputs)) {
    std::vector<std::string> ignored;
    KILN_ASSIGN_OR_RETURN(std::vector<Tensor> inputs,
                          ReadTestDataInputs(graph, args.inputs, &ignored));
    for (const std::string& f : ignored) {
      std::fprintf(stderr,
                   "kiln: note: ignoring %s/%s: it names no input of the library (bound at compile "
                   "time with --bind?)\n",
                   args.inputs.c_str(), f.c_str());
    }
    return inputs;
  }
  std::error_code ec;
  if (!args.inputs.empty() && !std::filesystem::exists(args.inputs, ec)) {
    return NotFound("--inputs " + args.inputs +
                    ": no such file or directory (expected a .safetensors file or an ONNX "
                    "test-data directory holding input_0.pb, input_1.pb, ...)");
  }
  return MakeInputs(graph,
                    {.file = args.inputs, .seed = args.seed, .batch = args.batch, .seq = args.seq});
}

Status RunRun(const RunArgs& args, int* exit_code) {
  KILN_ASSIGN_OR_RETURN(Compiled c, OpenCompiled(args.dir));
  std::error_code ec;
  if (!args.expect.empty() && !std::filesystem::exists(args.expect, ec)) {
    return NotFound("--expect " + args.expect +
                    ": no such file or directory (expected an ONNX test-data directory holding "
                    "output_0.pb, ... or a .safetensors file)");
  }
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> inputs, ReadInputs(*c.graph, args));
  std::string origin = args.inputs.empty() ? "random, seed " + std::to_string(args.seed) : "from " + args.inputs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::printf("input %%%s  %s  (%s)\n", c.graph->inputs()[i]->name().c_str(),
                inputs[i].TypeString().c_str(), origin.c_str());
  }
  std::vector<Tensor> outputs;
  auto start = std::chrono::steady_clock::now();
  KILN_RETURN_IF_ERROR(c.instance->Run(inputs, &outputs));
  double first = Ms(start);
  start = std::chrono::steady_clock::now();
  KILN_RETURN_IF_ERROR(c.instance->Run(inputs, &outputs));
  double second = Ms(start);
  TensorMap saved;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string& name = c.module->outputs()[i].name;
    PrintOutput(name, outputs[i]);
    saved[name] = outputs[i];
  }
  std::printf("latency: %.2f ms (first run %.2f ms), target %s%s\n", second, first,
              c.module->target().c_str(),
              c.module->target() == "cpu" ? "" : ", including the host<->device copies");
  if (!args.save.empty()) {
    KILN_RETURN_IF_ERROR(SaveSafetensors(args.save, saved));
    std::printf("saved %zu outputs to %s\n", saved.size(), args.save.c_str());
  }
  if (args.check) {
    KILN_ASSIGN_OR_RETURN(bool ok, Check(c, inputs, outputs, args.tolerance));
    if (!ok) {
      std::fprintf(stderr, "kiln: error: outputs differ from the reference interpreter beyond the tolerance\n");
      *exit_code = kExitError;
    }
  }
  if (!args.expect.empty()) {
    KILN_ASSIGN_OR_RETURN(bool ok, Expect(c, args.expect, outputs, args.tolerance));
    if (!ok) {
      std::fprintf(stderr,
                   "kiln: error: outputs differ from the expected outputs in %s beyond the "
                   "tolerance\n",
                   args.expect.c_str());
      *exit_code = kExitError;
    }
  }
  return Status::Ok();
}

}  // namespace

void AddRunCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Run a compiled model (the output directory of `kiln compile`)");
  cmd->add_option("dir", args->dir, "Directory written by `kiln compile`")->required();
  CLI::Option* inputs = cmd->add_option(
      "--inputs", args->inputs,
      "Inputs: a .safetensors file keyed by input name, or an ONNX test-data directory "
      "(input_0.pb, input_1.pb, ...: one TensorProto per input, in order; files of inputs bound "
      "with `kiln compile --bind` are matched by name and ignored)");
  CLI::Option* random = cmd->add_flag("--random", args->random,
                                      "Random inputs (the default): floats in [-1,1], integers in [0,1000), *mask* inputs ones");
  inputs->excludes(random);
  cmd->add_option("--seed", args->seed, "Seed of random inputs")->capture_default_str();
  cmd->add_option("--batch", args->batch, "Random inputs: value of a batch-like dynamic dim (default 1)")->check(CLI::PositiveNumber);
  cmd->add_option("--seq", args->seq, "Random inputs: value of a sequence-length dynamic dim (default 128)")->check(CLI::PositiveNumber);
  cmd->add_flag("--check", args->check, "Compare the outputs with the reference interpreter (exit 1 on a mismatch)");
  cmd->add_option("--expect", args->expect,
                  "Compare the outputs with expected ones (exit 1 on a mismatch): an ONNX "
                  "test-data directory (output_0.pb, ...) or a .safetensors file keyed by "
                  "output name");
  cmd->add_option("--tolerance", args->tolerance,
                  "--check / --expect: max |error| / max |reference| per output (default 1e-4, "
                  "2e-2 for f16/bf16 outputs)");
  cmd->add_option("--save", args->save, "Write the outputs (.safetensors, keyed by output name)");
  cmd->footer("Runs take host tensors on every target: a CUDA library copies them to the GPU and\n"
              "back itself, so the latency includes those copies.\n"
              "Examples:\n"
              "  kiln run out/resnet50 --check\n"
              "  kiln run out/bert --batch 2 --seq 64 --save out.safetensors\n"
              "  kiln compile test_relu/model.onnx -o out/relu --target cpu\n"
              "  kiln run out/relu --inputs test_relu/test_data_set_0 \\\n"
              "      --expect test_relu/test_data_set_0    (ONNX node-test data, exit 1 on a "
              "mismatch)");
  cmd->callback([args, exit_code] {
    Status status = RunRun(*args, exit_code);
    if (!status.ok()) *exit_code = ReportError(status);
  });
}

}  // namespace kiln::tools
