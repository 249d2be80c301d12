#include "codegen/cpu/cpu_target.h"

#include "codegen/cpu/families.h"
#include "codegen/emitter_table.h"

namespace kiln::codegen::cpu {
namespace {

// Every family of the cpu target.
void RegisterFamilies() {
  RegisterElementwiseEmitters();
  RegisterLayoutEmitters();
  RegisterGemmEmitters();
  RegisterConvEmitters();
  RegisterPoolEmitters();
  RegisterNormEmitters();
  RegisterReduceEmitters();
  RegisterAttentionEmitters();
  RegisterElementIndexEmitters();
}

TargetEmitterTable& Table() {
  static TargetEmitterTable table(RegisterFamilies);
  return table;
}

KernelEmitFn Find(OpKind op) { return Table().Filled().Find(op); }

}  // namespace

void RegisterEmitter(OpKind op, KernelEmitFn fn) { Table().Register(op, fn); }

const TargetEmitters& CpuTarget() {
  Table().Filled();
  static const TargetEmitters target{
      .name = "cpu",
      .source_extension = ".cc",
      .kernel_prelude =
          "#include <cmath>\n#include <cstdint>\n#include <cstring>\n\n"
          "#include \"kiln_cpu.h\"\n",
      .find = Find,
  };
  return target;
}

std::vector<OpKind> SupportedOps() { return Table().Filled().Supported(); }

}  // namespace kiln::codegen::cpu
