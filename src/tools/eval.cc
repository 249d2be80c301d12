// `kiln eval MODEL`: runs a model with the CPU reference interpreter on inputs from a safetensors
// file or on deterministic random inputs, and prints a summary of every output.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "models/weights.h"
#include "ops/interpreter.h"
#include "support/safetensors.h"
#include "tools/common.h"
#include "tools/io.h"

namespace kiln::tools {
namespace {

struct EvalArgs {
  std::string model;
  std::string weights;
  uint64_t seed = 0;
  std::string inputs;
  bool random = false;
  std::optional<int64_t> batch;
  std::optional<int64_t> seq;
  std::string save;
  std::optional<std::string> dtype;
};

Status RunEval(const EvalArgs& args) {
  bool zoo = IsZooRef(args.model);
  if (!zoo && args.dtype) {
    return InvalidArgument("--dtype applies to zoo:NAME models only (a .kir file declares its "
                           "own dtypes)");
  }
  ModelOptions options;
  options.with_weights = true;
  options.weights_path = args.weights;
  options.seed = args.seed;
  if (zoo) {
    // Zoo models take batch/seq at build time; a .kir file uses them to bind its symbols.
    options.batch = args.batch;
    options.seq = args.seq;
    options.dtype = ParseDType(args.dtype.value_or("f32")).value_or(DType::kF32);
  }
  KILN_ASSIGN_OR_RETURN(Graph graph, LoadModel(args.model, options));
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> inputs,
                        MakeInputs(graph, {.file = args.inputs, .seed = args.seed, .batch = args.batch, .seq = args.seq}));

  std::string origin = args.inputs.empty() ? "random, seed " + std::to_string(args.seed)
                                           : "from " + args.inputs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::printf("input %%%s  %s  (%s)\n", graph.inputs()[i]->name().c_str(),
                inputs[i].TypeString().c_str(), origin.c_str());
  }

  auto start = std::chrono::steady_clock::now();
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, Interpret(graph, inputs));
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count();

  TensorMap saved;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string& name = graph.outputs()[i]->name();
    PrintOutput(name, outputs[i]);
    saved[name] = outputs[i];
  }
  std::printf("time: %.2f ms (reference interpreter, CPU)\n", ms);
  if (!args.save.empty()) {
    KILN_RETURN_IF_ERROR(SaveSafetensors(args.save, saved));
    std::printf("saved %zu outputs to %s\n", saved.size(), args.save.c_str());
  }
  return Status::Ok();
}

}  // namespace

void AddEvalCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Run a model with the CPU reference interpreter and summarise its outputs");
  cmd->add_option("model", args->model, "A .kir or .onnx file, - for stdin, or zoo:NAME")->required();
  cmd->add_option("--weights", args->weights,
                  "Weights (.safetensors, keyed by weight name); default: generated "
                  "deterministically from --seed");
  cmd->add_option("--seed", args->seed, "Seed of generated weights and random inputs")
      ->capture_default_str();
  CLI::Option* inputs = cmd->add_option(
      "--inputs", args->inputs, "Inputs (.safetensors, keyed by graph input name)");
  CLI::Option* random = cmd->add_flag(
      "--random", args->random,
      "Random inputs (the default): floats in [-1,1], integers in [0,1000), *mask* inputs ones");
  inputs->excludes(random);
  cmd->add_option("--batch", args->batch,
                  "Batch size (zoo: built static; .kir: binds a batch-like symbol; default 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seq", args->seq,
                  "Sequence length (zoo: built static; .kir: binds a seq-like symbol; default "
                  "128)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--save", args->save, "Write the outputs (.safetensors, keyed by output name)");
  cmd->add_option("--dtype", args->dtype, "zoo models: f32 (default), f16 or bf16")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}));
  cmd->footer(
      "Examples:\n"
      "  kiln eval zoo:resnet50 --random --batch 1\n"
      "  kiln eval zoo:bert --seq 64 --save out.safetensors\n"
      "  kiln eval model.kir --weights w.safetensors --inputs in.safetensors\n"
      "Other symbols of a .kir file take the minimum of their declared range.");
  cmd->callback([args, exit_code] {
    Status status = RunEval(*args);
    *exit_code = status.ok() ? 0 : ReportError(status);
  });
}

}  // namespace kiln::tools
