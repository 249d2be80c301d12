// `kiln info [MODEL]`: without a model, lists the registered ops, passes and zoo models; with one,
// summarises it (symbols, inputs, outputs, node counts per op, weights) and the workspace its
// memory plan needs after the default pass pipeline.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "models/zoo.h"
#include "ops/flops.h"
#include "passes/pass.h"
#include "support/format.h"
#include "passes/pipeline.h"
#include "plan/memory_plan.h"
#include "kiln/module.h"
#include "support/format.h"
#include "tools/common.h"
#include "tools/compiled.h"
#include <nlohmann/json.hpp>

namespace kiln::tools {
namespace {

struct InfoArgs {
  std::string model;
  std::optional<int64_t> batch;
  std::optional<int64_t> seq;
};

std::string_view FusionKindName(FusionKind kind) {
  switch (kind) {
    case FusionKind::kElementwise: return "elementwise";
    case FusionKind::kBroadcast: return "broadcast";
    case FusionKind::kInjective: return "injective";
    case FusionKind::kReduction: return "reduction";
    case FusionKind::kOutEwiseFusable: return "out-ewise-fusable";
    case FusionKind::kOpaque: return "opaque";
    case FusionKind::kSource: return "source";
  }
  return "?";
}

void PrintRegistry() {
  int registered = 0;
  for (int i = 0; i < kNumOpKinds; ++i) registered += IsOpRegistered(static_cast<OpKind>(i));
  std::printf("ops (%d registered of %d):\n", registered, kNumOpKinds);
  for (int i = 0; i < kNumOpKinds; ++i) {
    OpKind kind = static_cast<OpKind>(i);
    if (!IsOpRegistered(kind)) continue;
    const OpDef& def = GetOpDef(kind);
    std::printf("  %-18s %-18s %s\n", std::string(OpName(kind)).c_str(),
                std::string(FusionKindName(def.fusion)).c_str(), def.summary.c_str());
  }
  std::printf("\npasses (use with kiln opt --pass=NAME):\n");
  for (const std::string& name : PassNames()) std::printf("  %s\n", name.c_str());
  std::printf("\nzoo models (use as zoo:NAME):\n");
  for (const ZooEntry& e : ZooModels()) {
    std::printf("  %-18s %s\n", e.name.c_str(), e.description.c_str());
  }
}

void PrintModel(const std::string& model, const Graph& graph) {
  std::printf("model:   %s (graph @%s)\n", model.c_str(), graph.name().c_str());
  if (!graph.symbols().empty()) {
    std::printf("symbols:\n");
    for (const auto& [name, range] : graph.symbols()) {
      std::printf("  %s in [%lld, %lld]\n", name.c_str(), static_cast<long long>(range.min),
                  static_cast<long long>(range.max));
    }
  }
  std::printf("inputs:\n");
  for (const Value* v : graph.inputs()) {
    std::printf("  %%%s: %s\n", v->name().c_str(), v->type().ToString().c_str());
  }
  std::printf("outputs:\n");
  for (const Value* v : graph.outputs()) {
    std::printf("  %%%s: %s\n", v->name().c_str(), v->type().ToString().c_str());
  }

  std::map<std::string, int> per_op;
  int64_t num_weights = 0, params = 0, bytes = 0;
  for (const auto& node : graph.nodes()) {
    ++per_op[std::string(node->op_name())];
    if (node->op() != OpKind::kWeight) continue;
    ++num_weights;
    int64_t n = 1;
    for (int64_t d : node->GetInts("shape")) n *= d;
    params += n;
    bytes += n * DTypeSize(node->GetDType("dtype"));
  }
  // Most frequent ops first: that is what one looks for when reading a model.
  std::vector<std::pair<std::string, int>> ops(per_op.begin(), per_op.end());
  std::stable_sort(ops.begin(), ops.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::printf("nodes:   %zu\n", graph.nodes().size());
  for (const auto& [name, count] : ops) std::printf("  %-18s %d\n", name.c_str(), count);
  std::printf("weights: %lld tensors, %lld parameters, %s\n", static_cast<long long>(num_weights),
              static_cast<long long>(params), FormatBytes(bytes).c_str());
}

// `kiln info DIR` for a directory written by `kiln compile`: the library's interface (read from
// the library itself) and what manifest.json recorded about the compile.
Status PrintCompiled(const std::string& dir) {
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<Module> module, Module::Load(dir + "/model.so"));
  std::printf("library: %s/model.so (target %s)\n", dir.c_str(), module->target().c_str());
  for (const IoInfo& io : module->inputs()) std::printf("input    %s  %s\n", io.name.c_str(), io.TypeString().c_str());
  for (const IoInfo& io : module->outputs()) std::printf("output   %s  %s\n", io.name.c_str(), io.TypeString().c_str());
  for (const SymbolInfo& s : module->symbols()) {
    std::printf("symbol   %s in [%lld, %lld]\n", s.name.c_str(), static_cast<long long>(s.min), static_cast<long long>(s.max));
  }
  StatusOr<std::string> text = ReadTextFile(dir + "/manifest.json");
  if (!text.ok()) return Status::Ok();  // a library without manifest (copied alone) is fine
  nlohmann::json m = nlohmann::json::parse(*text, nullptr, false);
  if (m.is_discarded()) return InvalidArgument(dir + "/manifest.json is not valid JSON");
  std::printf("graph:   @%s from %s, %d nodes -> %d after passes\n", m.value("graph", "?").c_str(),
              m.value("model", "?").c_str(), m.value("nodes_in", 0), m.value("nodes_out", 0));
  std::printf("kernels: %d distinct, %d calls per run (sources in %s/src)\n", m.value("kernels", 0),
              m.value("kernel_calls", 0), dir.c_str());
  std::printf("workspace: %s (naive %s, peak-live lower bound %s)\n",
              FormatBytes(m.value("workspace_bytes", int64_t{0})).c_str(),
              FormatBytes(m.value("workspace_naive_bytes", int64_t{0})).c_str(),
              FormatBytes(m.value("workspace_lower_bound_bytes", int64_t{0})).c_str());
  if (const std::string s = m.value("workspace_scale_symbol", ""); !s.empty()) {
    const int64_t rest = m.value("workspace_fixed_bytes", int64_t{0}) + m.value("scratch_bytes", int64_t{0});
    std::printf("           at the largest shapes; a run takes %s per unit of %s%s\n",
                FormatBytes(m.value("workspace_unit_bytes", int64_t{0})).c_str(), s.c_str(),
                rest > 0 ? (" + " + FormatBytes(rest)).c_str() : "");
  }
  std::printf("weights: %s\n", m.value("weights_embedded", false) ? "embedded in the library" : (dir + "/model.safetensors").c_str());
  return Status::Ok();
}

Status RunInfo(const InfoArgs& args) {
  if (args.model.empty()) {
    PrintRegistry();
    return Status::Ok();
  }
  if (IsCompiledDir(args.model)) return PrintCompiled(args.model);
  if (!IsZooRef(args.model) && (args.batch || args.seq)) {
    return InvalidArgument("--batch and --seq apply to zoo:NAME models only (a .kir file "
                           "declares its own dims)");
  }
  ModelOptions options;
  options.batch = args.batch;
  options.seq = args.seq;
  KILN_ASSIGN_OR_RETURN(Graph graph, LoadModel(args.model, options));
  PrintModel(args.model, graph);
  // The workspace is a property of the compiled graph, so plan what the default pipeline leaves
  // (on a clone: the model itself is summarised as given).
  std::unique_ptr<Graph> optimized = graph.Clone();
  KILN_RETURN_IF_ERROR(DefaultPipeline().Run(*optimized, {.verify_each = true, .dump_dir = ""})
                           .status());
  KILN_ASSIGN_OR_RETURN(MemoryPlan plan, PlanMemory(*optimized));
  KILN_RETURN_IF_ERROR(CheckPlan(*optimized, plan));
  std::printf("plan:    %s%s\n", FormatPlanSummary(plan).c_str(),
              graph.symbols().empty() ? "" : " (symbols at their range maximum)");
  KILN_ASSIGN_OR_RETURN(FlopCount flops, CountFlops(graph, MaxBindings(graph)));
  std::printf("compute: %s per run (gemm %s, conv %s, attention %s; 2 per multiply-add%s)\n",
              FormatFlops(flops.total()).c_str(), FormatFlops(flops.gemm).c_str(),
              FormatFlops(flops.conv).c_str(), FormatFlops(flops.attention).c_str(),
              graph.symbols().empty() ? "" : ", symbols at their range maximum");
  return Status::Ok();
}

}  // namespace

void AddInfoCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* cmd = app.add_subcommand(
      "info", "List the registered ops and zoo models, or summarise one model or compiled library");
  cmd->add_option("model", args->model,
                  "A .kir or .onnx file, - for stdin, zoo:NAME, or a directory written by `kiln compile`; "
                  "without it, list ops and zoo models");
  cmd->add_option("--batch", args->batch, "zoo models: make the batch dim static")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seq", args->seq, "zoo models: make the sequence-length dim static")
      ->check(CLI::PositiveNumber);
  cmd->footer(
      "Examples:\n"
      "  kiln info                       every op (name, fusion kind, summary) and zoo model\n"
      "  kiln info out/resnet50          a compiled library: interface, kernels, workspace\n"
      "  kiln info model.kir             inputs, outputs, symbols, ops used, weight sizes\n"
      "  kiln info zoo:bert --seq 384    the zoo BERT with a static sequence length");
  cmd->callback([args, exit_code] {
    Status status = RunInfo(*args);
    *exit_code = status.ok() ? 0 : ReportError(status);
  });
}

}  // namespace kiln::tools
