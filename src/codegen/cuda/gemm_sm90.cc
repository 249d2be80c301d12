// CUDA kernel emitter of gemm on cuda-sm90: one CUTLASS 3.x TMA warp-specialized GEMM (Hopper
// wgmma, cooperative or pingpong, thread-block clusters) whose epilogue computes the node's whole
// epilogue before the single store of the output:
//
//   out[l] = steps(alpha * op(a)[l] @ op(b)[l] + beta * c[l])
//
// lowered to an epilogue visitor tree (runtime_src/kiln_cuda_gemm_sm90.cuh) with one node per
// term: alpha and scale multiply, `c` is the source operand C (TMA-loaded next to the tile; beta
// scales it) or, as a row vector, a broadcast; bias is a row broadcast (one value per output
// column); a residual add of a full [.., M, N] tensor is the source operand C when the gemm has no
// full-size c; activations and the cast are compute nodes, the last one storing D's dtype.
//
// Batches: CUTLASS's L mode, with stride 0 for an operand without batch dims; a row-major `a` with
// batch dims times a shared `b` folds the batch into M (one [batch*M, K] @ [K, N] GEMM).
//
// Falls back to the CUTLASS 2.x path (gemm.cc) for what TMA cannot do: f32 operands, a contiguous
// extent (K or M of a, N or K of b, N of the output) that is not a multiple of 16 bytes for every
// value of its symbols, and epilogues needing two full-size tensors or broadcasts other than the
// above. The config: $KILN_GEMM_CONFIG, else the tuner's (KernelContext::config), else
// HeuristicGemmConfig; the generated kernel says which one it uses and why. A heuristic config for
// a symbolic M or batch comes with SmallGemmConfig's for runs with less than a wave of its tiles.
#include <algorithm>
#include <cstdlib>
#include <optional>
#include <vector>

#include "codegen/cuda/emit_util.h"
#include "codegen/cuda/epilogue_sm90.h"
#include "codegen/cuda/families.h"
#include "codegen/cuda/gemm.h"
#include "codegen/cuda/gemm_config.h"
#include "support/check.h"

namespace kiln::codegen::cuda {
namespace {

constexpr const char* kNs = "kiln_cuda::sm90::";

bool IsRowVector(const Shape& s, const Dim& n) {
  if (s.empty() || s.back() != n) return false;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (!s[i].is_static() || s[i].value() != 1) return false;
  }
  return true;
}

// `s` is [..., M, N] with batch dims absent or all 1 while the output has batch dims of its own.
bool IsBatchSharedMatrix(const Shape& s, const Shape& out) {
  if (s.size() < 2 || s[s.size() - 2] != out[out.size() - 2] || s.back() != out.back())
    return false;
  for (size_t i = 0; i + 2 < s.size(); ++i) {
    if (!s[i].is_static() || s[i].value() != 1) return false;
  }
  return true;
}

int64_t StaticOr(const Dim& d, int64_t fallback) { return d.is_static() ? d.value() : fallback; }

}  // namespace

Sm90Plan PlanSm90(const Node& node) {
  Sm90Plan plan;
  const Shape& sa = node.input(0)->shape();
  const Shape& sb = node.input(1)->shape();
  const Shape& out = node.output()->shape();
  const size_t rank = out.size();
  const bool trans_a = node.GetBool("trans_a"), trans_b = node.GetBool("trans_b");
  const Dim m = out[rank - 2], n = out[rank - 1];
  const Dim k = trans_a ? sa[sa.size() - 2] : sa[sa.size() - 1];
  plan.a_batch = BatchKind(sa, out);
  plan.b_batch = BatchKind(sb, out);
  if (plan.a_batch.empty() || plan.b_batch.empty()) {
    plan.unsupported = "batch dims that broadcast partially";
    return plan;
  }
  // The source operand: a `c` of the output's shape (or shared by every batch), else the first
  // residual add; a `c` row vector is a broadcast node instead.
  if (node.num_explicit_inputs() == 3) {
    const Shape& sc = node.input(2)->shape();
    if (sc == out) {
      plan.source.input = 2;
    } else if (IsBatchSharedMatrix(sc, out)) {
      plan.source = {2, true};
    } else if (IsRowVector(sc, n)) {
      plan.c_row_vector = 2;
    } else {
      plan.unsupported =
          "a c operand " + node.input(2)->type().ToString() + " that broadcasts along M";
      return plan;
    }
  }
  int operand = node.num_explicit_inputs();
  for (const EpilogueOp& step : node.GetEpilogue()) {
    using K = EpilogueOp::Kind;
    if (step.kind == K::kGelu || step.kind == K::kGeluTanh || step.kind == K::kSilu ||
        step.kind == K::kSigmoid || step.kind == K::kTanh)
      plan.problem.costly_epilogue = true;
    if (step.kind == K::kBias) ++operand;
    if (step.kind != K::kAdd) continue;
    const Value* r = node.input(operand);
    if (r->shape() != out) {
      plan.unsupported =
          "a residual add of %" + r->name() + " (" + r->type().ToString() + "), which broadcasts";
      return plan;
    }
    if (plan.source.input >= 0) {
      plan.unsupported = "two full-size epilogue operands (c and residual adds)";
      return plan;
    }
    plan.source.input = operand++;
  }
  const int64_t batch = [&] {
    int64_t b = 1;
    for (size_t i = 0; i + 2 < rank; ++i) {
      if (!out[i].is_static()) return int64_t{-1};
      b *= out[i].value();
    }
    return b;
  }();
  // A row-major `a` with batch dims times a shared `b` is one GEMM of batch*M rows.
  plan.fold_batch = !trans_a && plan.a_batch == "full" && plan.b_batch == "shared" &&
                    !plan.source.batch_shared && rank > 2;

  GemmProblem& p = plan.problem;
  p.a = node.input(0)->dtype();
  p.d = node.output()->dtype();
  if (plan.source.input >= 0) p.c = node.input(plan.source.input)->dtype();
  p.trans_a = trans_a;
  p.trans_b = trans_b;
  p.align_a = Alignment({trans_a ? m : k}, p.a);
  p.align_b = Alignment({trans_b ? k : n}, p.a);
  p.align_d = Alignment({n}, p.d);
  p.align_c = p.c.has_value() ? Alignment({n}, *p.c) : p.align_d;
  p.n = StaticOr(n, -1);
  p.k = StaticOr(k, -1);
  p.m = m.is_static() && batch >= 0 ? m.value() * (plan.fold_batch ? batch : 1) : -1;
  p.batch = plan.fold_batch ? 1 : batch;
  plan.unsupported = Sm90Unsupported(p);
  return plan;
}

namespace {

// Why the heuristic picked `c` (a comment of the generated kernel).
std::string Reason(const GemmConfig& c) {
  const GemmProblem& p = c.problem;
  if (p.m < 0 || p.n < 0 || p.batch < 0)
    return c.schedule == KernelSchedule::kPingpong
               ? "symbolic sizes, K <= 1024 or N <= 1024: the middle-sized tile, pingpong hides the "
                 "epilogue"
               : "symbolic sizes: the middle-sized cooperative tile";
  if (c.tile_m == 128 && c.tile_n == 128 && c.schedule == KernelSchedule::kPingpong)
    return "short K (<= 512; <= 1024 with a transcendental activation) or N <= 1024: pingpong "
           "overlaps each tile's epilogue with the next tile's mainloop";
  if (c.tile_m == 64 && c.tile_n == 64) return "M and N small: the smallest tile";
  if (c.tile_n == 64) return "N <= 64: a 64-wide tile wastes no columns";
  if (c.tile_n == 256)
    return "at least one wave of 128x256 tiles over 132 SMs: the largest tile, B multicast to a "
           "CTA pair";
  if (c.tile_m == 128 && c.schedule == KernelSchedule::kCooperative)
    return "at least one wave of 128x128 tiles";
  if (c.tile_m == 64) return "less than a wave of 128x128 tiles: smaller tiles fill more SMs";
  return "the first candidate that fits";
}

}  // namespace

int WriteSm90GemmType(const Node& node, const GemmConfig& config, const std::string& layout_a,
                      const std::string& layout_b, int source_input, int c_row_vector,
                      CodeWriter& w) {
  const std::string ta = CutlassType(node.input(0)->dtype()),
                    td = CutlassType(node.output()->dtype());
  const std::string tc =
      source_input >= 0 ? CutlassType(node.input(source_input)->dtype()) : "void";
  w.Line("using Tile = " + config.TileShapeType() + ";");
  w.Line("using Cluster = " + config.ClusterShapeType() + ";");
  const int root = EmitEpilogueTree(node, source_input, c_row_vector, w);
  w.Line("using Gemm = " + std::string(kNs) + "Gemm<" + ta + ", " + layout_a + ", " + ta + ", " +
         layout_b + ", " + tc + ", " + td + ", Tile, Cluster, " + std::to_string(config.stages) +
         ",");
  // The tile scheduler and swizzle only where they are not the defaults (void, 1).
  std::string scheduler;
  if (config.stream_k || config.swizzle != 1) scheduler = ", " + config.TileSchedulerType();
  if (config.swizzle != 1) scheduler += ", " + std::to_string(config.swizzle);
  w.Line("    " + config.KernelScheduleType() + ", " + config.EpilogueScheduleType() + ", E" +
         std::to_string(root) + scheduler + ">;");
  return root;
}

void Sm90Scratch::Need(const GemmConfig& config, int64_t tiles) {
  if (config.stream_k) bytes_ = std::max(bytes_, StreamKScratchBytes(config, tiles));
}

std::string Sm90Scratch::RunEnd(const GemmConfig& config) const {
  if (!config.stream_k) return "stream);";
  return "stream, " + ctx_.ScratchExpr() + ", size[" + std::to_string(size_index_) + "]" +
         (config.splits > 0 ? ", " + std::to_string(config.splits) : std::string()) + ");";
}

void Sm90Scratch::AddTo(std::vector<std::string>& sizes) const {
  if (bytes_ == 0) return;
  KILN_CHECK(static_cast<int>(sizes.size()) == size_index_) << ctx_.node().Describe();
  sizes.push_back(std::to_string(bytes_));
  ctx_.RequestScratch(bytes_);
}

std::vector<SharedVariant> Sm90GemmVariants(const std::vector<RowsConfig<GemmConfig>>& by_rows,
                                            const GemmConfig& config,
                                            const std::optional<GemmConfig>& small,
                                            const GemmProblem& p, const std::string& rows,
                                            const std::string& cols,
                                            const std::function<CodeWriter(const GemmConfig&)>& body,
                                            Sm90Scratch& scratch, CodeWriter& w) {
  std::vector<SharedVariant> variants = RowsDispatchVariants(by_rows, rows, body, w);
  if (small.has_value()) {
    KILN_CHECK(!small->stream_k) << "the small-size config needs no scratch bound";
    w.Line("// fewer than " + std::to_string(kSm90Sms) + " " + std::to_string(config.tile_m) +
           "x" + std::to_string(config.tile_n) + " tiles (small batch): the small-size config " +
           small->Name());
    variants.push_back({UnderOneWave(rows, cols, config.tile_m, config.tile_n), body(*small),
                        small->Name()});
  }
  if (by_rows.size() < 2) variants.push_back({"", body(config), small.has_value() ? config.Name() : ""});
  // Stream-K scratch for the static problem's tiles, else (symbolic sizes, tuned row buckets)
  // for two waves: a run that would need more takes no split (kiln_cuda_gemm_sm90.cuh).
  for (const RowsConfig<GemmConfig>& r : by_rows) scratch.Need(r.config, 2 * kSm90Sms);
  scratch.Need(config, p.m > 0 && p.n > 0 && p.batch > 0
                           ? p.batch * ((p.m + config.tile_m - 1) / config.tile_m) *
                                 ((p.n + config.tile_n - 1) / config.tile_n)
                           : 2 * kSm90Sms);
  return variants;
}

std::string Sm90GemmInclude(const GemmConfig& config) {
  return config.stream_k ? "#include \"kiln_cuda_gemm_sm90_streamk.cuh\""
                         : "#include \"kiln_cuda_gemm_sm90.cuh\"";
}

Status EmitGemmSm90(const KernelContext& ctx, CodeWriter& w) {
  const char* forced = std::getenv("KILN_GEMM_CONFIG");
  return EmitGemmSm90WithConfig(ctx, w,
                                forced != nullptr && *forced != '\0' ? forced : ctx.config());
}

Status EmitGemmSm90WithConfig(const KernelContext& ctx, CodeWriter& w, const std::string& forced) {
  const Node& node = ctx.node();
  const bool force_sm80 = forced == "sm80";
  Sm90Plan plan = PlanSm90(node);
  if (force_sm80 || !plan.unsupported.empty()) {
    const std::string why = force_sm80 ? "KILN_GEMM_CONFIG=sm80" : plan.unsupported;
    w.Line("// sm90 TMA kernel not used (" + why + "): CUTLASS 2.x path");
    Status s = EmitGemmSm80(ctx, w);
    if (!s.ok() && !force_sm80)
      return Status(s.code(),
                    s.message() + " (the sm90 kernel cannot take it either: " + why + ")");
    return s;
  }
  // The config: tuned per row count (a rows dispatch), forced or tuned, or the heuristic's.
  KILN_ASSIGN_OR_RETURN(std::vector<RowsConfig<GemmConfig>> by_rows,
                        ParseRowsConfigs<GemmConfig>(node, forced, [&](const std::string& text) {
                          return ParseGemmConfig(text, plan.problem);
                        }));
  GemmConfig config;
  std::string why;
  if (!by_rows.empty()) {
    config = by_rows.back().config;
    why = by_rows.size() > 1 ? "tuned per row count, below" : "forced: KILN_GEMM_CONFIG or a tuned choice";
  } else {
    config = HeuristicGemmConfig(plan.problem);
    why = Reason(config);
  }

  const Shape& sa = node.input(0)->shape();
  const Shape& out = node.output()->shape();
  const size_t rank = out.size();
  const bool trans_a = config.problem.trans_a, trans_b = config.problem.trans_b;
  const Dim m = out[rank - 2], n = out[rank - 1];
  const Dim k = trans_a ? sa[sa.size() - 2] : sa[sa.size() - 1];
  const std::string la = trans_a ? "cutlass::layout::ColumnMajor" : "cutlass::layout::RowMajor";
  const std::string lb = trans_b ? "cutlass::layout::ColumnMajor" : "cutlass::layout::RowMajor";

  w.Line("// Hopper CUTLASS 3.x GEMM, config " + config.Name() + " (" + why + ")");
  w.Line("// " + std::string(DTypeName(config.problem.a)) + " x " +
         std::string(DTypeName(config.problem.a)) + " -> " +
         std::string(DTypeName(config.problem.d)) + ", f32 accumulate; a " + (trans_a ? "M" : "K") +
         "-major, b " + (trans_b ? "K" : "N") + "-major; epilogue fused (visitor tree in the "
         "shared function)" + (plan.fold_batch ? "; batch folded into M" : ""));
  w.Line("// size: m, n, k, batch");
  // Problem (M, N, K, L) and strides in elements; batch strides 0 for shared operands.
  const std::string lda = trans_a ? "m" : "k", ldb = trans_b ? "k" : "n";
  const std::string ba = plan.a_batch == "full" ? "m * k" : "0",
                    bb = plan.b_batch == "full" ? "k * n" : "0";
  const std::string src = plan.source.input >= 0 ? KernelContext::In(plan.source.input) : "nullptr";
  const std::string bc = plan.source.input >= 0 && !plan.source.batch_shared ? "m * n" : "0";
  Sm90Scratch scratch(ctx, 4);  // size[4]: after m, n, k, batch
  auto body = [&](const GemmConfig& c) {
    CodeWriter sw = SharedBodyWriter(node);
    sw.Line(Sm90GemmInclude(c));
    sw.Line("const int64_t m = size[0], n = size[1], k = size[2], batch = size[3];");
    const int root = WriteSm90GemmType(node, c, la, lb, plan.source.input, plan.c_row_vector, sw);
    if (plan.fold_batch) {
      sw.Line("kiln_cuda::sm90::Run<Gemm>(what, batch * m, n, k, 1, in0, k, 0, in1, " + ldb +
              ", 0, " + src + ", n, 0,");
      sw.Line("                           out0, n, 0, ep" + std::to_string(root) + ", " +
              scratch.RunEnd(c));
    } else {
      sw.Line("kiln_cuda::sm90::Run<Gemm>(what, m, n, k, batch, in0, " + lda + ", " + ba +
              ", in1, " + ldb + ", " + bb + ", " + src + ", n, " + bc + ",");
      sw.Line("                           out0, n, m * n, ep" + std::to_string(root) + ", " +
              scratch.RunEnd(c));
    }
    return sw;
  };
  // Rows of all batches (folded into M or not: about the same count of tiles). A symbolic M or
  // batch: the config above is sized for many rows; runs whose rows give fewer than a wave of its
  // tiles take the heuristic's small-size config instead.
  const std::vector<SharedVariant> variants = Sm90GemmVariants(
      by_rows, config, forced.empty() ? SmallGemmConfig(plan.problem) : std::nullopt,
      plan.problem, "size[3] * size[0]", "size[1]", body, scratch, w);
  const std::string batch = ctx.Product(out, 0, static_cast<int64_t>(rank) - 2);
  std::vector<std::string> sizes = {ctx.Dim(m), ctx.Dim(n), ctx.Dim(k), batch};
  scratch.AddTo(sizes);
  CallSharedFunctions(ctx, "gemm_sm90", CppString(node.Describe() + ": CUTLASS sm90 gemm"), sizes,
                      variants, w);
  return Status::Ok();
}

}  // namespace kiln::codegen::cuda
