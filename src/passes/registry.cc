// The list of passes known by name (`kiln opt --pass=NAME`). Registration is explicit: add one
// line per pass here.
#include <functional>

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
#include "passes/pass.h"
#include "passes/recognize_attention.h"
#include "passes/recognize_gelu.h"
#include "passes/recognize_norms.h"
#include "passes/simplify.h"
#include "passes/sink_broadcasts.h"

namespace kiln {
namespace {

struct PassEntry {
  std::string_view name;
  std::function<std::unique_ptr<Pass>()> create;
};

const std::vector<PassEntry>& Entries() {
  static const std::vector<PassEntry> entries = {
      {"dead-code-elimination", [] { return std::make_unique<DcePass>(); }},
      {"common-subexpression-elimination", [] { return std::make_unique<CsePass>(); }},
      {"constant-folding", [] { return std::make_unique<ConstantFoldPass>(); }},
      {"algebraic-simplification", [] { return std::make_unique<SimplifyPass>(); }},
      {"hoist-slice", [] { return std::make_unique<HoistSlicePass>(); }},
      {"sink-broadcasts", [] { return std::make_unique<SinkBroadcastsPass>(); }},
      {"fold-batch-norm", [] { return std::make_unique<FoldBatchNormPass>(); }},
      {"lower-patch-conv", [] { return std::make_unique<LowerPatchConvPass>(); }},
      {"fold-views", [] { return std::make_unique<FoldViewsPass>(); }},
      {"canonicalize-layout", [] { return std::make_unique<CanonicalizeLayoutPass>(); }},
      {"recognize-norms", [] { return std::make_unique<RecognizeNormsPass>(); }},
      {"recognize-gelu", [] { return std::make_unique<RecognizeGeluPass>(); }},
      {"recognize-attention", [] { return std::make_unique<RecognizeAttentionPass>(); }},
      {"constants-to-weights", [] { return std::make_unique<ConstantsToWeightsPass>(); }},
      {"pad-conv-channels", [] { return std::make_unique<PadConvChannelsPass>(); }},
      {"fuse-epilogue", [] { return std::make_unique<FuseEpiloguePass>(); }},
      {"fuse-conv-max-pool", [] { return std::make_unique<FuseConvMaxPoolPass>(); }},
      {"pack-qkv", [] { return std::make_unique<PackQkvPass>(); }},
      {"fuse-elementwise", [] { return std::make_unique<FuseElementwisePass>(); }},
  };
  return entries;
}

}  // namespace

std::unique_ptr<Pass> CreatePass(std::string_view name) {
  for (const PassEntry& e : Entries()) {
    if (e.name == name) return e.create();
  }
  return nullptr;
}

std::vector<std::string> PassNames() {
  std::vector<std::string> names;
  for (const PassEntry& e : Entries()) names.emplace_back(e.name);
  return names;
}

}  // namespace kiln
