// The memory-bound op families of the CUDA targets on a GPU (ctest label gpu; skipped without a
// GPU): softmax / log_softmax, layer_norm / rms_norm / group_norm, reductions, layout and
// indexing ops, pools, resize and the vectorised elementwise path, over f32, f16 and bf16, with odd
// row lengths (1, 17, 4097: element accesses; 1000, 1536, 2056, 9000: the vector kernels, softmax
// with a warp, 128, 256 or 1024 threads per row and 2 or 4 vectors per thread (several rows per
// block for the symbolic batch), the norms with a warp per row and 4, 8 or 16 vectors per lane or
// a 256-thread block (9000: the rest re-read); softmax 40000: past what a 1024-thread block keeps
// in registers) and a symbolic batch, against the reference interpreter (double precision).
//
// Tolerances: |got - want| <= atol + rtol * |want| per element. f32: rtol 1e-4, atol 1e-5 (the
// kernels accumulate in f32 where the reference uses double). f16 / bf16: rtol 2e-2, atol 2e-2
// (one rounding of the result to the storage dtype: bf16 has 8 significant bits, ~4e-3). Layout
// ops move bits, but the harness compares floats with the same tolerance; integers are exact.
#include <string>

#include "tests/gpu/cuda_test_util.h"

namespace kiln {
namespace {

// `text` with every "$T" replaced by `dtype` ("f32", "f16", "bf16").
std::string WithDType(std::string text, const std::string& dtype) {
  for (size_t at = text.find("$T"); at != std::string::npos;
       at = text.find("$T", at + dtype.size())) {
    text.replace(at, 2, dtype);
  }
  return text;
}

GpuOptions OptionsFor(const std::string& dtype) {
  GpuOptions o;
  if (dtype == "f32") {
    o.rtol = 1e-4;
    o.atol = 1e-5;
  }
  o.bindings = {{{"N", 1}}, {{"N", 5}}};
  return o;
}

class CudaOpsTest : public testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaOpsTest, testing::Values("f32", "f16", "bf16"),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST_P(CudaOpsTest, SoftmaxAndLogSoftmax) {
  const std::string t = GetParam();
  ExpectCudaMatchesInterpreter(
      ParseVerified(WithDType(
          R"(graph @softmax(%a: $T[N,1], %b: $T[N,17], %c: $T[N,1000], %d: $T[2,4097], %e: $T[3,9000], %f: $T[N,5,7], %k: $T[N,1536], %m: $T[N,2056], %p: $T[2,40000]) -> (%sa, %sb, %sc, %sd, %se, %sf, %lb, %ld, %lf, %sk, %lm, %sp, %lp) where N in [1, 8] {
  %sa = softmax(%a) {axis=-1} : $T[N,1]
  %sb = softmax(%b) {axis=-1} : $T[N,17]
  %sc = softmax(%c) {axis=-1} : $T[N,1000]
  %sd = softmax(%d) {axis=-1} : $T[2,4097]
  %se = softmax(%e) {axis=1} : $T[3,9000]
  %sf = softmax(%f) {axis=1} : $T[N,5,7]
  %lb = log_softmax(%b) {axis=-1} : $T[N,17]
  %ld = log_softmax(%d) {axis=-1} : $T[2,4097]
  %lf = log_softmax(%f) {axis=0} : $T[N,5,7]
  %sk = softmax(%k) {axis=-1} : $T[N,1536]
  %lm = log_softmax(%m) {axis=-1} : $T[N,2056]
  %sp = softmax(%p) {axis=-1} : $T[2,40000]
  %lp = log_softmax(%p) {axis=-1} : $T[2,40000]
})",
          t)),
      OptionsFor(t));
}

TEST_P(CudaOpsTest, LayerNormRmsNormGroupNorm) {
  const std::string t = GetParam();
  ExpectCudaMatchesInterpreter(
      ParseVerified(WithDType(
          R"(graph @norms(%a: $T[N,1], %b: $T[N,17], %c: $T[N,1000], %d: $T[2,4097], %e: $T[3,9000], %f: $T[N,3,6], %wb: $T[17], %bb: $T[17], %wc: $T[1000], %bc: $T[1000], %wd: $T[4097], %we: $T[9000], %wf: $T[3,6], %g: $T[N,8,5,3], %h: $T[N,4,4,6], %gw: $T[8], %gb: $T[8], %hw: $T[6], %hb: $T[6], %k: $T[N,1536], %wk: $T[1536], %bk: $T[1536], %m: $T[N,2056], %wm: $T[2056]) -> (%la, %lb, %lc, %ld, %le, %lf, %rb, %rd, %re, %rf, %gn, %gh, %lk, %rm) where N in [1, 8] {
  %la = layer_norm(%a) {eps=1e-05} : $T[N,1]
  %lb = layer_norm(%b, %wb, %bb) {eps=1e-05} : $T[N,17]
  %lc = layer_norm(%c, %wc, %bc) {eps=1e-05} : $T[N,1000]
  %ld = layer_norm(%d, %wd) {eps=1e-05} : $T[2,4097]
  %le = layer_norm(%e) {eps=1e-05} : $T[3,9000]
  %lf = layer_norm(%f, %wf) {axis=1, eps=1e-05} : $T[N,3,6]
  %rb = rms_norm(%b, %wb) {eps=1e-06} : $T[N,17]
  %rd = rms_norm(%d) {eps=1e-06} : $T[2,4097]
  %re = rms_norm(%e, %we) {eps=1e-06} : $T[3,9000]
  %rf = rms_norm(%f, %wf) {axis=-2, eps=1e-06} : $T[N,3,6]
  %gn = group_norm(%g, %gw, %gb) {groups=4} : $T[N,8,5,3]
  %gh = group_norm(%h, %hw, %hb) {groups=3, layout=nhwc} : $T[N,4,4,6]
  %lk = layer_norm(%k, %wk, %bk) {eps=1e-05} : $T[N,1536]
  %rm = rms_norm(%m, %wm) {eps=1e-06} : $T[N,2056]
})",
          t)),
      OptionsFor(t));
}

// batch_norm left unfolded (an input, not a conv, feeds it): along axis 1 and the last axis.
TEST_P(CudaOpsTest, BatchNorm) {
  const std::string t = GetParam();
  ExpectCudaMatchesInterpreter(
      ParseVerified(WithDType(
          R"(graph @bn(%x: $T[N,6,5,7], %y: $T[N,9,6], %s: $T[6], %b: $T[6], %m: $T[6], %v: $T[6], %s2: $T[6], %v2: $T[6]) -> (%a, %c) where N in [1, 8] {
  %half = constant [0.5] : $T[]
  %va = abs(%v) : $T[6]
  %vp = add(%va, %half) : $T[6]
  %a = batch_norm(%x, %s, %b, %m, %vp) {eps=1e-05} : $T[N,6,5,7]
  %va2 = abs(%v2) : $T[6]
  %vp2 = add(%va2, %half) : $T[6]
  %c = batch_norm(%y, %s2, %b, %m, %vp2) {eps=1e-03, axis=-1} : $T[N,9,6]
})",
          t)),
      OptionsFor(t));
}

TEST_P(CudaOpsTest, Reductions) {
  const std::string t = GetParam();
  GpuOptions o = OptionsFor(t);
  if (t == "f32") o.rtol = 2e-4;  // sums of 4097 and 9000 values
  ExpectCudaMatchesInterpreter(
      ParseVerified(WithDType(
          R"(graph @reduce(%a: $T[N,1], %b: $T[N,17], %c: $T[N,1000], %d: $T[2,4097], %e: $T[3,9000], %f: $T[N,5,7,3]) -> (%s1, %s2, %s3, %s4, %s5, %m1, %m2, %x1, %x2, %n1, %n2, %p1, %all, %mid, %outer) where N in [1, 8] {
  %s1 = reduce_sum(%a) {axes=[-1]} : $T[N]
  %s2 = reduce_sum(%b) {axes=[-1], keepdims=true} : $T[N,1]
  %s3 = reduce_sum(%c) {axes=[1]} : $T[N]
  %s4 = reduce_sum(%d) {axes=[1]} : $T[2]
  %s5 = reduce_sum(%e) {axes=[1]} : $T[3]
  %m1 = reduce_mean(%c) {axes=[-1]} : $T[N]
  %m2 = reduce_mean(%f) {axes=[1,3]} : $T[N,7]
  %x1 = reduce_max(%d) {axes=[-1]} : $T[2]
  %x2 = reduce_max(%f) {axes=[0,2]} : $T[5,3]
  %n1 = reduce_min(%b) {axes=[-1]} : $T[N]
  %n2 = reduce_min(%f) {axes=[1], keepdims=true} : $T[N,1,7,3]
  %p1 = reduce_prod(%b) {axes=[-1]} : $T[N]
  %all = reduce_sum(%f) : $T[]
  %mid = reduce_mean(%f) {axes=[1,2]} : $T[N,3]
  %outer = reduce_max(%e) {axes=[0]} : $T[9000]
})",
          t)),
      o);
}

TEST_P(CudaOpsTest, TransposeConcatSplitSliceExpand) {
  // %nhwc4 and %t5: new last axes of 4 and 2 elements, written as one word per row; %t6: even
  // extents, which 16-bit elements move as pairs through 64x64 tiles (partial tiles at both edges);
  // %t7: extents that are multiples of 8, moved as 16-byte vectors (partial tiles at both edges,
  // an axis between the two transposed ones). StridedCopy in words wider than an element: %pt
  // (a patch-extraction transpose keeping rows of 16), %pc (a concat of 192-element blocks), %pr
  // (a row expanded over the batch); %ps (a slice starting one element in) stays per element.
  const std::string t = GetParam();
  ExpectCudaMatchesInterpreter(
      ParseVerified(WithDType(
          R"(graph @layout(%x: $T[N,33,65], %y: $T[N,2,3,17], %v: $T[5,1], %w: $T[N,7,65], %im: $T[N,3,5,40], %e: $T[N,70,130], %q: $T[N,72,3,136], %p: $T[N,3,2,16,2,16], %row: $T[1,1,24]) -> (%t1, %t2, %t3, %t4, %t5, %t6, %t7, %c, %s1, %s2, %s3, %sl, %sy, %ex, %nhwc, %nhwc4, %pt, %pc, %pr, %ps) where N in [1, 8] {
  %pt = transpose(%p) {perm=[0,2,4,1,3,5]} : $T[N,2,2,3,16,16]
  %pc = concat(%pt, %pt) {axis=3} : $T[N,2,2,6,16,16]
  %pr = expand(%row) {shape=[N,2,24]} : $T[N,2,24]
  %ps = slice(%w) {starts=[1], ends=[65], axes=[2]} : $T[N,7,64]
  %t1 = transpose(%x) {perm=[0,2,1]} : $T[N,65,33]
  %nhwc = transpose(%im) {perm=[0,2,3,1]} : $T[N,5,40,3]
  %im4 = pad(%im) {pads=[0,0,0,0,0,1,0,0]} : $T[N,4,5,40]
  %nhwc4 = transpose(%im4) {perm=[0,2,3,1]} : $T[N,5,40,4]
  %t5 = transpose(%y) {perm=[0,3,2,1]} : $T[N,17,3,2]
  %t6 = transpose(%e) {perm=[0,2,1]} : $T[N,130,70]
  %t7 = transpose(%q) {perm=[0,3,2,1]} : $T[N,136,3,72]
  %t2 = transpose(%x) {perm=[1,0,2]} : $T[33,N,65]
  %t3 = transpose(%y) {perm=[3,1,0,2]} : $T[17,2,N,3]
  %t4 = transpose(%y) {perm=[0,3,1,2]} : $T[N,17,2,3]
  %c = concat(%x, %w, %x) {axis=1} : $T[N,73,65]
  %s1, %s2, %s3 = split(%x) {axis=2, sizes=[1,40,24]} : $T[N,33,1], $T[N,33,40], $T[N,33,24]
  %sl = slice(%x) {starts=[1,64], ends=[30,0], axes=[1,2], steps=[4,-3]} : $T[N,8,22]
  %sy = slice(%y) {starts=[0], ends=[N], axes=[0]} : $T[N,2,3,17]
  %ex = expand(%v) {shape=[N,5,4]} : $T[N,5,4]
})",
          t)),
      OptionsFor(t));
}

TEST_P(CudaOpsTest, PadGatherEmbedding) {
  // %pp, %pl, %pm: constant pads of one axis, as row blocks (whole NCHW planes in 16-byte vectors,
  // the last axis, a crop and a pad of one axis).
  const std::string t = GetParam();
  ExpectCudaMatchesInterpreter(
      ParseVerified(WithDType(
          R"(graph @index(%x: $T[N,6,7], %planes: $T[N,3,5,40], %i: i64[4], %ids: i32[N,3], %table: $T[10,17]) -> (%pc, %pr, %pe, %pn, %pp, %pl, %pm, %g0, %g1, %em) where N in [1, 8] {
  %pc = pad(%x) {pads=[0,1,2,0,3,1], value=0.5} : $T[N,10,10]
  %pp = pad(%planes) {pads=[0,1,0,0,0,2,0,0]} : $T[N,6,5,40]
  %pl = pad(%x) {pads=[0,0,2,0,0,1], value=-1.5} : $T[N,6,10]
  %pm = pad(%x) {pads=[0,-2,0,0,1,0]} : $T[N,5,7]
  %pr = pad(%x) {pads=[0,2,3,0,3,5], mode=reflect} : $T[N,11,15]
  %pe = pad(%x) {pads=[0,2,3,0,3,5], mode=edge} : $T[N,11,15]
  %pn = pad(%x) {pads=[0,-1,1,0,-2,1], mode=constant} : $T[N,3,9]
  %g0 = gather(%x, %i) {axis=1} : $T[N,4,7]
  %g1 = gather(%x, %ids) {axis=2} : $T[N,6,N,3]
  %em = embedding(%table, %ids) : $T[N,3,17]
})",
          t)),
      OptionsFor(t));
}

// gather_elements along the first, a middle and the last axis (indices in [0, 2]: the inputs'
// integers), with smaller index dims than data's; arg_max / arg_min along each kind of axis, of
// floats and of integers (in [0, 2]: many ties, first and last index).
TEST_P(CudaOpsTest, GatherElementsArgMaxArgMin) {
  const std::string t = GetParam();
  ExpectCudaMatchesInterpreter(
      ParseVerified(WithDType(
          R"(graph @elems(%x: $T[N,6,7], %w: $T[3,5], %i0: i64[N,6,7], %i1: i32[N,4,3], %i2: i64[2,5], %k: i32[N,9,4]) -> (%g0, %g1, %g2, %a0, %a1, %a2, %b0, %b1) where N in [1, 8] {
  %g0 = gather_elements(%x, %i0) {axis=1} : $T[N,6,7]
  %g1 = gather_elements(%x, %i1) {axis=-1} : $T[N,4,3]
  %g2 = gather_elements(%w, %i2) {axis=0} : $T[2,5]
  %a0 = arg_max(%x) {axis=0} : i64[1,6,7]
  %a1 = arg_min(%x) {axis=1, keepdims=false} : i64[N,7]
  %a2 = arg_max(%x) {axis=-1, select_last_index=true} : i64[N,6,1]
  %b0 = arg_max(%k) {axis=1, keepdims=false} : i64[N,4]
  %b1 = arg_min(%k) {axis=2, select_last_index=true} : i64[N,9,1]
})",
          t)),
      OptionsFor(t));
}

TEST_P(CudaOpsTest, Pools) {
  const std::string t = GetParam();
  ExpectCudaMatchesInterpreter(
      ParseVerified(WithDType(
          R"(graph @pools(%x: $T[N,9,9,8], %y: $T[N,4,7,7], %z: $T[N,6,5,24], %u: $T[N,5,5,6]) -> (%mp, %mq, %ap, %aq, %gp, %gm, %gq, %mz, %au) where N in [1, 8] {
  %mp = max_pool2d(%x) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : $T[N,5,5,8]
  %mz = max_pool2d(%z) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : $T[N,3,3,24]
  %au = avg_pool2d(%u) {kernel=[2,2], layout=nhwc} : $T[N,4,4,6]
  %mq = max_pool2d(%y) {kernel=[2,3], stride=[1,2], dilation=[2,1]} : $T[N,4,5,3]
  %ap = avg_pool2d(%y) {kernel=[2,2], stride=[2,2], ceil_mode=true} : $T[N,4,4,4]
  %aq = avg_pool2d(%x) {kernel=[3,3], pad=[1,1,1,1], count_include_pad=true, layout=nhwc} : $T[N,9,9,8]
  %gp = global_avg_pool2d(%x) {layout=nhwc} : $T[N,1,1,8]
  %gm = global_max_pool2d(%y) : $T[N,4,1,1]
  %gq = global_avg_pool2d(%y) : $T[N,4,1,1]
})",
          t)),
      OptionsFor(t));
}

TEST_P(CudaOpsTest, Resize) {
  // Every coordinate and nearest mode, both layouts, sizes and scales; nearest on i64 too.
  const std::string t = GetParam();
  ExpectCudaMatchesInterpreter(
      ParseVerified(WithDType(
          R"(graph @resize(%x: $T[N,3,5,7], %z: $T[N,6,4,2], %i: i64[1,2,2,2]) -> (%a, %b, %c, %d, %e, %f, %g) where N in [1, 8] {
  %a = resize(%x) {scales=[2.0,2.0]} : $T[N,3,10,14]
  %b = resize(%x) {mode=bilinear, size=[9,4]} : $T[N,3,9,4]
  %c = resize(%x) {mode=bilinear, size=[9,13], coordinate_mode=align_corners} : $T[N,3,9,13]
  %d = resize(%z) {mode=bilinear, scales=[1.5,2.5], coordinate_mode=pytorch_half_pixel, layout=nhwc} : $T[N,9,10,2]
  %e = resize(%z) {size=[3,7], coordinate_mode=asymmetric, nearest_mode=ceil, layout=nhwc} : $T[N,3,7,2]
  %f = resize(%x) {mode=bilinear, size=[1,3], coordinate_mode=pytorch_half_pixel} : $T[N,3,1,3]
  %g = resize(%i) {scales=[2.0,3.0], nearest_mode=round_prefer_ceil} : i64[1,2,4,6]
})",
          t)),
      OptionsFor(t));
}

TEST_P(CudaOpsTest, VectorisedElementwise) {
  // [N, 1000] and [N, 37] (a tail after the last full vector); a broadcast scalar operand keeps
  // the vector path, a broadcast row of 37 takes the scalar one; a cast mixes element sizes.
  // %pe: a [1, 3, 40] table added to every image, %rs: a per-row scale (constant along the
  // innermost dim): vectors along the innermost dim of a two-dim space.
  const std::string t = GetParam();
  ExpectCudaMatchesInterpreter(
      ParseVerified(WithDType(
          R"(graph @ew(%a: $T[N,1000], %b: $T[N,1000], %c: $T[], %d: $T[N,37], %r: $T[37], %x: $T[N,3,40], %pos: $T[1,3,40], %h: $T[N,16,24], %sc: $T[N,16,1]) -> (%y, %z, %w, %pe, %rs) where N in [1, 8] {
  %s = add(%a, %b) : $T[N,1000]
  %m = mul(%s, %c) : $T[N,1000]
  %y = gelu(%m) : $T[N,1000]
  %e = sub(%d, %r) : $T[N,37]
  %z = exp(%e) : $T[N,37]
  %q = mul(%d, %d) : $T[N,37]
  %w = cast(%q) {to=f32} : f32[N,37]
  %pe = add(%x, %pos) : $T[N,3,40]
  %rs = mul(%h, %sc) : $T[N,16,24]
})",
          t)),
      OptionsFor(t));
}

}  // namespace
}  // namespace kiln
