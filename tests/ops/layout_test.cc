// Tests of the layout op family (src/ops/layout.cc): reshape, transpose, squeeze, unsqueeze,
// flatten and expand. Shape inference is checked on static and symbolic shapes (the printed type
// is compared, so Dim arithmetic such as N*S or N*3 is visible); the references are run through
// the interpreter on iota inputs and compared with numpy results committed as literals; integer
// dtypes must come through bit-exact. Errors are checked by message substrings.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ops/op_util.h"
#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

// The symbol N in [1, 64], declared by InferType for every graph it builds.
Dim N() { return Dim::Symbol("N"); }

// Builds y = f(b, x) for one input x of `dtype` and `shape` and returns y's printed type ("" after
// an error).
std::string InferType(DType dtype, Shape shape, const std::function<Value*(Builder&, Value*)>& f) {
  Builder b("g");
  b.Sym("N", 1, 64);
  Value* y = f(b, b.Input("x", dtype, std::move(shape)));
  if (y == nullptr) {
    ADD_FAILURE() << b.status().ToString();
    return "";
  }
  return y->type().ToString();
}

// --------------------------------------------------------------------------------- reshape

TEST(LayoutTest, ReshapeKeepsRowMajorOrder) {
  Builder b("g");
  Value* x = b.Input("x", DType::kF32, {2, 3});
  Value* y = b.Reshape(x, {3, 1, 2});
  ASSERT_NE(y, nullptr) << b.status().ToString();
  EXPECT_EQ(y->type().ToString(), "f32[3,1,2]");
  b.Output(y);
  auto out = RunGraph(b, {Iota(DType::kF32, {2, 3})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{3, 1, 2}));
  EXPECT_EQ(out[0].ToF64(), IotaValues(6));
}

TEST(LayoutTest, ReshapeIsBitExactForI64) {
  // 2^60 + 1 does not survive a trip through double; a byte copy keeps it.
  const int64_t big = (int64_t{1} << 60) + 1;
  Tensor t(DType::kI64, {2, 2});
  int64_t* p = t.mutable_data_as<int64_t>();
  p[0] = big;
  p[1] = -big;
  p[2] = 7;
  p[3] = -1;
  Builder b("g");
  b.Output(b.Reshape(b.Input("x", DType::kI64, {2, 2}), {4}));
  auto out = RunGraph(b, {t});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ToI64(), (std::vector<int64_t>{big, -big, 7, -1}));
}

TEST(LayoutTest, ReshapeSymbolicBertHeads) {
  // [N, S, 768] -> [N, S, 12, 64] and back through [N*S, 768] (BERT's attention reshapes).
  Builder b("g");
  Dim n = b.Sym("N", 1, 64), s = b.Sym("S", 1, 512);
  Value* x = b.Input("x", DType::kF16, {n, s, 768});
  Value* heads = b.Reshape(x, {n, s, 12, 64});
  Value* resolved = b.Reshape(x, {n, s, -1, 64});  // the Builder resolves -1 to 12
  Value* rows = b.Reshape(heads, {n * s, 768});
  Value* back = b.Reshape(rows, {n, s, 768});
  ASSERT_TRUE(b.status().ok()) << b.status().ToString();
  EXPECT_EQ(heads->type().ToString(), "f16[N,S,12,64]");
  EXPECT_EQ(resolved->type().ToString(), "f16[N,S,12,64]");
  EXPECT_EQ(rows->type().ToString(), "f16[N*S,768]");
  EXPECT_EQ(back->type().ToString(), "f16[N,S,768]");
  b.Output(heads);
  b.Output(rows);
  // N = 2, S = 3; f16 holds the integers 0..2047 exactly, so use values mod 2048.
  std::vector<double> v(2 * 3 * 768);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i % 2048);
  auto out = RunGraph(b, {Tensor::FromF64(DType::kF16, {2, 3, 768}, v)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 3, 12, 64}));
  EXPECT_EQ(out[1].shape(), (std::vector<int64_t>{6, 768}));
  EXPECT_EQ(out[0].ToF64(), v);
  EXPECT_EQ(out[1].ToF64(), v);
}

TEST(LayoutTest, ReshapeElementCountMismatch) {
  Builder b("g");
  b.Reshape(b.Input("x", DType::kF32, {2, 3}), {4, 2});
  ExpectError(BuildError(b), {"reshape", "cannot reshape", "f32[2,3]", "[4,2]", "6 vs 8"});

  Builder c("g");
  Dim n = c.Sym("N", 1, 8);
  c.Reshape(c.Input("x", DType::kF32, {n, 4}), {n, 2, 3});
  ExpectError(BuildError(c), {"f32[N,4]", "[N,2,3]", "N*4 vs N*6"});
}

TEST(LayoutTest, ReshapeRejectsNegativeDimInTheOp) {
  // The Builder resolves -1; a node made directly with -1 is an error.
  Builder b("g");
  b.Op(OpKind::kReshape, {b.Input("x", DType::kF32, {2, 3})},
       {{"shape", std::vector<Dim>{Dim(-1), Dim(2)}}});
  ExpectError(BuildError(b), {"negative dim -1", "resolved by the Builder"});
}

// ------------------------------------------------------------------------------- transpose

TEST(LayoutTest, Transpose3d) {
  Builder b("g");
  Value* y = b.Transpose(b.Input("x", DType::kI32, {2, 3, 4}), {2, 0, 1});
  ASSERT_NE(y, nullptr) << b.status().ToString();
  EXPECT_EQ(y->type().ToString(), "i32[4,2,3]");
  b.Output(y);
  auto out = RunGraph(b, {Iota(DType::kI32, {2, 3, 4})});
  ASSERT_EQ(out.size(), 1u);
  // np.arange(24).reshape(2,3,4).transpose(2,0,1).flatten()
  EXPECT_EQ(out[0].ToI64(), (std::vector<int64_t>{0, 4, 8,  12, 16, 20, 1, 5, 9,  13, 17, 21,
                                                  2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23}));
}

TEST(LayoutTest, TransposeSymbolicAndScalar) {
  EXPECT_EQ(InferType(DType::kBF16, {N(), 3, 7},
                      [](Builder& b, Value* x) {
                        return b.Transpose(x, {0, 2, 1});
                      }),
            "bf16[N,7,3]");
  // A rank-0 transpose with an empty perm is the identity.
  Builder b("g");
  Value* y = b.Transpose(b.Input("x", DType::kF32, {}), {});
  ASSERT_NE(y, nullptr) << b.status().ToString();
  b.Output(y);
  auto out = RunGraph(b, {Tensor::FromF64(DType::kF32, {}, std::vector<double>{2.5})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ToF64(), (std::vector<double>{2.5}));
}

TEST(LayoutTest, TransposeBadPerm) {
  for (const std::vector<int64_t>& perm :
       {std::vector<int64_t>{0, 0, 1}, std::vector<int64_t>{1, 0}, std::vector<int64_t>{0, 1, 3},
        std::vector<int64_t>{-1, 0, 1}}) {
    Builder b("g");
    b.Transpose(b.Input("x", DType::kF32, {2, 3, 4}), perm);
    ExpectError(BuildError(b),
                {"transpose", "perm " + IntsToString(perm), "not a permutation of 0..2"});
  }
}

// -------------------------------------------------------------------- squeeze / unsqueeze

TEST(LayoutTest, SqueezeDefaultDropsEveryStaticOne) {
  Builder b("g");
  Dim n = b.Sym("N", 1, 64);
  Value* x = b.Input("x", DType::kF32, {1, n, 1, 2, 1});
  Value* y = b.Squeeze(x, {});
  ASSERT_NE(y, nullptr) << b.status().ToString();
  // N may be 1 at run time but is not statically 1, so it stays.
  EXPECT_EQ(y->type().ToString(), "f32[N,2]");
  b.Output(y);
  auto out = RunGraph(b, {Iota(DType::kF32, {1, 3, 1, 2, 1})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(out[0].ToF64(), IotaValues(6));
}

TEST(LayoutTest, SqueezeNegativeAxes) {
  EXPECT_EQ(
      InferType(DType::kF32, {1, 3, 1, 2}, [](Builder& b, Value* x) { return b.Squeeze(x, {-2}); }),
      "f32[1,3,2]");
  EXPECT_EQ(InferType(DType::kF32, {1, 3, 1, 2},
                      [](Builder& b, Value* x) {
                        return b.Squeeze(x, {0, -2});
                      }),
            "f32[3,2]");
}

TEST(LayoutTest, SqueezeErrors) {
  Builder b("g");
  b.Squeeze(b.Input("x", DType::kF32, {1, 3, 1}), {1});
  ExpectError(BuildError(b), {"squeeze", "cannot squeeze axis 1", "its dim is 3, expected 1"});

  Builder c("g");
  c.Squeeze(c.Input("x", DType::kF32, {c.Sym("N", 1, 4), 3}), {0});
  ExpectError(BuildError(c), {"cannot squeeze axis 0", "its dim is N, expected 1"});

  Builder d("g");
  d.Squeeze(d.Input("x", DType::kF32, {1, 3}), {2});
  ExpectError(BuildError(d), {"axis 2 is out of range for rank 2"});

  Builder e("g");
  e.Squeeze(e.Input("x", DType::kF32, {1, 3}), {0, -2});
  ExpectError(BuildError(e), {"axis -2 is listed twice"});
}

TEST(LayoutTest, UnsqueezePositionsAreInTheOutput) {
  const Shape shape = {N(), 3};
  EXPECT_EQ(InferType(DType::kF32, shape, [](Builder& b, Value* x) { return b.Unsqueeze(x, {0}); }),
            "f32[1,N,3]");
  EXPECT_EQ(InferType(DType::kF32, shape, [](Builder& b, Value* x) { return b.Unsqueeze(x, {1}); }),
            "f32[N,1,3]");
  // Output rank 4: -1 is the last position, 0 the first.
  EXPECT_EQ(InferType(DType::kF32, shape,
                      [](Builder& b, Value* x) {
                        return b.Unsqueeze(x, {0, -1});
                      }),
            "f32[1,N,3,1]");
  EXPECT_EQ(InferType(DType::kF32, shape,
                      [](Builder& b, Value* x) {
                        return b.Unsqueeze(x, {3, 1});
                      }),
            "f32[N,1,3,1]");

  Builder b("g");
  Value* y = b.Unsqueeze(b.Input("x", DType::kU8, {2, 3}), {-2});
  ASSERT_NE(y, nullptr) << b.status().ToString();
  EXPECT_EQ(y->type().ToString(), "u8[2,1,3]");
  b.Output(y);
  auto out = RunGraph(b, {Iota(DType::kU8, {2, 3})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ToF64(), IotaValues(6));
}

TEST(LayoutTest, UnsqueezeErrors) {
  Builder b("g");
  b.Unsqueeze(b.Input("x", DType::kF32, {2, 3}), {1, -3});  // both are output position 1 (of 4)
  ExpectError(BuildError(b), {"unsqueeze", "name output position 1 twice"});

  Builder c("g");
  c.Unsqueeze(c.Input("x", DType::kF32, {2, 3}), {3});
  ExpectError(BuildError(c), {"axis 3 is out of range for rank 3"});

  Builder d("g");
  d.Unsqueeze(d.Input("x", DType::kF32, {2, 3}), {});
  ExpectError(BuildError(d), {"axes is empty"});
}

// --------------------------------------------------------------------------------- flatten

TEST(LayoutTest, FlattenSymbolicBatch) {
  const Shape shape = {N(), 3, 4, 5};
  auto flat = [&](int64_t axis) {
    return InferType(DType::kF32, shape,
                     [axis](Builder& b, Value* x) { return b.Flatten(x, axis); });
  };
  EXPECT_EQ(flat(1), "f32[N,60]");
  EXPECT_EQ(flat(2), "f32[N*3,20]");
  EXPECT_EQ(flat(0), "f32[1,N*60]");
  EXPECT_EQ(flat(4), "f32[N*60,1]");
  EXPECT_EQ(flat(-1), "f32[N*12,5]");
  EXPECT_EQ(flat(-4), "f32[1,N*60]");
}

TEST(LayoutTest, FlattenRuns) {
  Builder b("g");
  Dim n = b.Sym("N", 1, 64);
  Value* y = b.Flatten(b.Input("x", DType::kF32, {n, 2, 1, 1}));
  ASSERT_NE(y, nullptr) << b.status().ToString();
  EXPECT_EQ(y->type().ToString(), "f32[N,2]");
  b.Output(y);
  auto out = RunGraph(b, {Iota(DType::kF32, {3, 2, 1, 1})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(out[0].ToF64(), IotaValues(6));
}

TEST(LayoutTest, FlattenAxisOutOfRange) {
  Builder b("g");
  b.Flatten(b.Input("x", DType::kF32, {2, 3}), 3);
  ExpectError(BuildError(b), {"flatten", "axis 3 is out of range", "expected -2..2"});
}

// ---------------------------------------------------------------------------------- expand

TEST(LayoutTest, ExpandAddsLeadingDimsAndBroadcastsOnes) {
  Builder b("g");
  Value* y = b.Expand(b.Input("x", DType::kI64, {3, 1}), {2, 3, 4});
  ASSERT_NE(y, nullptr) << b.status().ToString();
  EXPECT_EQ(y->type().ToString(), "i64[2,3,4]");
  b.Output(y);
  auto out = RunGraph(b, {Tensor::FromF64(DType::kI64, {3, 1}, std::vector<double>{10, 20, 30})});
  ASSERT_EQ(out.size(), 1u);
  // np.broadcast_to([[10],[20],[30]], (2,3,4)).flatten()
  EXPECT_EQ(out[0].ToI64(), (std::vector<int64_t>{10, 10, 10, 10, 20, 20, 20, 20, 30, 30, 30, 30,
                                                  10, 10, 10, 10, 20, 20, 20, 20, 30, 30, 30, 30}));
}

TEST(LayoutTest, ExpandSymbolicClassToken) {
  // ViT: the [1, 1, D] class token expanded to [N, 1, D].
  Builder b("g");
  Dim n = b.Sym("N", 1, 64);
  Value* cls = b.Input("cls", DType::kF32, {1, 1, 3});
  Value* y = b.Expand(cls, {n, 1, 3});
  ASSERT_NE(y, nullptr) << b.status().ToString();
  EXPECT_EQ(y->type().ToString(), "f32[N,1,3]");
  // A target dim of 1 keeps the input's dim (ONNX Expand); fewer target dims align right.
  Value* z = b.Expand(b.Input("z", DType::kF32, {n, 3}), {1, 1});
  ASSERT_NE(z, nullptr) << b.status().ToString();
  EXPECT_EQ(z->type().ToString(), "f32[N,3]");
  // N is bound at run time by input z's shape (the class token has no N).
  b.Output(y);
  b.Output(z);
  Tensor cls_t = Tensor::FromF64(DType::kF32, {1, 1, 3}, std::vector<double>{1.5, -2, 3});
  auto out = RunGraph(b, {cls_t, Iota(DType::kF32, {2, 3})});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 1, 3}));
  EXPECT_EQ(out[0].ToF64(), (std::vector<double>{1.5, -2, 3, 1.5, -2, 3}));
  EXPECT_EQ(out[1].ToF64(), IotaValues(6));
}

TEST(LayoutTest, ExpandIncompatible) {
  Builder b("g");
  b.Expand(b.Input("x", DType::kF32, {3}), {2, 4});
  ExpectError(BuildError(b), {"expand", "[3] and [2,4] do not broadcast", "dim 3 vs 4"});

  Builder c("g");
  Dim n = c.Sym("N", 1, 8), m = c.Sym("M", 1, 8);
  c.Expand(c.Input("x", DType::kF32, {n}), {m});
  ExpectError(BuildError(c), {"dim N vs M"});
}

TEST(LayoutTest, Fp8IsRejected) {
  Builder b("g");
  b.Reshape(b.Input("x", DType::kF8E4M3, {2, 3}), {6});
  ExpectError(BuildError(b), {"f8e4m3", "reserved"});
}

}  // namespace
}  // namespace kiln::testutil
