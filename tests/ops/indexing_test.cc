// Tests of the indexing op family (src/ops/indexing.cc): concat, split, slice, pad, gather and
// embedding. Inference is checked on static and symbolic shapes through the printed types;
// the references run through the interpreter on small iota inputs and are compared with numpy
// results committed as literals (np.concatenate, np.split, basic slicing x[a:b:c], np.pad with
// constant/reflect/edge, np.take). Run-time errors (out-of-range indices, a symbolic slice past
// its dim) and build errors are checked by message substrings. Graph inputs of a run are declared
// in separate statements: argument evaluation order is unspecified, and the input order must
// match the tensors passed to the interpreter.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();

Tensor Values(DType dtype, std::vector<int64_t> shape, std::vector<double> v) {
  return Tensor::FromF64(dtype, std::move(shape), v);
}

SliceOptions Slice(std::vector<Dim> starts, std::vector<Dim> ends, std::vector<int64_t> axes = {},
                   std::vector<int64_t> steps = {}) {
  SliceOptions o;
  o.starts = std::move(starts);
  o.ends = std::move(ends);
  o.axes = std::move(axes);
  o.steps = std::move(steps);
  return o;
}

// ---------------------------------------------------------------------------------- concat

TEST(IndexingTest, ConcatThreeWithSymbolicBatch) {
  for (int64_t axis : {1, -1}) {
    SCOPED_TRACE(axis);
    Builder b("g");
    Dim n = b.Sym("N", 1, 64);
    Value* x = b.Input("x", DType::kF32, {n, 2});
    Value* y = b.Input("y", DType::kF32, {n, 3});
    Value* z = b.Input("z", DType::kF32, {n, 1});
    Value* c = b.Concat({x, y, z}, axis);
    ASSERT_NE(c, nullptr) << b.status().ToString();
    EXPECT_EQ(c->type().ToString(), "f32[N,6]");
    b.Output(c);
    auto out = RunGraph(b, {Iota(DType::kF32, {2, 2}), Iota(DType::kF32, {2, 3}, 10),
                            Iota(DType::kF32, {2, 1}, 100)});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 6}));
    EXPECT_EQ(out[0].ToF64(), (std::vector<double>{0, 1, 10, 11, 12, 100, 2, 3, 13, 14, 15, 101}));
  }
}

TEST(IndexingTest, ConcatAlongSymbolicAxisSumsDims) {
  Builder b("g");
  Dim n = b.Sym("N", 1, 8), m = b.Sym("M", 1, 8);
  Value* c = b.Concat({b.Input("x", DType::kI64, {n, 2}), b.Input("y", DType::kI64, {m, 2})}, 0);
  ASSERT_NE(c, nullptr) << b.status().ToString();
  EXPECT_EQ(c->type().ToString(), "i64[M+N,2]");
  b.Output(c);
  auto out = RunGraph(b, {Iota(DType::kI64, {1, 2}), Iota(DType::kI64, {2, 2}, 10)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ToI64(), (std::vector<int64_t>{0, 1, 10, 11, 12, 13}));
}

TEST(IndexingTest, ConcatErrors) {
  Builder b("g");
  Dim n = b.Sym("N", 1, 8);
  b.Concat({b.Input("x", DType::kF32, {n, 2}), b.Input("y", DType::kF32, {3, 2})}, 1);
  ExpectError(BuildError(b), {"concat", "operand 1 (%y: f32[3,2]) does not match operand 0",
                              "f32[N,2]", "concat axis 1"});

  Builder c("g");
  c.Concat({c.Input("x", DType::kF32, {2}), c.Input("y", DType::kF16, {2})}, 0);
  ExpectError(BuildError(c), {"operand 1 has dtype f16, expected f32"});

  Builder d("g");
  d.Concat({d.Input("x", DType::kF32, {2})}, 1);
  ExpectError(BuildError(d), {"axis 1 is out of range for rank 1"});
}

// ----------------------------------------------------------------------------------- split

TEST(IndexingTest, SplitIntoThree) {
  Builder b("g");
  Dim n = b.Sym("N", 1, 8);
  std::vector<Value*> parts = b.Split(b.Input("x", DType::kI32, {n, 6}), {1, 2, 3}, -1);
  ASSERT_EQ(parts.size(), 3u) << b.status().ToString();
  EXPECT_EQ(parts[0]->type().ToString(), "i32[N,1]");
  EXPECT_EQ(parts[1]->type().ToString(), "i32[N,2]");
  EXPECT_EQ(parts[2]->type().ToString(), "i32[N,3]");
  for (Value* p : parts) b.Output(p);
  auto out = RunGraph(b, {Iota(DType::kI32, {2, 6})});
  ASSERT_EQ(out.size(), 3u);
  // np.split(np.arange(12).reshape(2,6), [1,3], axis=1)
  EXPECT_EQ(out[0].ToI64(), (std::vector<int64_t>{0, 6}));
  EXPECT_EQ(out[1].ToI64(), (std::vector<int64_t>{1, 2, 7, 8}));
  EXPECT_EQ(out[2].ToI64(), (std::vector<int64_t>{3, 4, 5, 9, 10, 11}));
}

TEST(IndexingTest, SplitAxis0) {
  Builder b("g");
  std::vector<Value*> parts = b.Split(b.Input("x", DType::kF32, {3, 2}), {2, 1}, 0);
  ASSERT_EQ(parts.size(), 2u) << b.status().ToString();
  for (Value* p : parts) b.Output(p);
  auto out = RunGraph(b, {Iota(DType::kF32, {3, 2})});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].ToF64(), (std::vector<double>{0, 1, 2, 3}));
  EXPECT_EQ(out[1].ToF64(), (std::vector<double>{4, 5}));
}

TEST(IndexingTest, SplitErrors) {
  Builder b("g");
  b.Split(b.Input("x", DType::kF32, {2, 6}), {1, 4}, 1);
  ExpectError(BuildError(b), {"split", "sizes [1,4] sum to 5, expected 6"});

  Builder c("g");
  c.Split(c.Input("x", DType::kF32, {c.Sym("N", 1, 8), 6}), {1, 1}, 0);
  ExpectError(BuildError(c), {"symbolic dim N", "needs a static dim"});
}

// ----------------------------------------------------------------------------------- slice

// Slices iota(shape) and returns the output (empty after a failure).
Tensor RunSlice(std::vector<int64_t> shape, const SliceOptions& o, std::string* type = nullptr) {
  Builder b("g");
  Value* y = b.Slice(b.Input("x", DType::kF32, StaticShape(shape)), o);
  if (y == nullptr) {
    ADD_FAILURE() << b.status().ToString();
    return Tensor();
  }
  if (type) *type = y->type().ToString();
  b.Output(y);
  auto out = RunGraph(b, {Iota(DType::kF32, shape)});
  return out.empty() ? Tensor() : out[0];
}

TEST(IndexingTest, SliceOnnxSemantics1d) {
  // x = np.arange(10)
  EXPECT_EQ(RunSlice({10}, Slice({2}, {8}, {}, {2})).ToF64(), (std::vector<double>{2, 4, 6}));
  // x[9::-3]: start -1 -> 9, end -100 -> -90 clamped to -1.
  EXPECT_EQ(RunSlice({10}, Slice({-1}, {-100}, {0}, {-3})).ToF64(),
            (std::vector<double>{9, 6, 3, 0}));
  // x[-3::-1] with end INT64_MIN.
  EXPECT_EQ(RunSlice({10}, Slice({-3}, {kI64Min}, {}, {-1})).ToF64(),
            (std::vector<double>{7, 6, 5, 4, 3, 2, 1, 0}));
  // x[-2:] with end INT64_MAX (clamped to 10).
  EXPECT_EQ(RunSlice({10}, Slice({-2}, {kI64Max})).ToF64(), (std::vector<double>{8, 9}));
  // Start after end: empty.
  std::string type;
  Tensor empty = RunSlice({10}, Slice({5}, {2}), &type);
  EXPECT_EQ(type, "f32[0]");
  EXPECT_EQ(empty.numel(), 0);
}

TEST(IndexingTest, SliceTwoAxesWithNegativeAxisAndStep) {
  // y = np.arange(12).reshape(3,4); y[1:3, ::-2] given as axes [0, -1].
  std::string type;
  Tensor t = RunSlice({3, 4}, Slice({1, -1}, {3, kI64Min}, {0, -1}, {1, -2}), &type);
  EXPECT_EQ(type, "f32[2,2]");
  EXPECT_EQ(t.ToF64(), (std::vector<double>{7, 5, 11, 9}));
  // y[:, 3:0:-2]
  t = RunSlice({3, 4}, Slice({3}, {0}, {1}, {-2}), &type);
  EXPECT_EQ(type, "f32[3,2]");
  EXPECT_EQ(t.ToF64(), (std::vector<double>{3, 1, 7, 5, 11, 9}));
}

TEST(IndexingTest, SliceSymbolicPositionEmbeddings) {
  // BERT: rows [0, S) of a static [8, 2] position table, S from the ids' shape.
  Builder b("g");
  Dim n = b.Sym("N", 1, 64), s = b.Sym("S", 1, 64);
  Value* ids = b.Input("ids", DType::kI64, {n, s});
  Value* pos = b.Input("pos", DType::kF32, {8, 2});
  Value* rows = b.Slice(pos, Slice({0}, {s}, {0}));
  ASSERT_NE(rows, nullptr) << b.status().ToString();
  EXPECT_EQ(rows->type().ToString(), "f32[S,2]");
  b.Output(rows);
  b.Output(ids);
  auto out = RunGraph(b, {Iota(DType::kI64, {1, 3}), Iota(DType::kF32, {8, 2})});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(out[0].ToF64(), (std::vector<double>{0, 1, 2, 3, 4, 5}));

  // S = 10 passes the symbol's range but is past the table: a run-time error.
  Builder c("g");
  Dim s2 = c.Sym("S", 1, 64);
  Value* ids2 = c.Input("ids", DType::kI64, {s2});
  c.Output(c.Slice(c.Input("pos", DType::kF32, {8, 2}), Slice({0}, {s2})));
  c.Output(ids2);
  ExpectError(RunError(c, {Iota(DType::kI64, {10}), Iota(DType::kF32, {8, 2})}),
              {"slice", "[0, 10) of axis 0 is out of range for its dim 8"});
}

TEST(IndexingTest, SliceOfSymbolicDim) {
  Builder b("g");
  Dim n = b.Sym("N", 1, 64), s = b.Sym("S", 1, 64);
  Value* x = b.Input("x", DType::kF32, {n, s, 2});
  Value* first = b.Slice(x, Slice({0}, {1}, {1}));     // the [CLS] token
  Value* rest = b.Slice(x, Slice({1}, {s}, {-2}));     // tokens 1..S-1
  Value* last = b.Slice(x, Slice({s - 1}, {s}, {1}));  // a symbolic start
  ASSERT_TRUE(b.status().ok()) << b.status().ToString();
  EXPECT_EQ(first->type().ToString(), "f32[N,1,2]");
  EXPECT_EQ(rest->type().ToString(), "f32[N,S-1,2]");
  EXPECT_EQ(last->type().ToString(), "f32[N,1,2]");
  b.Output(first);
  b.Output(rest);
  b.Output(last);
  // N = 2, S = 3: x = arange(12).reshape(2,3,2).
  auto out = RunGraph(b, {Iota(DType::kF32, {2, 3, 2})});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].ToF64(), (std::vector<double>{0, 1, 6, 7}));
  EXPECT_EQ(out[1].shape(), (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(out[1].ToF64(), (std::vector<double>{2, 3, 4, 5, 8, 9, 10, 11}));
  EXPECT_EQ(out[2].ToF64(), (std::vector<double>{4, 5, 10, 11}));
}

TEST(IndexingTest, SliceErrors) {
  auto error = [](const SliceOptions& o) {
    Builder b("g");
    Dim s = b.Sym("S", 1, 64);
    b.Slice(b.Input("x", DType::kF32, {s, 4}), o);
    return BuildError(b);
  };
  ExpectError(error(Slice({0}, {Dim::Symbol("S")}, {}, {2})),
              {"slice", "axis 0 (dim S", "needs step 1, got step 2"});
  ExpectError(error(Slice({-1}, {Dim::Symbol("S")})), {"needs non-negative bounds, got -1"});
  ExpectError(error(Slice({0}, {-1})), {"needs non-negative bounds, got -1"});
  ExpectError(error(Slice({0, 0}, {1})), {"starts has 2 values but ends has 1"});
  ExpectError(error(Slice({0}, {2}, {1}, {0})), {"step 0 for axis 1"});
  ExpectError(error(Slice({0, 0}, {1, 1}, {1, -1})), {"name axis 1 twice"});
  // Static bounds on a static dim clamp (ONNX); with a symbolic start they cannot.
  ExpectError(error(Slice({Dim::Symbol("S")}, {9}, {1})), {"axis 1 (dim 4", "end is past the dim"});
  ExpectError(error(Slice({3}, {1}, {0})), {"axis 0 (dim S", "end is before start"});
}

// ------------------------------------------------------------------------------------- pad

Tensor RunPad(const Tensor& x, std::vector<int64_t> pads, const std::string& mode, double value,
              std::string* type = nullptr) {
  Builder b("g");
  Value* y = b.Pad(b.Input("x", x.dtype(), StaticShape(x.shape())), std::move(pads), mode, value);
  if (y == nullptr) {
    ADD_FAILURE() << b.status().ToString();
    return Tensor();
  }
  if (type) *type = y->type().ToString();
  b.Output(y);
  auto out = RunGraph(b, {x});
  return out.empty() ? Tensor() : out[0];
}

TEST(IndexingTest, PadConstantWithCrop) {
  // p = arange(1, 7).reshape(2,3); pads begins (1, -1), ends (0, 2), value 1.5:
  // np.pad(p[:, 1:], ((1,0),(0,2)), constant_values=1.5)
  std::string type;
  Tensor t = RunPad(Iota(DType::kF32, {2, 3}, 1), {1, -1, 0, 2}, "constant", 1.5, &type);
  EXPECT_EQ(type, "f32[3,4]");
  EXPECT_EQ(t.ToF64(), (std::vector<double>{1.5, 1.5, 1.5, 1.5, 2, 3, 1.5, 1.5, 5, 6, 1.5, 1.5}));
  // Integer dtype: the value is converted (truncated) once.
  Tensor i = RunPad(Values(DType::kI32, {2}, {4, 5}), {1, 2}, "constant", 7.9);
  EXPECT_EQ(i.ToI64(), (std::vector<int64_t>{7, 4, 5, 7, 7}));
}

TEST(IndexingTest, PadReflect) {
  Tensor x = Values(DType::kF32, {3}, {1, 2, 3});
  EXPECT_EQ(RunPad(x, {2, 2}, "reflect", 0).ToF64(), (std::vector<double>{3, 2, 1, 2, 3, 2, 1}));
  // Pads wider than the input keep mirroring, as numpy does.
  EXPECT_EQ(RunPad(x, {5, 4}, "reflect", 0).ToF64(),
            (std::vector<double>{2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3}));
  // np.pad(np.arange(6).reshape(2,3), ((1,1),(2,0)), 'reflect')
  EXPECT_EQ(RunPad(Iota(DType::kI64, {2, 3}), {1, 2, 1, 0}, "reflect", 0).ToI64(),
            (std::vector<int64_t>{5, 4, 3, 4, 5, 2, 1, 0, 1, 2, 5, 4, 3, 4, 5, 2, 1, 0, 1, 2}));
}

TEST(IndexingTest, PadEdge) {
  // np.pad(np.arange(6).reshape(2,3), ((1,2),(2,1)), 'edge')
  std::string type;
  Tensor t = RunPad(Iota(DType::kF16, {2, 3}), {1, 2, 2, 1}, "edge", 0, &type);
  EXPECT_EQ(type, "f16[5,6]");
  EXPECT_EQ(t.ToF64(), (std::vector<double>{0, 0, 0, 1, 2, 2, 0, 0, 0, 1, 2, 2, 3, 3, 3,
                                            4, 5, 5, 3, 3, 3, 4, 5, 5, 3, 3, 3, 4, 5, 5}));
}

TEST(IndexingTest, PadSymbolicAndErrors) {
  Builder b("g");
  Dim n = b.Sym("N", 1, 8);
  Value* y = b.Pad(b.Input("x", DType::kF32, {n, 3}), {1, 0, 1, -1});
  ASSERT_NE(y, nullptr) << b.status().ToString();
  EXPECT_EQ(y->type().ToString(), "f32[N+2,2]");

  Builder c("g");
  c.Pad(c.Input("x", DType::kF32, {2, 3}), {1, 1});
  ExpectError(BuildError(c), {"pad", "pads [1,1] has 2 values, expected 4"});

  Builder d("g");
  d.Pad(d.Input("x", DType::kF32, {2, 3}), {0, -2, 0, -2});
  ExpectError(BuildError(d), {"crop axis 1 (dim 3) below zero"});

  Builder e("g");
  e.Pad(e.Input("x", DType::kF32, {0, 3}), {1, 0, 0, 0}, "edge");
  ExpectError(BuildError(e), {"mode edge cannot pad axis 0", "it is empty"});
}

// ---------------------------------------------------------------------------------- gather

TEST(IndexingTest, GatherAxis0NegativeIndicesI64) {
  // d = np.arange(12).reshape(3,4)*10; d[[2,-1,0]]
  Builder b("g");
  Value* data = b.Input("d", DType::kF32, {3, 4});
  Value* indices = b.Input("i", DType::kI64, {3});
  Value* y = b.Gather(data, indices);
  ASSERT_NE(y, nullptr) << b.status().ToString();
  EXPECT_EQ(y->type().ToString(), "f32[3,4]");
  b.Output(y);
  Tensor d = Values(DType::kF32, {3, 4}, {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110});
  auto out = RunGraph(b, {d, Values(DType::kI64, {3}, {2, -1, 0})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ToF64(),
            (std::vector<double>{80, 90, 100, 110, 80, 90, 100, 110, 0, 10, 20, 30}));
}

TEST(IndexingTest, GatherAxis1I32Indices2d) {
  // np.take(d, [[0,-4],[3,1]], axis=1) -> [3, 2, 2]
  Builder b("g");
  Value* data = b.Input("d", DType::kI64, {3, 4});
  Value* indices = b.Input("i", DType::kI32, {2, 2});
  Value* y = b.Gather(data, indices, 1);
  ASSERT_NE(y, nullptr) << b.status().ToString();
  EXPECT_EQ(y->type().ToString(), "i64[3,2,2]");
  b.Output(y);
  Tensor d = Values(DType::kI64, {3, 4}, {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110});
  auto out = RunGraph(b, {d, Values(DType::kI32, {2, 2}, {0, -4, 3, 1})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ToI64(), (std::vector<int64_t>{0, 0, 30, 10, 40, 40, 70, 50, 80, 80, 110, 90}));
}

TEST(IndexingTest, GatherNegativeAxisAndSymbolicShapes) {
  // np.take(np.arange(12).reshape(2,3,2), [1,-1], axis=-2)
  Builder b("g");
  Value* data = b.Input("d", DType::kF32, {2, 3, 2});
  Value* indices = b.Input("i", DType::kI64, {2});
  Value* y = b.Gather(data, indices, -2);
  ASSERT_NE(y, nullptr) << b.status().ToString();
  EXPECT_EQ(y->type().ToString(), "f32[2,2,2]");
  b.Output(y);
  auto out = RunGraph(b, {Iota(DType::kF32, {2, 3, 2}), Values(DType::kI64, {2}, {1, -1})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ToF64(), (std::vector<double>{2, 3, 4, 5, 8, 9, 10, 11}));

  Builder c("g");
  Dim n = c.Sym("N", 1, 8), s = c.Sym("S", 1, 64);
  Value* rows = c.Gather(c.Input("w", DType::kF16, {100, 8}), c.Input("i", DType::kI32, {n, s}));
  Value* cols = c.Gather(c.Input("x", DType::kF16, {n, 5, 3}), c.Input("j", DType::kI64, {2}), 1);
  ASSERT_TRUE(c.status().ok()) << c.status().ToString();
  EXPECT_EQ(rows->type().ToString(), "f16[N,S,8]");
  EXPECT_EQ(cols->type().ToString(), "f16[N,2,3]");
}

TEST(IndexingTest, GatherOutOfRangeAtRunTime) {
  for (double bad : {3.0, -4.0}) {
    Builder b("g");
    Value* data = b.Input("d", DType::kF32, {3, 2});
    Value* indices = b.Input("i", DType::kI64, {2});
    b.Output(b.Gather(data, indices));
    Status s = RunError(b, {Iota(DType::kF32, {3, 2}), Values(DType::kI64, {2}, {0, bad})});
    ExpectError(s, {"gather",
                    "index " + std::to_string(static_cast<int64_t>(bad)) +
                        " at position 1 is out of range for axis 0 of size 3",
                    "expected -3..2"});
  }
}

TEST(IndexingTest, GatherIndexDType) {
  Builder b("g");
  b.Gather(b.Input("d", DType::kF32, {3, 2}), b.Input("i", DType::kF32, {2}));
  ExpectError(BuildError(b), {"gather", "must have dtype i64 or i32, got f32"});
}

// ------------------------------------------------------------------------------- embedding

TEST(IndexingTest, Embedding) {
  Builder b("g");
  Dim n = b.Sym("N", 1, 8);
  Value* data = b.Input("w", DType::kF32, {5, 3});
  Value* indices = b.Input("ids", DType::kI32, {n, 2});
  Value* y = b.Embedding(data, indices);
  ASSERT_NE(y, nullptr) << b.status().ToString();
  EXPECT_EQ(y->type().ToString(), "f32[N,2,3]");
  b.Output(y);
  auto out = RunGraph(b, {Iota(DType::kF32, {5, 3}), Values(DType::kI32, {2, 2}, {4, 0, -1, 2})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ToF64(), (std::vector<double>{12, 13, 14, 0, 1, 2, 12, 13, 14, 6, 7, 8}));
}

TEST(IndexingTest, EmbeddingErrors) {
  Builder b("g");
  Value* data = b.Input("w", DType::kF32, {5, 3});
  Value* indices = b.Input("ids", DType::kI64, {2});
  b.Output(b.Embedding(data, indices));
  ExpectError(RunError(b, {Iota(DType::kF32, {5, 3}), Values(DType::kI64, {2}, {1, 5})}),
              {"embedding", "id 5 at position 1 is out of range for axis 0 of size 5"});

  Builder c("g");
  c.Embedding(c.Input("w", DType::kF32, {5}), c.Input("ids", DType::kI64, {2}));
  ExpectError(BuildError(c), {"must have rank 2 ([V, D])"});
}

}  // namespace
}  // namespace kiln::testutil
