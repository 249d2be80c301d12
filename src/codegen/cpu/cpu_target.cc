#include "codegen/cpu/cpu_target.h"

#include <array>
#include <mutex>

#include "codegen/cpu/families.h"
#include "support/check.h"

namespace kiln::codegen::cpu {
namespace {

constexpr size_t kNumOps = static_cast<size_t>(kNumOpKinds);
std::array<KernelEmitFn, kNumOps>& Table() {
  static std::array<KernelEmitFn, kNumOps> table{};
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

KernelEmitFn Find(OpKind op) { return Table()[static_cast<size_t>(op)]; }

}  // namespace

void RegisterEmitter(OpKind op, KernelEmitFn fn) {
  KernelEmitFn& slot = Table()[static_cast<size_t>(op)];
  KILN_CHECK(slot == nullptr) << "cpu emitter of " << OpName(op) << " registered twice";
  slot = fn;
}

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
  std::vector<OpKind> ops;
  for (size_t i = 0; i < kNumOps; ++i) {
    if (Table()[i] != nullptr) ops.push_back(static_cast<OpKind>(i));
  }
  return ops;
}

}  // namespace kiln::codegen::cpu
