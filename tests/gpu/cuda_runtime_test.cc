// The CUDA runtime on a GPU (ctest label gpu; skipped where no GPU is present): CUDA-graph replay
// (`--cuda-graphs`), the workspace growing with the batch, and several instances of one library
// running concurrently on their own streams, each checked against the reference interpreter on an
// f16 MLP with a dynamic batch.
// Tolerance: |got - want| <= 2e-2 + 2e-2 * |want| (f16 storage between the layers).
#include "models/zoo.h"
#include "tests/gpu/cuda_test_util.h"

namespace kiln {
namespace {

// Device copies of one set of inputs and room for the outputs, with the interpreter's answer.
struct DeviceCase {
  std::vector<Tensor> want;
  std::vector<void*> in, out;
  std::vector<int64_t> dims;

  ~DeviceCase() {
    for (void* p : in) cudaFree(p);
    for (void* p : out) cudaFree(p);
  }

  // Copies the outputs back and compares them with `want`.
  void Expect(const std::string& what) const {
    for (size_t o = 0; o < want.size(); ++o) {
      Tensor got(want[o].dtype(), want[o].shape());
      ASSERT_EQ(cudaMemcpy(got.mutable_data(), out[o], got.nbytes(), cudaMemcpyDeviceToHost),
                cudaSuccess);
      ExpectTensorsClose(want[o], got, 2e-2, 2e-2, what + " output " + std::to_string(o));
    }
  }

  // Sets the outputs to NaN bits, so a run that writes nothing cannot pass.
  void Poison() const {
    for (size_t o = 0; o < want.size(); ++o) cudaMemset(out[o], 0xff, want[o].nbytes());
  }
};

class CudaRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HasGpu()) GTEST_SKIP() << "no CUDA GPU";
    ZooOptions o;
    o.dtype = DType::kF16;
    o.max_batch = 64;
    StatusOr<Graph> g = BuildZooModel("mlp", o);
    ASSERT_TRUE(g.ok());
    graph_ = g->Clone();
    auto weights = std::make_shared<TensorMap>();
    std::mt19937 rng(7);
    pass_test_internal::AddMissingWeights(*graph_, *weights, rng);
    graph_->set_weights(weights);
    std::unique_ptr<Graph> copy = graph_->Clone();
    CompileOptions copts;
    copts.target = TargetOfThisGpu();
    copts.output_dir = FreshCompileDir("mlp_graphs");
    copts.cuda_graphs = true;
    copts.tune = TuneMode::kOff;
    copts.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
    StatusOr<CompileResult> compiled = Compile(*copy, copts);
    ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
    compiled_ = *compiled;
    StatusOr<std::shared_ptr<Module>> module = Module::Load(compiled_.library_path);
    ASSERT_TRUE(module.ok()) << module.status().ToString();
    module_ = *module;
  }

  void TearDown() override {
    if (!compiled_.library_path.empty()) {
      std::filesystem::remove_all(std::filesystem::path(compiled_.library_path).parent_path());
    }
  }

  std::unique_ptr<Instance> NewInstance() {
    StatusOr<std::unique_ptr<Instance>> instance = module_->CreateInstance(compiled_.weights_path);
    EXPECT_TRUE(instance.ok()) << instance.status().ToString();
    return instance.ok() ? std::move(*instance) : nullptr;
  }

  std::unique_ptr<DeviceCase> MakeCase(int64_t batch, uint32_t seed) {
    auto c = std::make_unique<DeviceCase>();
    std::vector<Tensor> inputs = RandomInputsFor(*graph_, {{"N", batch}}, seed);
    StatusOr<std::vector<Tensor>> want = Interpret(*graph_, inputs);
    EXPECT_TRUE(want.ok()) << want.status().ToString();
    c->want = *want;
    for (const Tensor& t : inputs) {
      void* p = nullptr;
      EXPECT_EQ(cudaMalloc(&p, t.nbytes()), cudaSuccess);
      EXPECT_EQ(cudaMemcpy(p, t.data(), t.nbytes(), cudaMemcpyHostToDevice), cudaSuccess);
      c->in.push_back(p);
    }
    for (const Tensor& t : c->want) {
      void* p = nullptr;
      EXPECT_EQ(cudaMalloc(&p, t.nbytes()), cudaSuccess);
      c->out.push_back(p);
    }
    c->dims = {batch};
    return c;
  }

  Status Run(Instance& instance, const DeviceCase& c, cudaStream_t stream) {
    KILN_RETURN_IF_ERROR(instance.SetDims(c.dims));
    std::vector<const void*> in(c.in.begin(), c.in.end());
    return instance.RunRaw(in, c.out, stream);
  }

  std::unique_ptr<Graph> graph_;
  CompileResult compiled_;
  std::shared_ptr<Module> module_;
};

TEST_F(CudaRuntimeTest, GraphReplayMatchesForNewShapesAndBuffers) {
  std::unique_ptr<Instance> instance = NewInstance();
  ASSERT_NE(instance, nullptr);
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  std::unique_ptr<DeviceCase> a = MakeCase(5, 1), b = MakeCase(64, 2), c = MakeCase(5, 3);
  // Runs 1 (direct), 2 (capture + replay) and 3 (replay) of each key, interleaved, so a replay
  // that kept another key's shapes or pointers shows up as a mismatch.
  for (int round = 0; round < 3; ++round) {
    for (DeviceCase* d : {a.get(), b.get(), c.get()}) {
      d->Poison();
      ASSERT_TRUE(Run(*instance, *d, stream).ok());
      ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
      d->Expect("round " + std::to_string(round) + " batch " + std::to_string(d->dims[0]));
    }
  }
  // New input values in the same buffers: the replayed graph reads them.
  std::vector<Tensor> inputs = RandomInputsFor(*graph_, {{"N", 5}}, 11);
  for (size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_EQ(cudaMemcpy(a->in[i], inputs[i].data(), inputs[i].nbytes(), cudaMemcpyHostToDevice),
              cudaSuccess);
  }
  StatusOr<std::vector<Tensor>> want = Interpret(*graph_, inputs);
  ASSERT_TRUE(want.ok());
  a->want = *want;
  a->Poison();
  ASSERT_TRUE(Run(*instance, *a, stream).ok());
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  a->Expect("replay with new input values");
  cudaStreamDestroy(stream);
}

// The MLP's workspace scales with the batch (MemoryPlan::scale_symbol): a fresh instance allocates
// it at the first run and regrows it for each larger batch, here while the earlier runs may still
// be queued on the stream (freeing the old workspace must wait for them), and smaller batches run
// in the grown one again.
TEST_F(CudaRuntimeTest, WorkspaceGrowsWhileEarlierRunsAreQueued) {
  std::unique_ptr<Instance> instance = NewInstance();
  ASSERT_NE(instance, nullptr);
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  std::vector<std::unique_ptr<DeviceCase>> cases;
  for (int64_t batch : {1, 8, 64, 3}) cases.push_back(MakeCase(batch, static_cast<uint32_t>(batch)));
  for (int round = 0; round < 2; ++round) {
    for (const auto& c : cases) c->Poison();
    for (const auto& c : cases) ASSERT_TRUE(Run(*instance, *c, stream).ok());  // no sync between
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    for (const auto& c : cases) {
      c->Expect("round " + std::to_string(round) + " batch " + std::to_string(c->dims[0]));
    }
  }
  cudaStreamDestroy(stream);
}

// The legacy default stream cannot be captured: the runtime captures on a private stream and
// replays the graph on the default stream.
TEST_F(CudaRuntimeTest, GraphReplayOnTheLegacyDefaultStream) {
  std::unique_ptr<Instance> instance = NewInstance();
  ASSERT_NE(instance, nullptr);
  std::unique_ptr<DeviceCase> a = MakeCase(7, 21), b = MakeCase(33, 22);
  for (int round = 0; round < 3; ++round) {
    for (DeviceCase* d : {a.get(), b.get()}) {
      d->Poison();
      ASSERT_TRUE(Run(*instance, *d, nullptr).ok());
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      d->Expect("default stream, round " + std::to_string(round) + " batch " + std::to_string(d->dims[0]));
    }
  }
}

TEST_F(CudaRuntimeTest, InstancesRunConcurrentlyOnTheirOwnStreams) {
  constexpr int kInstances = 3;
  std::vector<std::unique_ptr<Instance>> instances;
  std::vector<std::unique_ptr<DeviceCase>> cases;
  std::vector<cudaStream_t> streams(kInstances);
  for (int i = 0; i < kInstances; ++i) {
    instances.push_back(NewInstance());
    ASSERT_NE(instances.back(), nullptr);
    cases.push_back(MakeCase(16 + 16 * i, 100 + i));
    ASSERT_EQ(cudaStreamCreate(&streams[i]), cudaSuccess);
  }
  // Every run is issued before any stream is synchronised: the instances' work overlaps.
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < kInstances; ++i) ASSERT_TRUE(Run(*instances[i], *cases[i], streams[i]).ok());
  }
  for (int i = 0; i < kInstances; ++i) {
    ASSERT_EQ(cudaStreamSynchronize(streams[i]), cudaSuccess);
    cases[i]->Expect("instance " + std::to_string(i));
    cudaStreamDestroy(streams[i]);
  }
}

}  // namespace
}  // namespace kiln
