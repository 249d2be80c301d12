// Host-tensor runs of CUDA modules (Instance::Run -> kiln_instance_run_host): the library copies
// the inputs into device buffers its instance keeps, runs on the instance's stream and copies the
// outputs back. The zoo's MLP and tiny CNN in f16 run on host tensors over growing and shrinking
// batches (the staging buffers are reallocated, then reused), with and without CUDA graphs
// (--cuda-graphs: repeated host runs replay one graph, the staging pointers being stable), and
// must match the reference interpreter (f16 tolerances of cuda_test_util.h: 2e-2 / 2e-2).
#include "models/zoo.h"
#include "tests/gpu/cuda_test_util.h"

namespace kiln {
namespace {

// Compiles `graph` (missing weights random) for this GPU and runs it through Instance::Run on
// host tensors for each batch in `batches`, twice each, against the interpreter.
void ExpectHostRunsMatch(const Graph& graph, bool cuda_graphs,
                         const std::vector<int64_t>& batches) {
  if (!HasGpu()) GTEST_SKIP() << "no CUDA GPU";
  std::unique_ptr<Graph> g = WithRandomWeights(graph);
  CompileOptions copts;
  copts.cuda_graphs = cuda_graphs;
  StatusOr<GpuModel> model = CompileForThisGpu(*g, copts, "host_run");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::unique_ptr<Instance>& instance = model->instance;

  for (int64_t n : batches) {
    std::vector<Tensor> inputs = RandomInputsFor(*g, {{"N", n}}, static_cast<uint32_t>(n));
    StatusOr<std::vector<Tensor>> want = Interpret(*g, inputs);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    for (int repeat = 0; repeat < 3; ++repeat) {  // the 2nd captures a graph, the 3rd replays it
      std::vector<Tensor> got;
      Status run = instance->Run(inputs, &got);
      ASSERT_TRUE(run.ok()) << run.ToString();
      ASSERT_EQ(got.size(), want->size());
      for (size_t o = 0; o < got.size(); ++o) {
        ExpectTensorsClose((*want)[o], got[o], 2e-2, 2e-2,
                           g->name() + " output " + std::to_string(o) +
                               " at N=" + std::to_string(n) + ", run " + std::to_string(repeat));
      }
    }
  }
  instance.reset();
  std::filesystem::remove_all(model->output_dir);
}

Graph Zoo(const std::string& name) {
  ZooOptions o;
  o.dtype = DType::kF16;
  o.max_batch = 16;
  StatusOr<Graph> g = BuildZooModel(name, o);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? std::move(*g) : Graph();
}

TEST(CudaHostRunTest, MlpF16) { ExpectHostRunsMatch(Zoo("mlp"), false, {1, 4, 16, 2}); }

TEST(CudaHostRunTest, MlpF16WithCudaGraphs) { ExpectHostRunsMatch(Zoo("mlp"), true, {3, 8, 3}); }

TEST(CudaHostRunTest, TinyCnnF16) { ExpectHostRunsMatch(Zoo("tiny_cnn"), false, {2, 5}); }

}  // namespace
}  // namespace kiln
