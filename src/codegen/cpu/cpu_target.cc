#include "codegen/cpu/cpu_target.h"

#include <mutex>

#include "codegen/cpu/families.h"
#include "codegen/emitter_table.h"

namespace kiln::codegen::cpu {
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
    RegisterGemmEmitters();
    RegisterConvEmitters();
    RegisterPoolEmitters();
    RegisterNormEmitters();
    RegisterReduceEmitters();
    RegisterAttentionEmitters();
  });
}

KernelEmitFn Find(OpKind op) { return Table().Find(op); }

}  // namespace

void RegisterEmitter(OpKind op, KernelEmitFn fn) { Table().Register(op, fn); }

const TargetEmitters& CpuTarget() {
  RegisterAll();
  static const TargetEmitters target{
      .name = "cpu",
      .source_extension = ".cc",
      .kernel_prelude = "#include <cmath>\n#include <cstdint>\n#include <cstring>\n\n"
                        "#include \"kiln_cpu.h\"\n",
      .find = Find,
  };
  return target;
}

std::vector<OpKind> SupportedOps() {
  RegisterAll();
  return Table().Supported();
}

}  // namespace kiln::codegen::cpu
