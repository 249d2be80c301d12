// `kiln bench DIR`: times a compiled model on random inputs: warm-up runs, then timed runs on
// preallocated host outputs (Instance::RunHost); prints latency percentiles, throughput per
// batch size and the TFLOP/s of the compiled graph's matrix ops (ops/flops.h) at the median. On
// a CUDA target each timed run includes copying the inputs to the device and the outputs back
// (the library stages them through device buffers it keeps) and the synchronisation.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "ops/flops.h"
#include "tools/common.h"
#include "tools/compiled.h"
#include "tools/io.h"

namespace kiln::tools {
namespace {

struct BenchArgs {
  std::string dir;
  std::vector<int64_t> batches;
  std::optional<int64_t> seq;
  int warmup = 3;
  int iters = 20;
  std::string json;
};

// Three significant digits: "512", "3.47", "0.000123".
std::string ThreeDigits(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", v);
  return buf;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

Status RunBench(const BenchArgs& args) {
  KILN_ASSIGN_OR_RETURN(Compiled c, OpenCompiled(args.dir));
  bool has_batch = false;
  for (const auto& [name, range] : c.graph->symbols()) has_batch |= IsBatchSymbol(name);
  std::vector<std::optional<int64_t>> batches;
  for (int64_t b : args.batches) batches.push_back(b);
  if (batches.empty()) batches.push_back(std::nullopt);
  if (!has_batch && !args.batches.empty() && (args.batches.size() > 1 || args.batches[0] != 1)) {
    return InvalidArgument("--batch: " + args.dir + " was compiled with a static batch (its model.kir has no batch-like symbol); recompile with --dynamic batch=MIN..MAX");
  }
  nlohmann::json rows = nlohmann::json::array();
  std::printf("%-8s %10s %10s %10s %10s %12s %9s\n", "batch", "mean ms", "p50 ms", "p90 ms", "p99 ms", "items/s",
              "TFLOP/s");
  for (const auto& batch : batches) {
    KILN_ASSIGN_OR_RETURN(std::vector<Tensor> inputs, MakeInputs(*c.graph, {.batch = batch, .seq = args.seq}));
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, c.instance->BindDims(inputs));
    KILN_RETURN_IF_ERROR(c.instance->SetDims(dims));
    SymbolBindings bound;
    for (size_t i = 0; i < dims.size() && i < c.module->symbols().size(); ++i) bound[c.module->symbols()[i].name] = dims[i];
    KILN_ASSIGN_OR_RETURN(FlopCount flops, CountFlops(*c.graph, bound));
    std::vector<Tensor> outputs;
    std::vector<const void*> in_ptrs;
    std::vector<void*> out_ptrs;
    for (const Tensor& t : inputs) in_ptrs.push_back(t.data());
    for (size_t o = 0; o < c.module->outputs().size(); ++o) {
      KILN_ASSIGN_OR_RETURN(std::vector<int64_t> shape, c.instance->OutputShape(static_cast<int>(o)));
      outputs.emplace_back(c.module->outputs()[o].dtype, shape);
      out_ptrs.push_back(outputs.back().mutable_data());
    }
    for (int i = 0; i < args.warmup; ++i) KILN_RETURN_IF_ERROR(c.instance->RunHost(in_ptrs, out_ptrs));
    std::vector<double> ms;
    for (int i = 0; i < args.iters; ++i) {
      auto start = std::chrono::steady_clock::now();
      KILN_RETURN_IF_ERROR(c.instance->RunHost(in_ptrs, out_ptrs));
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    double mean = 0;
    for (double m : ms) mean += m / static_cast<double>(ms.size());
    int64_t items = inputs.empty() || inputs[0].rank() == 0 ? 1 : inputs[0].dim(0);
    double p50 = Percentile(ms, 0.5);
    const double tflops = flops.total() / (p50 * 1e9);  // FLOP / (ms * 1e-3) / 1e12
    std::printf("%-8lld %10.3f %10.3f %10.3f %10.3f %12.1f %9s\n", static_cast<long long>(items), mean, p50,
                Percentile(ms, 0.9), Percentile(ms, 0.99), static_cast<double>(items) * 1000.0 / p50,
                flops.total() > 0 ? ThreeDigits(tflops).c_str() : "-");
    rows.push_back({{"batch", items}, {"mean_ms", mean}, {"p50_ms", p50}, {"p90_ms", Percentile(ms, 0.9)},
                    {"p99_ms", Percentile(ms, 0.99)}, {"items_per_s", static_cast<double>(items) * 1000.0 / p50},
                    {"flops", flops.total()}, {"tflops_per_s", tflops}});
  }
  const bool host_target = c.module->target() == "cpu";
  std::printf("(%d warm-up + %d timed runs per row, target %s, outputs preallocated%s)\n", args.warmup, args.iters,
              c.module->target().c_str(),
              host_target ? "" : "; times include the host<->device copies of inputs and outputs");
  if (!args.json.empty()) {
    nlohmann::json j = {{"dir", args.dir},     {"target", c.module->target()},
                        {"warmup", args.warmup}, {"iters", args.iters},
                        {"includes_host_device_copies", !host_target}, {"rows", rows}};
    KILN_RETURN_IF_ERROR(WriteTextFile(args.json, j.dump(2) + "\n"));
  }
  return Status::Ok();
}

}  // namespace

void AddBenchCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "Time a compiled model: latency percentiles and throughput");
  cmd->add_option("dir", args->dir, "Directory written by `kiln compile`")->required();
  cmd->add_option("--batch", args->batches, "Batch sizes (comma-separated; needs a dynamic batch dim unless 1)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seq", args->seq, "Value of a sequence-length dynamic dim (default 128)")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", args->warmup, "Untimed runs first")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--iters", args->iters, "Timed runs")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--json", args->json, "Also write the results as JSON");
  cmd->footer(
      "Runs take host inputs and outputs. For a CUDA target (cuda-sm90, cuda-sm80) each timed run\n"
      "includes copying the inputs to the GPU, the outputs back and the synchronisation, so it\n"
      "measures end-to-end latency from host memory, not kernel time alone.\n"
      "TFLOP/s: the multiply-adds (x2) of the compiled graph's gemm, conv and attention nodes\n"
      "(DIR/model.kir, at the row's dims) over the median time; `kiln info MODEL` counts a model's.\n"
      "Examples:\n  kiln bench out/resnet50\n  kiln bench out/bert --batch 1,4,8 --seq 128 --iters 50");
  cmd->callback([args, exit_code] {
    Status status = RunBench(*args);
    *exit_code = status.ok() ? 0 : ReportError(status);
  });
}

}  // namespace kiln::tools
