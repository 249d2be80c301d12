#include "codegen/cuda/cuda_target.h"

#include <mutex>

#include "codegen/cuda/families.h"
#include "codegen/emitter_table.h"

namespace kiln::codegen::cuda {
namespace {

EmitterTable& Table() {
  static EmitterTable table;
  return table;
}

void RegisterAll() {
  static std::once_flag once;
  std::call_once(once, [] {
    RegisterElementwiseEmitters();
    RegisterLayoutEmitters();
    RegisterReduceEmitters();
    RegisterNormEmitters();
    RegisterPoolEmitters();
    RegisterGemmEmitters();
  });
}

EmitterTable& Sm90Table() {
  static EmitterTable table;
  return table;
}

KernelEmitFn Find(OpKind op) { return Table().Find(op); }

KernelEmitFn FindSm90(OpKind op) {
  KernelEmitFn fn = Sm90Table().Find(op);
  return fn != nullptr ? fn : Table().Find(op);
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
  RegisterAll();
  static const TargetEmitters sm90 = Make("cuda-sm90");
  static const TargetEmitters sm80 = Make("cuda-sm80");
  return name == "cuda-sm80" ? sm80 : sm90;
}

std::vector<OpKind> SupportedOps() {
  RegisterAll();
  return Table().Supported();
}

}  // namespace kiln::codegen::cuda
