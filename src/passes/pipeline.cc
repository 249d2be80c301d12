#include "passes/pipeline.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/canonicalize_layout.h"
#include "passes/constant_fold.h"
#include "passes/constants_to_weights.h"
#include "passes/cse.h"
#include "passes/dce.h"
#include "passes/fold_batch_norm.h"
#include "passes/fold_views.h"
#include "passes/fuse_conv_max_pool.h"
#include "passes/fuse_elementwise.h"
#include "passes/fuse_epilogue.h"
#include "passes/hoist_slice.h"
#include "passes/lower_patch_conv.h"
#include "passes/pack_qkv.h"
#include "passes/pad_conv_channels.h"
#include "passes/recognize_attention.h"
#include "passes/recognize_gelu.h"
#include "passes/recognize_norms.h"
#include "passes/simplify.h"
#include "passes/sink_broadcasts.h"
#include "support/check.h"

namespace kiln {
namespace {

Status WriteDump(const std::string& dir, int index, std::string_view pass_name,
                 const Graph& graph) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return InvalidArgument("cannot create IR dump directory '" + dir +
                           "' (KILN_DUMP_IR): " + ec.message());
  }
  char prefix[16];
  std::snprintf(prefix, sizeof(prefix), "%02d-", index);
  std::filesystem::path path =
      std::filesystem::path(dir) / (std::string(prefix) + std::string(pass_name) + ".kir");
  std::ofstream out(path);
  out << PrintGraph(graph);
  out.close();
  if (!out) return InvalidArgument("cannot write IR dump '" + path.string() + "'");
  return Status::Ok();
}

}  // namespace

std::string DumpDirFromEnv() {
  const char* dir = std::getenv("KILN_DUMP_IR");
  return dir ? std::string(dir) : std::string();
}

void PassPipeline::Add(std::unique_ptr<Pass> pass) {
  KILN_CHECK(pass != nullptr) << "null pass added to a pipeline";
  passes_.push_back(std::move(pass));
}

std::vector<std::string> PassPipeline::Names() const {
  std::vector<std::string> names;
  for (const auto& p : passes_) names.emplace_back(p->name());
  return names;
}

StatusOr<bool> PassPipeline::Run(Graph& graph, const PipelineOptions& options) const {
  const bool dump = !options.dump_dir.empty();
  if (dump) KILN_RETURN_IF_ERROR(WriteDump(options.dump_dir, 0, "input", graph));
  bool changed = false;
  for (size_t i = 0; i < passes_.size(); ++i) {
    Pass& pass = *passes_[i];
    const std::string context = "pass '" + std::string(pass.name()) + "'";
    StatusOr<bool> result = pass.Run(graph);
    if (!result.ok()) return result.status().WithContext(context);
    changed = changed || *result;
    if (options.verify_each) {
      Status verified = Verify(graph);
      if (!verified.ok()) {
        return InternalError(context + " produced an invalid graph: " + verified.message());
      }
    }
    if (dump) {
      KILN_RETURN_IF_ERROR(
          WriteDump(options.dump_dir, static_cast<int>(i) + 1, pass.name(), graph));
    }
  }
  return changed;
}

PassPipeline DefaultPipeline(const std::string& target) {
  PassPipeline p;
  // Folding first: it turns constant-only subexpressions (shape arithmetic, scale factors built
  // from literals) into single constants, which exposes `x * 1`-style patterns to simplification.
  p.Add(std::make_unique<ConstantFoldPass>());
  // Simplification next: it removes identity reshapes/transposes/casts and neutral arithmetic,
  // so CSE and the fusion passes see the real computation.
  p.Add(std::make_unique<SimplifyPass>());
  // Norm/softmax recognition after folding and simplification, which reduce the eps, the
  // exponent 2 and the 1 of 1/sqrt to the single constants it matches and drop `x * 1` links
  // from the chains. Before recognize-attention, which anchors at a `softmax` node: an exported
  // attention whose softmax was written as exp / reduce_sum only becomes one attention node once
  // that softmax exists. Before the fusion passes, which would swallow the chains' elementwise
  // links (sub, mul, add, sqrt) into fusion nodes and epilogues.
  p.Add(std::make_unique<RecognizeNormsPass>());
  // GELU recognition for the same reasons: after folding (its 0.5, 1 and sqrt(2) are single
  // constants by then) and before the fusion passes, so the one gelu node can become the FFN
  // gemm's epilogue instead of a fused elementwise kernel after it.
  p.Add(std::make_unique<RecognizeGeluPass>());
  // Attention recognition right after simplification, which has already merged the exported
  // transpose(transpose(k)) pairs into the one K^T form this pass matches. It must run before
  // fuse-epilogue and fuse-elementwise, which would otherwise swallow the scale mul into the
  // scores gemm's epilogue and the mask add into a fusion node, hiding the chain. Before CSE is
  // fine too: the chain's links have one user each, so CSE has nothing in it to merge.
  // Layout chains folded first (the second fold-views below cleans up after recognition): an
  // imported attention's q, k, v reach the scores gemm through reshape/gather/transpose chains
  // that only fold into the one BHSD transpose recognize-attention matches.
  p.Add(std::make_unique<FoldViewsPass>());
  p.Add(std::make_unique<RecognizeAttentionPass>());
  // Broadcasts sink after attention recognition, so the attention node exists to read a mask
  // in its small form (transformers' SDPA masks: [B,1,1,S] instead of [B,1,S,S]); before CSE,
  // which then merges the small masks the layers compute alike, and before the fusion passes.
  p.Add(std::make_unique<SinkBroadcastsPass>());
  // CSE after simplification: two chains that simplify to the same expression (e.g. a reshape
  // of a reshape of %x and a reshape of %x) only become identical now. It also merges repeated
  // weight and constant nodes, so later passes see shared operands.
  p.Add(std::make_unique<CsePass>());
  // Layout chains (exported models' reshape/transpose/squeeze/select sequences, the transposes
  // recognize-attention leaves around BSHD attention) fold into the fewest copies; after CSE, so
  // each chain is folded once.
  p.Add(std::make_unique<FoldViewsPass>());
  // Slices of few rows climb above the row-wise ops that feed them (ViT's class token: the last
  // block's tail then runs on one row per image); after fold-views, which has merged each layout
  // chain into its fewest copies (so a slice is a node of its own, next to its real producer), and
  // before the fusion passes, which would hide the row-wise ops in epilogues and fusion nodes.
  p.Add(std::make_unique<HoistSlicePass>());
  // Batch-norm folding before epilogue fusion: folding leaves conv/gemm + bias(...), and only
  // then can the following relu/residual add join that epilogue.
  p.Add(std::make_unique<FoldBatchNormPass>());
  // Patch convs (stride = kernel: ViT's patch embedding) to a copy and a gemm, after batch-norm
  // folding (which may give the conv its bias epilogue) and before the layout pass, which would
  // otherwise make the conv NHWC with transposes around it.
  p.Add(std::make_unique<LowerPatchConvPass>());
  // Layout canonicalization (NCHW conv nets -> NHWC, transposes at the boundary) after batch-norm
  // folding, so the folded batch_norms are gone and need no conversion, and before epilogue
  // fusion, so the bias/relu/residual-add epilogues form on the final NHWC convs (the residual
  // adds are NHWC by then too, and a conv's epilogue operands must share its layout).
  p.Add(std::make_unique<CanonicalizeLayoutPass>());
  // The boundary transposes it adds fold into what follows: ViT's patch embedding (an NHWC conv,
  // its transpose back to NCHW, then the model's flatten and transpose to tokens) becomes the NHWC
  // conv and a view, two copies fewer.
  p.Add(std::make_unique<FoldViewsPass>());
  // cuda-sm90: channel padding for the TMA implicit GEMM once the convs are NHWC (the padded
  // extent is the contiguous one), and before epilogue fusion, which does not care about the
  // conv's operands. cuda-sm80 runs convs on the direct kernel, where padding only costs.
  if (target == "cuda-sm90") p.Add(std::make_unique<PadConvChannelsPass>());
  // Epilogue fusion after the cleanup, so it sees each producer's real consumers.
  p.Add(std::make_unique<FuseEpiloguePass>());
  // cuda-sm90: the stem's max pool joins its conv (the few-channel kernel pools its own tile, so
  // the unpooled activation is never stored); after epilogue fusion, which has made the bias and
  // relu the conv's epilogue (nothing joins it once the conv pools), and after canonicalize-layout
  // and pad-conv-channels, which have made the stem the NHWC 4-channel conv this pass matches.
  if (target == "cuda-sm90") p.Add(std::make_unique<FuseConvMaxPoolPass>());
  // CUDA: self-attention reads q, k, v in place from one projection (the three projection gemms
  // merged); after epilogue fusion, which has made their bias adds gemm epilogues.
  if (target.rfind("cuda", 0) == 0) p.Add(std::make_unique<PackQkvPass>());
  // Elementwise fusion after epilogue fusion: the activations, bias and residual adds that can
  // ride on a gemm/conv accumulator are taken first (they cost nothing there); the elementwise
  // chains that remain become fusion nodes, one kernel each.
  p.Add(std::make_unique<FuseElementwisePass>());
  // DCE last: the passes above leave dead producers behind (the `1` of `x * 1`, the operands of
  // folded nodes, the inner reshape of a merged reshape pair); one sweep at the end removes them.
  p.Add(std::make_unique<DcePass>());
  // CUDA: the constants that remain top-level operands move to the weights, which the device
  // runtime uploads; after DCE, so only live constants are uploaded.
  if (target.rfind("cuda", 0) == 0) p.Add(std::make_unique<ConstantsToWeightsPass>());
  return p;
}

}  // namespace kiln
