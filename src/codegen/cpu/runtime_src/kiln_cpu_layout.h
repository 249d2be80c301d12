// kiln_cpu: layout and indexing kernels (see kiln_cpu.h for the conventions).
//
// Data movement is dtype-agnostic: elements are `elem_size` bytes (1, 2, 4 and 8 take typed fast
// paths, other sizes memcpy per element), so one kernel serves f32, f16/bf16 bits, integers and
// bool. Strides are in elements and may be 0 (broadcast) or negative (reversed slices).
// Transpose, expand, slice and pad are all one strided copy; concat and split copy row blocks.
#ifndef KILN_CPU_LAYOUT_H_
#define KILN_CPU_LAYOUT_H_

#include <cstdint>
#include <cstring>  // std::memcpy in generated view bodies (reshape, flatten, squeeze, unsqueeze)

namespace kiln_cpu {

/// For every index i of `dims` (rank `rank`): dst[sum i[a]*dst_strides[a]] =
/// src[sum i[a]*src_strides[a]]. `src`/`dst` point at the element of index 0. Adjacent axes that
/// are contiguous in both are merged; a contiguous innermost run is one memcpy; a 2-D transpose
/// pattern is copied in cache tiles. Pre: dst elements are distinct (no 0 stride in dst) and do
/// not overlap src.
void StridedCopy(const void* src, const int64_t* src_strides, void* dst, const int64_t* dst_strides,
                 const int64_t* dims, int64_t rank, int64_t elem_size);

/// transpose: dst (dense) = src (dense, shape src_dims) with dst dim a = src dim perm[a].
void Transpose(const void* src, const int64_t* src_dims, const int64_t* perm, int64_t rank,
               void* dst, int64_t elem_size);

/// expand: numpy-broadcasts dense src (shape src_dims, rank src_rank <= dst_rank, aligned to the
/// right; each src dim equals the dst dim or is 1) to dense dst of shape dst_dims.
void Expand(const void* src, const int64_t* src_dims, int64_t src_rank, void* dst,
            const int64_t* dst_dims, int64_t dst_rank, int64_t elem_size);

/// slice: dst[i] = src[starts + i * steps] per axis, for dense src of shape src_dims and dense dst
/// of shape dst_dims. starts are already normalised and clamped (ONNX Slice, see the emitter);
/// pre: every index read lies inside src.
void Slice(const void* src, const int64_t* src_dims, const int64_t* starts, const int64_t* steps,
           int64_t rank, void* dst, const int64_t* dst_dims, int64_t elem_size);

/// concat of row blocks: for each o in [0, outer), dst receives srcs[0]'s o-th block of
/// row_bytes[0] bytes, then srcs[1]'s of row_bytes[1], ... (row_bytes[t] = dim_t(axis) * inner *
/// elem_size for concat along an axis with `outer` = product of the dims before it).
void Concat(const void* const* srcs, const int64_t* row_bytes, int64_t num_srcs, int64_t outer,
            void* dst);

/// split, the inverse of Concat: src's o-th row is cut into blocks of row_bytes[t] bytes that go
/// to the o-th row of dsts[t].
void Split(const void* src, void* const* dsts, const int64_t* row_bytes, int64_t num_dsts,
           int64_t outer);

/// How Pad fills positions outside the source.
enum class PadMode : int { kConstant = 0, kReflect = 1, kEdge = 2 };

/// pad (negative pads crop): dst of shape dst_dims (= src_dims + begins + ends) reads src at
/// index (i - pads_begin) per axis; outside src it takes `*fill` (one element, constant mode) or
/// mirrors without repeating the border (reflect, as numpy.pad) or repeats the border (edge).
/// Pre: reflect/edge only on axes with src dim >= 1 where the output is not empty. Allocates the
/// per-axis index tables (sum of dst dims).
void Pad(const void* src, const int64_t* src_dims, const int64_t* pads_begin, int64_t rank,
         PadMode mode, const void* fill, void* dst, const int64_t* dst_dims, int64_t elem_size);

/// gather along an axis: data is [outer, axis_len, inner] (dense), dst is
/// [outer, num_indices, inner]: dst[o, j, :] = data[o, indices[j], :]; a negative index counts
/// from the end. An index outside [-axis_len, axis_len) does not read out of bounds: its rows of
/// dst are zero-filled, and the return value counts such indices (the reference op reports them
/// as an error; generated code may do the same). embedding(weight [V, D], ids) is outer 1,
/// axis_len V, inner D.
int64_t Gather(const void* data, const int64_t* indices, int64_t num_indices, void* dst,
               int64_t outer, int64_t axis_len, int64_t inner, int64_t elem_size);
int64_t Gather(const void* data, const int32_t* indices, int64_t num_indices, void* dst,
               int64_t outer, int64_t axis_len, int64_t inner, int64_t elem_size);

}  // namespace kiln_cpu

#endif  // KILN_CPU_LAYOUT_H_
