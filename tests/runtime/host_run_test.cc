// Host-tensor runs through kiln_instance_run_host on the cpu target: a compiled library exports
// it, Instance::Run goes through it (dynamic dims, a compound input dim whose byte size the
// library evaluates from its dim expression), and Instance::RunHost on preallocated outputs
// matches the reference interpreter exactly (elementwise f32: same arithmetic). The CUDA side:
// tests/errors/cuda_host_run_errors_test.cc (no GPU) and tests/gpu/cuda_host_run_test.cc.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include "tests/e2e/cpu_e2e_util.h"

namespace kiln {
namespace {

// x: f32[N,S], w: f32[N,S*2]; z = concat(x, x) + w, so S*2 is an input dim that binds no symbol.
constexpr const char* kGraph =
    R"(graph @host_run(%x: f32[N,S], %w: f32[N,S*2]) -> (%z, %r) where N in [1, 8], S in [1, 4] {
  %c = concat(%x, %x) {axis=1} : f32[N,S*2]
  %z = add(%c, %w) : f32[N,S*2]
  %r = relu(%x) : f32[N,S]
})";

class HostRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    graph_ = std::make_unique<Graph>(ParseVerified(kGraph));
    dir_ = FreshCompileDir("host_run");
    StatusOr<CompileResult> compiled = CompileForTest(*graph_, dir_);
    ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
    library_ = compiled->library_path;
    StatusOr<std::shared_ptr<Module>> module = Module::Load(library_);
    ASSERT_TRUE(module.ok()) << module.status().ToString();
    StatusOr<std::unique_ptr<Instance>> instance =
        (*module)->CreateInstance(compiled->weights_path);
    ASSERT_TRUE(instance.ok()) << instance.status().ToString();
    instance_ = std::move(instance).value();
  }
  void TearDown() override {
    instance_.reset();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Graph> graph_;
  std::string dir_;
  std::string library_;
  std::unique_ptr<Instance> instance_;
};

TEST_F(HostRunTest, LibraryExportsRunHost) {
  void* handle = dlopen(library_.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  EXPECT_NE(dlsym(handle, "kiln_instance_run_host"), nullptr);
  dlclose(handle);
}

TEST_F(HostRunTest, RunMatchesTheInterpreterAcrossShapes) {
  for (auto [n, s] : {std::pair<int64_t, int64_t>{2, 3}, {5, 1}, {8, 4}, {1, 2}}) {
    std::vector<Tensor> inputs = RandomInputsFor(*graph_, {{"N", n}, {"S", s}});
    StatusOr<std::vector<Tensor>> want = Interpret(*graph_, inputs);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    std::vector<Tensor> got;
    Status run = instance_->Run(inputs, &got);
    ASSERT_TRUE(run.ok()) << run.ToString();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].shape(), (std::vector<int64_t>{n, 2 * s}));
    for (size_t o = 0; o < got.size(); ++o) {
      ExpectTensorsClose((*want)[o], got[o], 0, 0,
                         "output " + std::to_string(o) + " at N=" + std::to_string(n) +
                             ", S=" + std::to_string(s));
    }
  }
}

TEST_F(HostRunTest, RunHostWritesPreallocatedOutputs) {
  std::vector<Tensor> inputs = RandomInputsFor(*graph_, {{"N", 3}, {"S", 2}});
  StatusOr<std::vector<Tensor>> want = Interpret(*graph_, inputs);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  StatusOr<std::vector<int64_t>> dims = instance_->BindDims(inputs);
  ASSERT_TRUE(dims.ok()) << dims.status().ToString();
  ASSERT_TRUE(instance_->SetDims(*dims).ok());
  std::vector<Tensor> got = {Tensor(DType::kF32, {3, 4}), Tensor(DType::kF32, {3, 2})};
  std::vector<const void*> in = {inputs[0].data(), inputs[1].data()};
  std::vector<void*> out = {got[0].mutable_data(), got[1].mutable_data()};
  Status run = instance_->RunHost(in, out);
  ASSERT_TRUE(run.ok()) << run.ToString();
  ExpectTensorsClose((*want)[0], got[0], 0, 0, "output z");
  ExpectTensorsClose((*want)[1], got[1], 0, 0, "output r");
  // Wrong pointer counts are refused before the library is called.
  Status wrong = instance_->RunHost(std::span<const void* const>(in.data(), 1), out);
  EXPECT_EQ(wrong.code(), StatusCode::kInvalidArgument) << wrong.ToString();
}

}  // namespace
}  // namespace kiln
