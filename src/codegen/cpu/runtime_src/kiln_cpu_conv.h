// kiln_cpu: 2-D convolution kernels (see kiln_cpu.h for the conventions).
//
// Layouts (kiln's conv2d / conv_transpose2d ops):
//   nhwc: x [N, H, W, C], y [N, OH, OW, O]; conv2d w [O, kh, kw, C/g], transpose w [C, kh, kw, O/g]
//   nchw: x [N, C, H, W], y [N, O, OH, OW]; conv2d w [O, C/g, kh, kw], transpose w [C, O/g, kh, kw]
//
// Strategy (nhwc is the fast path; kiln's layout pass makes conv nets nhwc):
// - nhwc conv2d, any groups: oneDNN's convolution primitive (brgemm / JIT kernels on its own
//   blocked weight layout). For constant weights (ConvShape::const_weights) the primitive and
//   reordered weights are built on the first call for a (geometry, weight pointer) pair and
//   cached process-wide (bounded; thread-safe), so later calls only execute; computed weights
//   are reordered on every call. Each call re-checks a fingerprint of sampled weight values, so weights
//   that changed under the same pointer (a freed instance's memory reused) are reordered again.
//   The loops below serve what oneDNN rejects.
// - depthwise (C/g == 1, groups > 1): direct loops, vectorised over channels in nhwc.
// - 1x1, stride 1, no pad: one sgemm per group over all pixels of the batch.
// - otherwise im2col in bands of output rows (the column buffer stays <= ~8 MiB) + sgemm per
//   group, written straight into y.
// - conv_transpose2d: sgemm into columns over bands of input rows, then col2im scatter-adds.
// Scratch (the column buffers, oneDNN's scratchpad) is thread_local and grows as needed: reused
// across calls, so a model allocates it once per thread; calls on different threads never share
// it.
#ifndef KILN_CPU_CONV_H_
#define KILN_CPU_CONV_H_

#include <cstdint>

namespace kiln_cpu {

/// The geometry of one convolution, all concrete. `c` and `o` count all channels (not per group);
/// pads are the leading ones (top, left): the trailing pads follow from oh, ow.
struct ConvShape {
  int64_t n = 1, c = 1, h = 1, w = 1;  // input
  int64_t o = 1, oh = 1, ow = 1;       // output
  int64_t kh = 1, kw = 1;              // kernel
  int64_t sh = 1, sw = 1;              // stride
  int64_t pt = 0, pl = 0;              // leading padding
  int64_t dh = 1, dw = 1;              // dilation
  int64_t groups = 1;
  bool nhwc = true;
  // w holds model constants (a weight or constant of the graph): the oneDNN path may keep a
  // repacked copy cached by pointer. Otherwise (weights computed at run time) it repacks per call.
  bool const_weights = false;
};

/// y = conv2d(x, w) without bias or epilogue (PyTorch semantics; oh, ow as kiln's shape inference
/// computes them). Pre: groups divides c and o; weights as in the file comment. y is only written.
/// In nhwc with s.const_weights the first call for a geometry and weight pointer builds and caches
/// oneDNN's primitive and repacked weights (milliseconds); w's values are meant to stay fixed for
/// that pointer
/// (changes are caught by sampling, not by reading all of w). Thread-safe.
void Conv2d(const ConvShape& s, const float* x, const float* w, float* y);

/// Whether Conv2d may use oneDNN (default true); false makes it run the sgemm / direct loops,
/// which otherwise serve only what oneDNN rejects. For tests of those loops.
void SetConv2dUsesOneDnn(bool enabled);

/// y = conv_transpose2d(x, w): every input pixel (ih, iw) adds x * w[tap] to output pixel
/// (ih*sh - pt + i*dh, iw*sw - pl + j*dw) when inside y; output_padding is implied by oh, ow.
/// Here `c` is the input channel count and `o` the output's (w is [c, ..., o/groups]). y is only
/// written (zeroed first).
void ConvTranspose2d(const ConvShape& s, const float* x, const float* w, float* y);

}  // namespace kiln_cpu

#endif  // KILN_CPU_CONV_H_
