// Host-only check, compiled with nvcc and run by CudaCompileTest.AttentionSm90TileAddressing (no
// GPU needed): the wgmma attention kernel's LoadTile computes each thread's shared-memory address
// once and advances it by a constant per pass of kStep rows. That holds when moving kStep rows
// moves whole 128-byte-swizzle atoms; this evaluates the CuTe layouts of every Q, K and V tile the
// kernel instantiates (both dtypes' element size is 2 bytes: f16 stands for both) at every
// (thread, pass) and compares. Exit status 0 when every address matches; otherwise the first
// mismatch is printed.
#include <cstdio>

#include "kiln_cuda.cuh"
#include "kiln_cuda_attention_sm90.cuh"

namespace kiln_rt {
void DeviceReportError(const char*, const char*) {}
}  // namespace kiln_rt

namespace {

// offset(row, col) for `rows` x `cols` tiles loaded by kThreads threads in 16-byte chunks.
template <int kRows, int kCols, int kThreads, class Offset>
bool Check(const char* what, Offset offset) {
  constexpr int kChunks = kCols / 8, kStep = kThreads / kChunks;
  const long step = offset(kStep, 0) - offset(0, 0);
  for (int t = 0; t < kThreads; ++t) {
    const int r = t / kChunks, col = t % kChunks * 8;
    for (int i = 0; i < kRows / kStep; ++i) {
      const long want = offset(r + i * kStep, col), got = offset(r, col) + i * step;
      if (want != got) {
        std::printf("%s: thread %d pass %d (row %d, col %d): offset %ld, LoadTile's %ld\n", what, t,
                    i, r + i * kStep, col, want, got);
        return false;
      }
    }
  }
  return true;
}

// The kernel's tensors over a 1024-byte-aligned host buffer: the swizzle acts on the byte address
// as in shared memory, so &t(row, col) - base is the kernel's address arithmetic.
alignas(1024) cutlass::half_t buffer[(64 * 1024 + 2 * 3 * 64 * 1024) / 2 + 512];

template <int kD, int kWG, int kBlockN>
bool CheckTiling() {
  using namespace cute;
  using F = kiln_cuda::attn90::Sm90Flash<false, kD, kWG, kBlockN>;
  static_assert(F::kQElems + F::kKElems + F::kVElems <= sizeof(buffer) / 2, "buffer");
  cutlass::half_t* base = buffer;
  Tensor q = make_tensor(make_smem_ptr(base), typename F::SmemQ{});
  Tensor k = make_tensor(make_smem_ptr(base + F::kQElems), typename F::SmemK{});
  Tensor v = make_tensor(make_smem_ptr(base + F::kQElems + F::kKElems), typename F::SmemVt{});
  auto at = [&](auto& t, int r, int c) { return static_cast<long>(&t(r, c) - base); };
  bool ok = Check<F::kBlockM, kD, F::kThreads>("Q", [&](int r, int c) { return at(q, r, c); });
  for (int stage = 0; stage < F::kStages; ++stage) {
    auto ks = k(_, _, stage);
    auto vs = v(_, _, stage);
    ok = ok && Check<kBlockN, kD, F::kThreads>("K", [&](int r, int c) { return at(ks, r, c); });
    ok = ok && Check<kBlockN, kD, F::kThreads>("V", [&](int r, int c) { return at(vs, c, r); });
  }
  if (!ok) std::printf("  in tiling D %d, %d warp groups, %d keys\n", kD, kWG, kBlockN);
  return ok;
}

}  // namespace

int main() {
  const bool ok = CheckTiling<64, 1, 64>() && CheckTiling<64, 1, 128>() && CheckTiling<64, 2, 64>() &&
                  CheckTiling<64, 2, 128>() && CheckTiling<128, 1, 64>() && CheckTiling<128, 1, 128>() &&
                  CheckTiling<128, 2, 64>() && CheckTiling<128, 2, 128>();
  std::printf(ok ? "every tile address matches\n" : "mismatch\n");
  return ok ? 0 : 1;
}
