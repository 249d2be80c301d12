// `kiln opt MODEL`: parses text IR (or builds a zoo model), verifies it, runs the requested passes
// and prints the result as text IR; with --plan, also plans the workspace and prints its summary
// to stderr (stdout stays the IR, so it can be piped on).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/pass.h"
#include "plan/memory_plan.h"
#include "tools/common.h"

namespace kiln::tools {
namespace {

struct OptArgs {
  std::string model;
  std::string output = "-";
  std::vector<std::string> passes;
  std::optional<int64_t> batch;
  std::optional<int64_t> seq;
  bool plan = false;
};

Status RunOpt(const OptArgs& args) {
  // Pass names are checked before any work so a typo fails fast.
  std::vector<std::unique_ptr<Pass>> passes;
  for (const std::string& name : args.passes) {
    std::unique_ptr<Pass> pass = CreatePass(name);
    if (!pass) {
      std::string known;
      for (const std::string& n : PassNames()) known += (known.empty() ? "" : ", ") + n;
      return NotFound("unknown pass '" + name + "' (known: " + (known.empty() ? "none" : known) +
                      ")");
    }
    passes.push_back(std::move(pass));
  }
  if (!IsZooRef(args.model) && (args.batch || args.seq)) {
    return InvalidArgument("--batch and --seq apply to zoo:NAME models only (a .kir file "
                           "declares its own dims)");
  }
  ModelOptions options;
  options.batch = args.batch;
  options.seq = args.seq;
  KILN_ASSIGN_OR_RETURN(Graph graph, LoadModel(args.model, options));
  for (const auto& pass : passes) {
    std::string where = "pass '" + std::string(pass->name()) + "'";
    auto changed = pass->Run(graph);
    if (!changed.ok()) return changed.status().WithContext(where);
    // A pass that leaves an invalid graph is a kiln bug; say which pass did it.
    Status valid = Verify(graph);
    if (!valid.ok()) return InternalError(where + " produced an invalid graph: " + valid.message());
  }
  if (args.plan) {
    KILN_ASSIGN_OR_RETURN(MemoryPlan plan, PlanMemory(graph));
    // A plan that fails its own check is a kiln bug; report it rather than print a bad number.
    KILN_RETURN_IF_ERROR(CheckPlan(graph, plan));
    std::cerr << "memory plan: " << FormatPlanSummary(plan) << "\n";
  }
  return WriteTextFile(args.output, PrintGraph(graph));
}

}  // namespace

void AddOptCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<OptArgs>();
  CLI::App* cmd = app.add_subcommand("opt", "Parse, verify and print text IR (.kir)");
  cmd->add_option("model", args->model,
                  "A .kir text IR file, an .onnx model, - for stdin, or zoo:NAME for a zoo model "
                  "(see `kiln info`)")
      ->required();
  cmd->add_option("-o,--output", args->output, "Write the IR here instead of stdout");
  cmd->add_option("--pass", args->passes,
                  "Run this pass (repeatable, in order); `kiln info` lists the passes");
  cmd->add_option("--batch", args->batch, "zoo models: make the batch dim static")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seq", args->seq, "zoo models: make the sequence-length dim static")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--plan", args->plan,
                "After the passes, plan the workspace (symbols at their range maximum) and "
                "print its summary to stderr");
  cmd->footer(
      "Examples:\n"
      "  kiln opt model.kir                  check model.kir and print it canonically\n"
      "  cat model.kir | kiln opt - -o out.kir\n"
      "  kiln opt zoo:resnet50 --batch 8     print the zoo ResNet-50 IR with batch 8\n"
      "  kiln opt zoo:bert --pass=fuse-epilogue --plan -o /dev/null   workspace summary\n"
      "Errors in the IR are reported as FILE:LINE:COL: message.");
  cmd->callback([args, exit_code] {
    Status status = RunOpt(*args);
    *exit_code = status.ok() ? 0 : ReportError(status);
  });
}

}  // namespace kiln::tools
