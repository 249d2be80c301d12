// The runtime against the hand-written fixture module (tests/runtime/fixture_module.cc):
// y = relu(x) * w + b, x: f32[N,4], N in [1, 8]. Expected values computed with numpy.
#include <gtest/gtest.h>

#include <thread>

#include "kiln/module.h"
#include "tests/runtime/runtime_test_util.h"

namespace kiln {
namespace {

using runtime_test::DefaultFixtureWeights;
using runtime_test::kFixtureModule;
using runtime_test::kFixtureModuleResidual;
using runtime_test::WriteFixtureWeights;

std::shared_ptr<Module> LoadOrDie(const std::string& path) {
  auto module = Module::Load(path);
  EXPECT_TRUE(module.ok()) << module.status().ToString();
  return module.ok() ? *module : nullptr;
}

// Runs `instance` on x (f32[n,4]) and returns y's values, checking y's shape.
std::vector<float> RunX(Instance& instance, int64_t n, const std::vector<float>& x) {
  std::vector<Tensor> outputs;
  Status s = instance.Run({Tensor::FromF32(DType::kF32, {n, 4}, x)}, &outputs);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok() || outputs.size() != 1) return {};
  EXPECT_EQ(outputs[0].dtype(), DType::kF32);
  EXPECT_EQ(outputs[0].shape(), (std::vector<int64_t>{n, 4}));
  return outputs[0].ToF32();
}

TEST(RuntimeTest, LoadReadsTheInterface) {
  auto module = LoadOrDie(kFixtureModule);
  ASSERT_NE(module, nullptr);
  EXPECT_EQ(module->path(), kFixtureModule);
  EXPECT_EQ(module->target(), "cpu");
  ASSERT_EQ(module->inputs().size(), 1u);
  const IoInfo& x = module->inputs()[0];
  EXPECT_EQ(x.name, "x");
  EXPECT_EQ(x.dtype, DType::kF32);
  EXPECT_EQ(x.dims, (std::vector<std::string>{"N", "4"}));
  EXPECT_EQ(x.static_dims, (std::vector<int64_t>{-1, 4}));
  EXPECT_EQ(x.TypeString(), "f32[N,4]");
  ASSERT_EQ(module->outputs().size(), 1u);
  EXPECT_EQ(module->outputs()[0].name, "y");
  EXPECT_EQ(module->outputs()[0].TypeString(), "f32[N,4]");
  ASSERT_EQ(module->symbols().size(), 1u);
  EXPECT_EQ(module->symbols()[0].name, "N");
  EXPECT_EQ(module->symbols()[0].min, 1);
  EXPECT_EQ(module->symbols()[0].max, 8);
}

TEST(RuntimeTest, RunOneRow) {
  auto module = LoadOrDie(kFixtureModule);
  ASSERT_NE(module, nullptr);
  auto instance = module->CreateInstance(DefaultFixtureWeights());
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();
  // relu([-1, 2, 3, -4]) * [1, 2, -1, 0.5] + [0.5, -1, 2, 0].
  EXPECT_EQ(RunX(**instance, 1, {-1, 2, 3, -4}), (std::vector<float>{0.5, 3, -1, 0}));
}

TEST(RuntimeTest, RunSevenRowsThenOneRowOnTheSameInstance) {
  auto module = LoadOrDie(kFixtureModule);
  ASSERT_NE(module, nullptr);
  auto instance = module->CreateInstance(DefaultFixtureWeights());
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();
  std::vector<float> x;  // (arange(28) - 10) * 0.5
  for (int i = 0; i < 28; ++i) x.push_back((i - 10) * 0.5f);
  std::vector<float> expected = {0.5, -1,   2,   0,    0.5, -1,   2,   0,   0.5, -1,
                                 2,   0.25, 1.5, 2,    0,   1.25, 3.5, 6,   -2,  2.25,
                                 5.5, 10,   -4,  3.25, 7.5, 14,   -6,  4.25};
  EXPECT_EQ(RunX(**instance, 7, x), expected);
  // Re-binding N to a smaller value must shrink the output.
  EXPECT_EQ(RunX(**instance, 1, {-1, 2, 3, -4}), (std::vector<float>{0.5, 3, -1, 0}));
}

TEST(RuntimeTest, RawApiWithExplicitDims) {
  auto module = LoadOrDie(kFixtureModule);
  ASSERT_NE(module, nullptr);
  auto instance = module->CreateInstance(DefaultFixtureWeights());
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();
  Tensor x =
      Tensor::FromF32(DType::kF32, {2, 4}, std::vector<float>{1, -1, 2, 3, -2, 4, 0.5, -0.5});
  auto values = (*instance)->BindDims({x});
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ(*values, (std::vector<int64_t>{2}));
  ASSERT_TRUE((*instance)->SetDims(*values).ok());
  auto shape = (*instance)->OutputShape(0);
  ASSERT_TRUE(shape.ok()) << shape.status().ToString();
  EXPECT_EQ(*shape, (std::vector<int64_t>{2, 4}));
  std::vector<float> y(8, -99.0f);
  const void* in[] = {x.data()};
  void* out[] = {y.data()};
  Status s = (*instance)->RunRaw(in, out, nullptr);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(y, (std::vector<float>{1.5, -1, 0, 1.5, 0.5, 7, 1.5, 0}));
}

TEST(RuntimeTest, TwoInputsShareTheSymbol) {
  auto module = LoadOrDie(kFixtureModuleResidual);
  ASSERT_NE(module, nullptr);
  ASSERT_EQ(module->inputs().size(), 2u);
  EXPECT_EQ(module->inputs()[1].name, "r");
  auto instance = module->CreateInstance(DefaultFixtureWeights());
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();
  std::vector<Tensor> outputs;
  Status s = (*instance)->Run(
      {Tensor::FromF32(DType::kF32, {2, 4}, std::vector<float>{1, -1, 2, 3, -2, 4, 0.5, -0.5}),
       Tensor::FromF32(DType::kF32, {2, 4}, std::vector<float>{10, 20, 30, 40, -1, -2, -3, -4})},
      &outputs);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].ToF32(), (std::vector<float>{11.5, 19, 30, 41.5, -0.5, 5, -1.5, -4}));
}

TEST(RuntimeTest, InstanceKeepsTheLibraryLoaded) {
  auto module = LoadOrDie(kFixtureModule);
  ASSERT_NE(module, nullptr);
  auto instance = module->CreateInstance(DefaultFixtureWeights());
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();
  module.reset();  // the instance's shared_ptr must keep the code mapped
  EXPECT_EQ(RunX(**instance, 1, {-1, 2, 3, -4}), (std::vector<float>{0.5, 3, -1, 0}));
}

TEST(RuntimeTest, ErrorLeavesTheInstanceUsable) {
  auto module = LoadOrDie(kFixtureModule);
  ASSERT_NE(module, nullptr);
  auto instance = module->CreateInstance(DefaultFixtureWeights());
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();
  std::vector<Tensor> outputs;
  EXPECT_FALSE((*instance)->Run({Tensor(DType::kF32, {9, 4})}, &outputs).ok());
  EXPECT_FALSE((*instance)->SetDims({9}).ok());
  EXPECT_TRUE(outputs.empty());
  EXPECT_EQ(RunX(**instance, 1, {-1, 2, 3, -4}), (std::vector<float>{0.5, 3, -1, 0}));
}

// Two instances with different weights and dims run concurrently, each on its own thread, and
// each keeps getting its own results (no shared mutable state inside the module).
TEST(RuntimeTest, TwoInstancesRunConcurrently) {
  auto module = LoadOrDie(kFixtureModule);
  ASSERT_NE(module, nullptr);
  auto a = module->CreateInstance(DefaultFixtureWeights());
  auto b = module->CreateInstance(
      WriteFixtureWeights("second.safetensors", {-2, 0, 3, 1}, {1, 1, 1, 1}));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  constexpr int kIterations = 300;
  int a_good = 0;
  int b_good = 0;
  std::thread ta([&] {
    for (int i = 0; i < kIterations; ++i) {
      a_good += RunX(**a, 1, {-1, 2, 3, -4}) == std::vector<float>{0.5, 3, -1, 0};
    }
  });
  std::thread tb([&] {
    for (int i = 0; i < kIterations; ++i) {
      b_good += RunX(**b, 2, {1, -1, 2, 3, -2, 4, 0.5, -0.5}) ==
                std::vector<float>{-1, 1, 7, 4, 1, 1, 2.5, 1};
    }
  });
  ta.join();
  tb.join();
  EXPECT_EQ(a_good, kIterations);
  EXPECT_EQ(b_good, kIterations);
}

}  // namespace
}  // namespace kiln
