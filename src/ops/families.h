// One registration function per op family (src/ops/<family>.cc); called by RegisterAllOps().
#ifndef KILN_OPS_FAMILIES_H_
#define KILN_OPS_FAMILIES_H_

namespace kiln {

void RegisterArgReduceOps();    // arg_reduce.cc: arg_max, arg_min
void RegisterAttentionOps();    // attention.cc: attention
void RegisterConvOps();         // conv.cc: conv2d, conv_transpose2d
void RegisterElementIndexOps();  // element_index.cc: gather_elements, scatter_elements
void RegisterElementwiseOps();  // elementwise.cc: unary, binary, comparisons, where, cast, clip
void RegisterFusionOps();       // fusion.cc: fusion (a node owning a sub-graph)
void RegisterGemmOps();         // gemm.cc: gemm (batched, transposes, epilogue)
void RegisterIndexingOps();     // indexing.cc: concat, split, slice, pad, gather, embedding
void RegisterLayoutOps();       // layout.cc: reshape, transpose, squeeze, unsqueeze, flatten, expand
void RegisterNormOps();         // norm.cc: batch_norm, layer_norm, group_norm, rms_norm
void RegisterPoolOps();         // pool.cc: max/avg/global pooling
void RegisterReduceOps();       // reduce.cc: reduce_*, softmax, log_softmax
void RegisterResizeOps();       // resize.cc: resize
void RegisterSourceOps();       // source.cc: weight, constant

}  // namespace kiln

#endif  // KILN_OPS_FAMILIES_H_
