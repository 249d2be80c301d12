// The CPU layout/indexing kernels (kiln_cpu_layout.h: Transpose, Expand, Slice, Concat, Split,
// Pad, Gather, StridedCopy) against the reference ops run by the interpreter. The kernels move
// bytes, so every comparison is exact (byte for byte), over element sizes 1 (bool, u8), 2 (f16),
// 4 (f32, i32) and 8 (i64), odd shapes, every axis and negative axes, negative slice steps,
// crop-by-negative-pads, reflect/edge padding, and out-of-range gather indices.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kiln_cpu_layout.h"
#include "ops/op_util.h"
#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

// Dtypes of every element size the kernels specialise.
const DType kDTypes[] = {DType::kF32, DType::kI64, DType::kF16, DType::kU8, DType::kBool};

// A tensor of distinct-ish values for `dtype`: 0, 1, 2, ... (bool: alternating with a period of 3).
Tensor Values(DType dtype, const std::vector<int64_t>& shape) {
  std::vector<double> v = IotaValues(NumElements(shape), 1.0);
  if (dtype == DType::kBool) {
    for (double& x : v) x = static_cast<int64_t>(x) % 3 == 0;
  } else if (dtype == DType::kU8) {
    for (double& x : v) x = static_cast<int64_t>(x) % 251;
  }
  return Tensor::FromF64(dtype, shape, v);
}

// Byte-exact equality of two tensors of the same dtype and shape.
void ExpectSameBytes(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.shape(), want.shape());
  ASSERT_EQ(got.nbytes(), want.nbytes());
  if (got.nbytes() == 0) return;
  const auto* g = static_cast<const uint8_t*>(got.data());
  const auto* w = static_cast<const uint8_t*>(want.data());
  const int64_t es = DTypeSize(got.dtype());
  for (int64_t i = 0; i < got.nbytes(); ++i) {
    if (g[i] != w[i]) {
      ADD_FAILURE() << "element " << i / es << " differs: got " << got.GetF64(i / es) << ", want "
                    << want.GetF64(i / es);
      return;
    }
  }
}

// Finishes `b` with output `y` and interprets it: the reference result.
Tensor Ref(Builder& b, Value* y, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> out = RunOutput(b, y, inputs);
  return out.empty() ? Tensor() : out[0];
}

// ---------------------------------------------------------------------------------- transpose

TEST(LayoutKernelTest, TransposeEveryPermutationAndDtype) {
  const std::vector<std::vector<int64_t>> shapes = {
      {3, 17, 5}, {2, 3, 4, 5}, {67, 45}, {7}, {1, 383, 1}};
  for (const std::vector<int64_t>& shape : shapes) {
    std::vector<int64_t> perm(shape.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
    do {
      for (DType dtype : kDTypes) {
        SCOPED_TRACE(::testing::Message()
                     << DTypeName(dtype) << IntsToString(shape) << " perm " << IntsToString(perm));
        Tensor x = Values(dtype, shape);
        Builder b("t");
        Tensor ref = Ref(b, b.Transpose(b.Input("x", dtype, StaticShape(shape)), perm), {x});
        ASSERT_TRUE(ref.defined());
        Tensor y(dtype, ref.shape());
        kiln_cpu::Transpose(x.data(), shape.data(), perm.data(), x.rank(), y.mutable_data(),
                            DTypeSize(dtype));
        ExpectSameBytes(y, ref);
      }
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
}

TEST(LayoutKernelTest, StridedCopyIntoStridedDestination) {
  // Copies a 3x4 block of a 5x6 f32 matrix into the transposed corner of a 6x7 one.
  std::vector<float> src(30), dst(42, -1.0f), want(42, -1.0f);
  for (int i = 0; i < 30; ++i) src[i] = static_cast<float>(i);
  const int64_t dims[] = {3, 4}, ss[] = {6, 1}, ds[] = {1, 7};
  kiln_cpu::StridedCopy(src.data() + 6 + 1, ss, dst.data(), ds, dims, 2, 4);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) want[j * 7 + i] = src[(1 + i) * 6 + 1 + j];
  }
  EXPECT_EQ(dst, want);
}

// ------------------------------------------------------------------------------------- expand

TEST(LayoutKernelTest, ExpandBroadcastsLikeTheReference) {
  struct Case {
    std::vector<int64_t> from, to;
  };
  const Case cases[] = {{{3, 1, 5}, {2, 3, 4, 5}}, {{1}, {7}},      {{17}, {3, 17}}, {{}, {2, 3}},
                        {{4, 1}, {4, 383}},        {{2, 3}, {2, 3}}};
  for (const Case& c : cases) {
    for (DType dtype : kDTypes) {
      SCOPED_TRACE(::testing::Message()
                   << DTypeName(dtype) << IntsToString(c.from) << " -> " << IntsToString(c.to));
      Tensor x = Values(dtype, c.from);
      Builder b("e");
      Tensor ref =
          Ref(b, b.Expand(b.Input("x", dtype, StaticShape(c.from)), StaticShape(c.to)), {x});
      ASSERT_TRUE(ref.defined());
      Tensor y(dtype, ref.shape());
      kiln_cpu::Expand(x.data(), c.from.data(), x.rank(), y.mutable_data(), ref.shape().data(),
                       ref.rank(), DTypeSize(dtype));
      ExpectSameBytes(y, ref);
    }
  }
}

// -------------------------------------------------------------------------------------- slice

// The clamped ONNX start of a static slice (the rule the cpu emitter bakes into the call).
int64_t OnnxStart(int64_t dim, int64_t start, int64_t step) {
  if (dim == 0) return 0;
  if (start < 0) start += dim;
  return step > 0 ? std::clamp<int64_t>(start, 0, dim) : std::clamp<int64_t>(start, 0, dim - 1);
}

TEST(LayoutKernelTest, SliceStepsClampsAndNegativeAxes) {
  struct Case {
    std::vector<int64_t> shape;
    std::vector<int64_t> starts, ends, axes, steps;
  };
  const int64_t kBig = int64_t{1} << 40;
  const Case cases[] = {
      {{3, 17, 5}, {1}, {3}, {1}, {}},                        // one middle axis
      {{3, 17, 5}, {0, 2, 1}, {3, 15, 4}, {}, {1, 3, 2}},     // steps on every axis
      {{3, 17, 5}, {-1, 16}, {-kBig, 0}, {0, -2}, {-1, -4}},  // negative steps, reversed
      {{3, 17, 5}, {-4}, {kBig}, {-1}, {}},                   // clamped negative start
      {{383}, {5}, {5}, {}, {}},                              // empty result
      {{2, 4, 6}, {1, 0}, {2, -1}, {2, 1}, {1, 2}},           // unordered axes
  };
  for (const Case& c : cases) {
    for (DType dtype : kDTypes) {
      SCOPED_TRACE(::testing::Message()
                   << DTypeName(dtype) << IntsToString(c.shape) << " starts "
                   << IntsToString(c.starts) << " steps " << IntsToString(c.steps));
      Tensor x = Values(dtype, c.shape);
      Builder b("s");
      SliceOptions o;
      for (int64_t s : c.starts) o.starts.push_back(s);
      for (int64_t e : c.ends) o.ends.push_back(e);
      o.axes = c.axes;
      o.steps = c.steps;
      Tensor ref = Ref(b, b.Slice(b.Input("x", dtype, StaticShape(c.shape)), o), {x});
      ASSERT_TRUE(ref.defined());
      const int64_t rank = x.rank();
      std::vector<int64_t> starts(rank, 0), steps(rank, 1);
      for (size_t i = 0; i < c.starts.size(); ++i) {
        int64_t a = c.axes.empty() ? static_cast<int64_t>(i) : c.axes[i];
        if (a < 0) a += rank;
        steps[a] = c.steps.empty() ? 1 : c.steps[i];
        starts[a] = OnnxStart(c.shape[a], c.starts[i], steps[a]);
      }
      Tensor y(dtype, ref.shape());
      kiln_cpu::Slice(x.data(), c.shape.data(), starts.data(), steps.data(), rank, y.mutable_data(),
                      ref.shape().data(), DTypeSize(dtype));
      ExpectSameBytes(y, ref);
    }
  }
}

// ------------------------------------------------------------------------------ concat, split

TEST(LayoutKernelTest, ConcatAndSplitEveryAxis) {
  // Three operands of [3, 17, 5] with sizes {2, 0, 5} along the cut axis.
  const std::vector<int64_t> base = {3, 17, 5};
  const std::vector<int64_t> sizes = {2, 0, 5};
  for (int64_t axis = -3; axis < 3; ++axis) {
    const int64_t a = axis < 0 ? axis + 3 : axis;
    for (DType dtype : kDTypes) {
      SCOPED_TRACE(::testing::Message() << DTypeName(dtype) << " axis " << axis);
      std::vector<Tensor> parts;
      Builder b("c");
      std::vector<Value*> ins;
      for (size_t t = 0; t < sizes.size(); ++t) {
        std::vector<int64_t> s = base;
        s[a] = sizes[t];
        Tensor p = Values(dtype, s);
        // Distinct operands: offset each one's values.
        for (int64_t i = 0; i < p.numel() && dtype != DType::kBool; ++i) {
          p.SetF64(i, p.GetF64(i) + 100.0 * static_cast<double>(t));
        }
        parts.push_back(p);
        ins.push_back(b.Input("x" + std::to_string(t), dtype, StaticShape(s)));
      }
      Tensor ref = Ref(b, b.Concat(ins, axis), parts);
      ASSERT_TRUE(ref.defined());
      int64_t outer = 1, inner = 1;
      for (int64_t i = 0; i < a; ++i) outer *= base[i];
      for (int64_t i = a + 1; i < 3; ++i) inner *= base[i];
      std::vector<const void*> srcs;
      std::vector<int64_t> row_bytes;
      for (size_t t = 0; t < parts.size(); ++t) {
        srcs.push_back(parts[t].data());
        row_bytes.push_back(sizes[t] * inner * DTypeSize(dtype));
      }
      Tensor y(dtype, ref.shape());
      kiln_cpu::Concat(srcs.data(), row_bytes.data(), 3, outer, y.mutable_data());
      ExpectSameBytes(y, ref);

      // split of the concatenation gives the parts back; compare with the reference split.
      Builder bs("sp");
      std::vector<Value*> outs =
          bs.Split(bs.Input("x", dtype, StaticShape(ref.shape())), sizes, axis);
      ASSERT_EQ(outs.size(), 3u) << bs.status().ToString();
      for (Value* o : outs) bs.Output(o);
      std::vector<Tensor> ref_parts = RunGraph(bs, {ref});
      ASSERT_EQ(ref_parts.size(), 3u);
      std::vector<Tensor> got;
      std::vector<void*> dsts;
      for (const Tensor& p : ref_parts) {
        got.emplace_back(dtype, p.shape());
        dsts.push_back(got.back().mutable_data());
      }
      kiln_cpu::Split(y.data(), dsts.data(), row_bytes.data(), 3, outer);
      for (size_t t = 0; t < 3; ++t) {
        ExpectSameBytes(got[t], ref_parts[t]);
        ExpectSameBytes(got[t], parts[t]);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------- pad

TEST(LayoutKernelTest, PadConstantReflectEdgeAndCrop) {
  struct Case {
    std::vector<int64_t> shape, pads;
    const char* mode;
    double value;
  };
  const Case cases[] = {
      {{3, 4, 5}, {1, 0, 2, 2, 3, 1}, "constant", 1.5},
      {{3, 4, 5}, {-1, 2, 0, 0, -1, 3}, "constant", -2.75},  // crop and pad at once
      {{3, 4, 5}, {2, 3, 4, 2, 3, 4}, "reflect", 0.0},       // wider than one reflection
      {{3, 4, 5}, {2, 0, 7, 1, 5, 0}, "edge", 0.0},
      {{17}, {3, 4}, "reflect", 0.0},
      {{1, 6}, {2, 1, 3, 2}, "reflect", 0.0},            // a size-1 axis reflects onto itself
      {{2, 0, 3}, {0, 1, 0, 0, 2, 0}, "constant", 7.0},  // empty axis, constant fill
  };
  for (const Case& c : cases) {
    for (DType dtype : kDTypes) {
      SCOPED_TRACE(::testing::Message() << DTypeName(dtype) << IntsToString(c.shape) << " pads "
                                        << IntsToString(c.pads) << " " << c.mode);
      Tensor x = Values(dtype, c.shape);
      Builder b("p");
      Tensor ref =
          Ref(b, b.Pad(b.Input("x", dtype, StaticShape(c.shape)), c.pads, c.mode, c.value), {x});
      ASSERT_TRUE(ref.defined());
      // The fill in the dtype, converted as the reference (and the cpu emitter) do.
      Tensor fill = Tensor::FromF64(dtype, {}, std::vector<double>{c.value});
      const std::string mode = c.mode;
      const kiln_cpu::PadMode m = mode == "reflect" ? kiln_cpu::PadMode::kReflect
                                  : mode == "edge"  ? kiln_cpu::PadMode::kEdge
                                                    : kiln_cpu::PadMode::kConstant;
      Tensor y(dtype, ref.shape());
      kiln_cpu::Pad(x.data(), c.shape.data(), c.pads.data(), x.rank(), m, fill.data(),
                    y.mutable_data(), ref.shape().data(), DTypeSize(dtype));
      ExpectSameBytes(y, ref);
    }
  }
}

// --------------------------------------------------------------------------- gather, embedding

template <typename I>
void CheckGather(DType index_dtype) {
  const std::vector<int64_t> shape = {3, 17, 5};
  const std::vector<int64_t> idx_values = {2, -1, 0, 1, -3, 2};  // valid for every axis
  for (int64_t axis = -3; axis < 3; ++axis) {
    const int64_t a = axis < 0 ? axis + 3 : axis;
    for (DType dtype : kDTypes) {
      SCOPED_TRACE(::testing::Message() << DTypeName(dtype) << " axis " << axis << " indices "
                                        << DTypeName(index_dtype));
      Tensor x = Values(dtype, shape);
      Tensor idx(index_dtype, {2, 3});
      for (size_t i = 0; i < idx_values.size(); ++i) {
        idx.mutable_data_as<I>()[i] = static_cast<I>(idx_values[i]);
      }
      Builder b("g");
      Value* xv = b.Input("x", dtype, StaticShape(shape));
      Value* iv = b.Input("i", index_dtype, {2, 3});
      Tensor ref = Ref(b, b.Gather(xv, iv, axis), {x, idx});
      ASSERT_TRUE(ref.defined());
      int64_t outer = 1, inner = 1;
      for (int64_t i = 0; i < a; ++i) outer *= shape[i];
      for (int64_t i = a + 1; i < 3; ++i) inner *= shape[i];
      Tensor y(dtype, ref.shape());
      EXPECT_EQ(kiln_cpu::Gather(x.data(), idx.data_as<I>(), 6, y.mutable_data(), outer, shape[a],
                                 inner, DTypeSize(dtype)),
                0);
      ExpectSameBytes(y, ref);
    }
  }
}

TEST(LayoutKernelTest, GatherEveryAxisWithI64AndI32Indices) {
  CheckGather<int64_t>(DType::kI64);
  CheckGather<int32_t>(DType::kI32);
}

TEST(LayoutKernelTest, EmbeddingRows) {
  Tensor w = Values(DType::kF32, {383, 17});
  Tensor ids = I64({2, 4}, {0, 382, 5, -1, 17, 17, 100, -383});
  Builder b("emb");
  Value* wv = b.Input("w", DType::kF32, {383, 17});
  Value* iv = b.Input("ids", DType::kI64, {2, 4});
  Tensor ref = Ref(b, b.Embedding(wv, iv), {w, ids});
  ASSERT_TRUE(ref.defined());
  Tensor y(DType::kF32, {2, 4, 17});
  EXPECT_EQ(kiln_cpu::Gather(w.data(), ids.data_as<int64_t>(), 8, y.mutable_data(), 1, 383, 17, 4),
            0);
  ExpectSameBytes(y, ref);
}

TEST(LayoutKernelTest, OutOfRangeIndicesGiveZeroRowsAndACount) {
  // The reference rejects the index; the kernel must not read out of bounds: zero rows, count 2.
  Tensor w = Values(DType::kF32, {4, 3});
  Tensor ids = I64({4}, {1, 4, -5, 3});
  Builder b("emb");
  Value* wv = b.Input("w", DType::kF32, {4, 3});
  Value* iv = b.Input("ids", DType::kI64, {4});
  b.Output(b.Embedding(wv, iv));
  ExpectError(RunError(b, {w, ids}), {"out of range"});
  std::vector<float> y(12, -1.0f);
  EXPECT_EQ(kiln_cpu::Gather(w.data(), ids.data_as<int64_t>(), 4, y.data(), 1, 4, 3, 4), 2);
  EXPECT_EQ(y, (std::vector<float>{4, 5, 6, 0, 0, 0, 0, 0, 0, 10, 11, 12}));
}

}  // namespace
}  // namespace kiln::testutil
