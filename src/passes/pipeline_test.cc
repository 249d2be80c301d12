#include "passes/pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/zoo.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

// Test double: a pass that breaks the graph (makes a node's declared type wrong).
class BreakTypesPass : public Pass {
 public:
  std::string_view name() const override { return "break-types"; }
  StatusOr<bool> Run(Graph& graph) override {
    graph.nodes().front()->output()->set_type({DType::kF16, {7}});
    return true;
  }
};

// Test double: a pass that fails.
class FailingPass : public Pass {
 public:
  std::string_view name() const override { return "failing"; }
  StatusOr<bool> Run(Graph&) override { return Unimplemented("no kernel for op 'frobnicate'"); }
};

constexpr const char* kGraph = R"(
graph @g(%x: f32[N,3]) -> (%y) where N in [1, 8] {
  %a = constant [1.0, 2.0, 3.0] : f32[3]
  %b = constant [1.0] : f32[3]
  %c = sub(%a, %b) : f32[3]
  %s = mul(%c, %b) : f32[3]
  %m = mul(%x, %b) : f32[N,3]
  %r = reshape(%m) {shape=[N*3]} : f32[N*3]
  %r2 = reshape(%r) {shape=[N,3]} : f32[N,3]
  %p = add(%r2, %s) : f32[N,3]
  %q = add(%m, %s) : f32[N,3]
  %y = sub(%p, %q) : f32[N,3]
}
)";

TEST(PassPipelineTest, DefaultPipelineCleansUp) {
  PassPipeline pipeline = DefaultPipeline();
  EXPECT_EQ(pipeline.Names(),
            (std::vector<std::string>{
                "constant-folding", "algebraic-simplification", "recognize-norms", "recognize-gelu",
                "fold-views", "recognize-attention", "sink-broadcasts",
                "common-subexpression-elimination",
                "fold-views", "hoist-slice", "fold-batch-norm", "lower-patch-conv", "canonicalize-layout",
                "fold-views",
                "fuse-epilogue", "fuse-elementwise", "dead-code-elimination"}));
  Graph g = ParseVerified(kGraph);
  std::unique_ptr<Graph> before = g.Clone();
  StatusOr<bool> changed = pipeline.Run(g, {.verify_each = true, .dump_dir = ""});
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_TRUE(*changed);
  // %c folds to [0,1,2]; %s = c*b folds to the same constant; %m = x*1 -> x; the reshape pair
  // is the identity; CSE then merges %s into %c, so %p and %q are both add(%x, %c) and merge
  // too; the add -> sub chain becomes one fusion that takes %c inside; DCE removes the rest.
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[N,3]) -> (%y) where N in [1, 8] {\n"
            "  %y = fusion(%x) {body=graph @fused_0(%p0: f32[N,3]) -> (%y) {\n"
            "    %c = constant [0.0, 1.0, 2.0] : f32[3]\n"
            "    %p = add(%p0, %c) : f32[N,3]\n"
            "    %y = sub(%p, %p) : f32[N,3]\n"
            "  }} : f32[N,3]\n"
            "}\n");
  ExpectNumericallyEquivalent(*before, g, 0.0, 0.0);
  // A second run finds nothing to do.
  changed = pipeline.Run(g, {.verify_each = true, .dump_dir = ""});
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
}

TEST(PassPipelineTest, VerifyEachNamesTheBrokenPass) {
  PassPipeline pipeline;
  pipeline.Add(std::make_unique<BreakTypesPass>());
  Graph g = ParseVerified(kGraph);
  StatusOr<bool> result = pipeline.Run(g, {.verify_each = true, .dump_dir = ""});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInternal);
  EXPECT_EQ(result.status().message().rfind("pass 'break-types' produced an invalid graph: ", 0),
            0u)
      << result.status().message();
}

TEST(PassPipelineTest, PassErrorsNameThePass) {
  PassPipeline pipeline;
  pipeline.Add(std::make_unique<FailingPass>());
  Graph g = ParseVerified(kGraph);
  StatusOr<bool> result = pipeline.Run(g, {.verify_each = false, .dump_dir = ""});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(result.status().message(), "pass 'failing': no kernel for op 'frobnicate'");
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(PassPipelineTest, DumpsIrAfterEachPass) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(::testing::TempDir()) / "kiln_pipeline_dump";
  fs::remove_all(dir);
  Graph g = ParseVerified(kGraph);
  const std::string input_text = PrintGraph(g);
  PassPipeline pipeline = DefaultPipeline();
  StatusOr<bool> changed = pipeline.Run(g, {.verify_each = true, .dump_dir = dir.string()});
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(ReadFile(dir / "00-input.kir"), input_text);
  EXPECT_TRUE(fs::exists(dir / "01-constant-folding.kir"));
  EXPECT_TRUE(fs::exists(dir / "02-algebraic-simplification.kir"));
  EXPECT_TRUE(fs::exists(dir / "03-recognize-norms.kir"));
  EXPECT_TRUE(fs::exists(dir / "04-recognize-gelu.kir"));
  EXPECT_TRUE(fs::exists(dir / "05-fold-views.kir"));
  EXPECT_TRUE(fs::exists(dir / "06-recognize-attention.kir"));
  EXPECT_TRUE(fs::exists(dir / "07-sink-broadcasts.kir"));
  EXPECT_TRUE(fs::exists(dir / "08-common-subexpression-elimination.kir"));
  EXPECT_TRUE(fs::exists(dir / "09-fold-views.kir"));
  EXPECT_TRUE(fs::exists(dir / "10-hoist-slice.kir"));
  EXPECT_TRUE(fs::exists(dir / "11-fold-batch-norm.kir"));
  EXPECT_TRUE(fs::exists(dir / "12-lower-patch-conv.kir"));
  EXPECT_TRUE(fs::exists(dir / "13-canonicalize-layout.kir"));
  EXPECT_TRUE(fs::exists(dir / "14-fold-views.kir"));
  EXPECT_TRUE(fs::exists(dir / "15-fuse-epilogue.kir"));
  EXPECT_TRUE(fs::exists(dir / "16-fuse-elementwise.kir"));
  EXPECT_EQ(ReadFile(dir / "17-dead-code-elimination.kir"), PrintGraph(g));
  // After folding only: %c and %s are constants now, %m is still there.
  std::string folded = ReadFile(dir / "01-constant-folding.kir");
  EXPECT_NE(folded.find("%s = constant [0.0, 1.0, 2.0] : f32[3]"), std::string::npos) << folded;
  EXPECT_NE(folded.find("%m = mul(%x, %b)"), std::string::npos) << folded;
  fs::remove_all(dir);
}

TEST(PassPipelineTest, DumpDirDefaultsToEnvironment) {
  setenv("KILN_DUMP_IR", "/tmp/some/where", 1);
  EXPECT_EQ(PipelineOptions{}.dump_dir, "/tmp/some/where");
  unsetenv("KILN_DUMP_IR");
  EXPECT_EQ(PipelineOptions{}.dump_dir, "");
}

// The default pipeline on every zoo model (shrunk so the interpreter is quick): each pass keeps
// the graph valid, the input and output interface is unchanged, and the outputs agree to f32
// rounding (batch-norm folding reassociates the per-channel scale, so they are not bit-identical).
// Every batch_norm is folded away and the gemm/conv epilogues absorb their bias and activation;
// BERT's remaining elementwise chains (embedding sums, attention-mask arithmetic) become fusions;
// the conv nets run in NHWC (canonicalize-layout) with one transpose, at the input.
TEST(PassPipelineTest, DefaultPipelineKeepsZooModelsEquivalent) {
  ZooOptions o;
  o.max_batch = 4;
  o.num_layers = 1;
  o.hidden_size = 16;
  o.num_heads = 2;
  o.intermediate_size = 32;
  o.vocab_size = 50;
  o.image_size = 32;
  o.num_classes = 10;
  for (const ZooEntry& entry : ZooModels()) {
    SCOPED_TRACE(entry.name);
    StatusOr<Graph> g = BuildZooModel(entry.name, o);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    std::unique_ptr<Graph> before = g->Clone();
    StatusOr<bool> changed = DefaultPipeline().Run(*g, {.verify_each = true, .dump_dir = ""});
    ASSERT_TRUE(changed.ok()) << changed.status().ToString();
    ASSERT_EQ(g->outputs().size(), before->outputs().size());
    for (size_t i = 0; i < g->outputs().size(); ++i) {
      EXPECT_EQ(g->outputs()[i]->name(), before->outputs()[i]->name());
    }
    ExpectNumericallyEquivalent(*before, *g, 1e-5, 1e-5);
    int epilogue_steps = 0;
    int fusions = 0;
    int nhwc_convs = 0;
    int nchw_convs = 0;
    int transposes = 0;
    for (const auto& node : g->nodes()) {
      EXPECT_NE(node->op(), OpKind::kBatchNorm) << node->Describe();
      fusions += node->op() == OpKind::kFusion ? 1 : 0;
      transposes += node->op() == OpKind::kTranspose ? 1 : 0;
      if (node->op() == OpKind::kConv2d) {
        (node->GetEnum("layout") == "nhwc" ? nhwc_convs : nchw_convs) += 1;
      }
      if (node->op() == OpKind::kGemm || node->op() == OpKind::kConv2d) {
        epilogue_steps += static_cast<int>(node->GetEpilogue().size());
      }
    }
    EXPECT_TRUE(*changed);
    EXPECT_GT(epilogue_steps, 0);
    if (entry.name == "bert") {
      EXPECT_GE(fusions, 2);
    }
    if (entry.name == "resnet50" || entry.name == "tiny_cnn") {
      EXPECT_GT(nhwc_convs, 0);
      EXPECT_EQ(nchw_convs, 0);
      EXPECT_EQ(transposes, 1);
    }
    if (entry.name == "vit") {  // hoist-slice: the last block's second norm and the final norm
      int one_row_norms = 0;    // run on the class token only
      for (const auto& node : g->nodes()) {
        one_row_norms += node->op() == OpKind::kLayerNorm && node->output()->shape()[1] == Dim(1);
      }
      EXPECT_EQ(one_row_norms, 2);
    }
  }
}

// cuda-sm90 fuses the stem's max pool into its conv right after epilogue fusion (the other
// targets have no kernel for it). On an f16 ResNet-50 (shrunk) the stem, padded to 4 channels and
// made NHWC with bias and relu by the passes before, is the one conv that pools, and the result
// is exactly that of the same pipeline without the pass.
TEST(PassPipelineTest, CudaSm90FusesTheResNetStemPool) {
  const std::vector<std::string> names = DefaultPipeline("cuda-sm90").Names();
  const auto at = std::find(names.begin(), names.end(), "fuse-epilogue");
  ASSERT_TRUE(at != names.end() && at + 1 != names.end());
  EXPECT_EQ(*(at + 1), "fuse-conv-max-pool");
  for (const char* target : {"cpu", "cuda-sm80"}) {
    const std::vector<std::string> other = DefaultPipeline(target).Names();
    EXPECT_EQ(std::count(other.begin(), other.end(), "fuse-conv-max-pool"), 0) << target;
  }

  ZooOptions o;
  o.max_batch = 2;
  o.num_layers = 1;
  o.hidden_size = 16;
  o.image_size = 32;
  o.num_classes = 10;
  o.dtype = DType::kF16;
  StatusOr<Graph> g = BuildZooModel("resnet50", o);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::unique_ptr<Graph> unfused = g->Clone();
  PassPipeline without;
  for (const std::string& name : names) {
    if (name != "fuse-conv-max-pool") without.Add(CreatePass(name));
  }
  StatusOr<bool> changed =
      DefaultPipeline("cuda-sm90").Run(*g, {.verify_each = true, .dump_dir = ""});
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  changed = without.Run(*unfused, {.verify_each = true, .dump_dir = ""});
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(CountOps(*g, OpKind::kMaxPool2d), 0) << PrintGraph(*g);
  EXPECT_EQ(CountOps(*unfused, OpKind::kMaxPool2d), 1);
  int pooling_convs = 0;
  for (const auto& node : g->nodes()) {
    if (node->op() != OpKind::kConv2d || node->GetInts("max_pool").empty()) continue;
    ++pooling_convs;
    EXPECT_EQ(node->GetInts("max_pool"), (std::vector<int64_t>{3, 3, 2, 2, 1, 1, 1, 1}));
    EXPECT_EQ(node->input(0)->type().ToString(), "f16[N,32,32,4]");
    EXPECT_EQ(node->output()->type().ToString(), "f16[N,8,8,16]");
    EXPECT_EQ(node->GetEpilogue().size(), 2u);  // bias (the folded batch norm), relu
  }
  EXPECT_EQ(pooling_convs, 1);
  ExpectNumericallyEquivalent(*unfused, *g, 0.0, 0.0);
}

TEST(PassRegistryTest, CreatesEveryPassByName) {
  for (const char* name :
       {"dead-code-elimination", "common-subexpression-elimination", "constant-folding",
        "algebraic-simplification", "fold-batch-norm", "canonicalize-layout", "pad-conv-channels",
        "constants-to-weights", "fuse-epilogue", "fuse-elementwise", "recognize-attention",
        "recognize-norms", "recognize-gelu", "fold-views", "pack-qkv", "lower-patch-conv",
        "hoist-slice", "fuse-conv-max-pool"}) {
    std::unique_ptr<Pass> pass = CreatePass(name);
    ASSERT_NE(pass, nullptr) << name;
    EXPECT_EQ(pass->name(), name);
  }
  EXPECT_EQ(CreatePass("no-such-pass"), nullptr);
}

}  // namespace
}  // namespace kiln
