#include "codegen/cuda/cuda_target.h"

#include "codegen/cuda/families.h"
#include "codegen/emitter_table.h"

namespace kiln::codegen::cuda {
namespace {

// Every family of the cuda targets (sm90-only emitters register themselves in Sm90Table from
// RegisterGemmEmitters and RegisterConvEmitters).
void RegisterFamilies() {
  RegisterElementwiseEmitters();
  RegisterLayoutEmitters();
  RegisterReduceEmitters();
  RegisterNormEmitters();
  RegisterPoolEmitters();
  RegisterGemmEmitters();
  RegisterAttentionEmitters();
  RegisterConvEmitters();
}

TargetEmitterTable& Table() {
  static TargetEmitterTable table(RegisterFamilies);
  return table;
}

EmitterTable& Sm90Table() {
  static EmitterTable table;
  return table;
}

KernelEmitFn Find(OpKind op) { return Table().Filled().Find(op); }

KernelEmitFn FindSm90(OpKind op) {
  const EmitterTable& base = Table().Filled();  // fills Sm90Table too
  KernelEmitFn fn = Sm90Table().Find(op);
  return fn != nullptr ? fn : base.Find(op);
}

TargetEmitters Make(const std::string& name) {
  return TargetEmitters{
      .name = name,
      .source_extension = ".cu",
      .kernel_prelude = "#include <cstdint>\n\n#include \"kiln_cuda.cuh\"\n",
      .find = name == "cuda-sm80" ? Find : FindSm90,
  };
}

}  // namespace

void RegisterEmitter(OpKind op, KernelEmitFn fn) { Table().Register(op, fn); }

void RegisterSm90Emitter(OpKind op, KernelEmitFn fn) { Sm90Table().Register(op, fn); }

const TargetEmitters& CudaTarget(const std::string& name) {
  Table().Filled();
  static const TargetEmitters sm90 = Make("cuda-sm90");
  static const TargetEmitters sm80 = Make("cuda-sm80");
  return name == "cuda-sm80" ? sm80 : sm90;
}

std::vector<OpKind> SupportedOps() { return Table().Filled().Supported(); }

}  // namespace kiln::codegen::cuda
