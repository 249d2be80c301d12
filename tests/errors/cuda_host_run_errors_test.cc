// A host-tensor run (Instance::Run, kiln_instance_run_host) of a CUDA module on a machine without
// a usable GPU (CI): the library compiled here with nvcc loads and creates its instance (the
// model has no weights and no workspace, so nothing touches the GPU until the run), and the run
// fails with a CUDA error naming the step, through kiln_last_error, instead of crashing on host
// pointers. Where a GPU is present (a /dev/nvidiactl device node), the same run must succeed and
// match the interpreter; tests/gpu/cuda_host_run_test.cc covers that side in depth.
#include <cstdlib>
#include <filesystem>

#include "build/toolchain.h"
#include "tests/e2e/cpu_e2e_util.h"

namespace kiln {
namespace {

TEST(CudaHostRunErrorsTest, HostRunWithoutAGpuIsACudaError) {
  if (!FindNvcc().ok()) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") {
      FAIL() << "CI must compile the generated CUDA: " << FindNvcc().status().ToString();
    }
    GTEST_SKIP() << FindNvcc().status().ToString();
  }
  Graph graph =
      ParseVerified(R"(graph @host_add(%x: f16[N,4], %y: f16[4]) -> (%z) where N in [1, 8] {
  %z = add(%x, %y) : f16[N,4]
})");
  std::unique_ptr<Graph> copy = graph.Clone();
  CompileOptions options;
  options.target = "cuda-sm90";
  options.output_dir = FreshCompileDir("cuda_host_run");
  options.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
  StatusOr<CompileResult> compiled = Compile(*copy, options);
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  StatusOr<std::shared_ptr<Module>> module = Module::Load(compiled->library_path);
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  StatusOr<std::unique_ptr<Instance>> instance = (*module)->CreateInstance(compiled->weights_path);
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();

  std::vector<Tensor> inputs = RandomInputsFor(graph, {{"N", 3}});
  std::vector<Tensor> outputs;
  Status run = (*instance)->Run(inputs, &outputs);
  if (std::filesystem::exists("/dev/nvidiactl")) {
    // A GPU machine: the run must work (f16 add: the kernel and the interpreter round the same
    // f32 sum).
    ASSERT_TRUE(run.ok()) << run.ToString();
    StatusOr<std::vector<Tensor>> want = Interpret(graph, inputs);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    ExpectTensorsClose((*want)[0], outputs[0], 0, 0, "output z");
  } else {
    ASSERT_FALSE(run.ok());
    EXPECT_EQ(run.code(), StatusCode::kCuda) << run.ToString();
    const std::string expected = "module " + compiled->library_path +
                                 ": run on host tensors: host run: creating the instance's CUDA "
                                 "stream (is there a usable GPU?): cuda";
    EXPECT_EQ(run.message().rfind(expected, 0), 0u)
        << "expected '" << expected << "...' in: " << run.message();
    EXPECT_TRUE(outputs.empty());
    // The instance stays usable: a second run reports the same error, not a crash.
    Status again = (*instance)->Run(inputs, &outputs);
    EXPECT_EQ(again.code(), StatusCode::kCuda) << again.ToString();
  }
  instance->reset();
  std::filesystem::remove_all(options.output_dir);
}

}  // namespace
}  // namespace kiln
