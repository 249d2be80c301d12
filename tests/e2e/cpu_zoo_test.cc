// Every zoo model compiled for the cpu target matches the reference interpreter: the full-size
// models at batch 1 (BERT at a short sequence to keep CI fast), with dynamic batch and sequence
// length bound at values other than the planned maximum, and the small models at several batch
// sizes. Tolerance: max |kiln - reference| <= 1e-4 * max |reference| per output (the bar the
// PyTorch comparison of the zoo uses); integer outputs exactly.
#include <cmath>

#include "models/zoo.h"
#include "tests/e2e/cpu_e2e_util.h"

namespace kiln {
namespace {

double MaxRelError(const Tensor& want, const Tensor& got) {
  std::vector<double> w = want.ToF64(), g = got.ToF64();
  double max_abs = 0, scale = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    max_abs = std::max(max_abs, std::fabs(w[i] - g[i]));
    scale = std::max(scale, std::fabs(w[i]));
  }
  return scale > 0 ? max_abs / scale : max_abs;
}

// Compiles zoo model `name` with `options` once and runs it at each of `bindings`.
void ExpectZooMatches(const std::string& name, const ZooOptions& options,
                      const std::vector<SymbolBindings>& bindings_list) {
  StatusOr<Graph> g = BuildZooModel(name, options);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::string dir = FreshCompileDir("zoo_" + name);
  StatusOr<CompileResult> compiled = CompileForTest(*g, dir);
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  // Dynamic models scale their workspace (with the batch; BERT built for batch 1..4 with the
  // sequence length, whose range spans the larger factor). The full-size models here are static.
  EXPECT_EQ(compiled->plan.scale_symbol, options.batch ? "" : name == "bert" ? "S" : "N") << name;
  StatusOr<std::shared_ptr<Module>> module = Module::Load(compiled->library_path);
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  StatusOr<std::unique_ptr<Instance>> instance = (*module)->CreateInstance(compiled->weights_path);
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();
  for (const SymbolBindings& bindings : bindings_list) {
    std::vector<Tensor> inputs = RandomInputsFor(*g, bindings);
    // Token ids must index the vocabulary; FillRandom's integers are 0..2, masks 0/1.
    StatusOr<std::vector<Tensor>> want = Interpret(*g, inputs);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    std::vector<Tensor> got;
    Status run = (*instance)->Run(inputs, &got);
    ASSERT_TRUE(run.ok()) << run.ToString();
    ASSERT_EQ(got.size(), want->size());
    for (size_t o = 0; o < got.size(); ++o) {
      ASSERT_EQ(got[o].shape(), (*want)[o].shape());
      double err = MaxRelError((*want)[o], got[o]);
      EXPECT_LE(err, 1e-4) << name << " output " << g->outputs()[o]->name() << " at "
                           << inputs[0].TypeString();
      std::cerr << name << " " << g->outputs()[o]->name() << " " << got[o].TypeString()
                << ": max rel err " << err << "\n";
    }
  }
  std::filesystem::remove_all(dir);
}

ZooOptions Batch(std::optional<int64_t> batch, int64_t max_batch = 64) {
  ZooOptions o;
  o.batch = batch;
  o.max_batch = max_batch;
  return o;
}

TEST(CpuZooTest, ResNet50) { ExpectZooMatches("resnet50", Batch(1), {{}}); }

TEST(CpuZooTest, BertDynamicBatchAndSequence) {
  ExpectZooMatches("bert", Batch(std::nullopt, 4), {{{"N", 1}, {"S", 16}}, {{"N", 2}, {"S", 23}}});
}

TEST(CpuZooTest, Vit) { ExpectZooMatches("vit", Batch(1), {{}}); }

// Their workspaces scale with the batch (MemoryPlan::scale_symbol): each instance grows its
// workspace for a larger batch and runs smaller ones in it again.
TEST(CpuZooTest, SmallModelsDynamicBatch) {
  ExpectZooMatches("mlp", Batch(std::nullopt, 16), {{{"N", 1}}, {{"N", 5}}, {{"N", 16}}, {{"N", 3}}});
  ExpectZooMatches("tiny_cnn", Batch(std::nullopt, 8), {{{"N", 3}}, {{"N", 8}}, {{"N", 1}}});
}

}  // namespace
}  // namespace kiln
