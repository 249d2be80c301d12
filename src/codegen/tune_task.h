// What a target tells the tuner (src/tuning/tuner.h) about one tunable node: the key parts of its
// tuning-cache record, the configurations worth timing, and how to build a library that runs the
// node alone at any shape of its signature.
#ifndef KILN_CODEGEN_TUNE_TASK_H_
#define KILN_CODEGEN_TUNE_TASK_H_

#include <string>
#include <vector>

namespace kiln::codegen {

struct TuneTask {
  std::string signature;                // e.g. "gemm f16*f16->f16 nt align 8/8/8 bias,gelu"
  std::string shape;                    // e.g. "M=4096,N=4096,K=4096,L=1"
  std::vector<std::string> candidates;  // config names the emitter accepts (KernelContext::config)
  std::string profile_graph;            // text IR of a one-node graph with symbolic dims
  std::string profile_node;             // the name of that node's (first) output value
  std::string profile_dims;             // symbol values for this shape: "M=4096,N=512,K=96"
};

}  // namespace kiln::codegen

#endif  // KILN_CODEGEN_TUNE_TASK_H_
