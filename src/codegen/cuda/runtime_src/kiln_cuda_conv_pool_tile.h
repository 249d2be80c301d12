// The tile of a convolution with a fused max pool (conv2d's max_pool attribute), in plain C++:
// the few-channel kernel's launcher (kiln_cuda_conv_fixed_channels.cuh) sizes its tiles with it,
// and the emitter (src/codegen/cuda/conv_config.cc, conv.cc) checks shared memory and counts CTAs
// with the same numbers.
#ifndef KILN_CUDA_CONV_POOL_TILE_H_
#define KILN_CUDA_CONV_POOL_TILE_H_

#include <cstdint>

namespace kiln_cuda::fixed_channels {

/// A max pool after the conv: window, stride and leading pads (padding is -inf, as in
/// max_pool2d), and the pooled output's height and width.
struct MaxPool {
  int kh, kw, sh, sw, pt, pl;
  int64_t p, q;
};

/// A tile of pooled outputs (ph rows, pw columns) and the conv outputs its windows read (th, tw).
struct PoolTile {
  int ph = 0, pw = 0, th = 0, tw = 0;
};

/// The tile of the most pooled pixels whose windows read at most `pixels` conv pixels, no larger
/// than the pooled output (the wider of equals); ph = 0 when not even one window fits.
inline PoolTile PooledTile(const MaxPool& pool, int pixels) {
  PoolTile best;
  for (int w = 1; w <= pool.q; ++w) {
    const int tw = (w - 1) * pool.sw + pool.kw;
    const int th_max = pixels / tw;
    if (th_max < pool.kh) break;
    int h = (th_max - pool.kh) / pool.sh + 1;
    if (h > pool.p) h = static_cast<int>(pool.p);
    if (h * w >= best.ph * best.pw) best = {h, w, (h - 1) * pool.sh + pool.kh, tw};
  }
  return best;
}

}  // namespace kiln_cuda::fixed_channels

#endif  // KILN_CUDA_CONV_POOL_TILE_H_
