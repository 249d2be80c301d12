// The CPU target: its kernel emitters (one file per op family, see families.h) and what building
// a CPU model library takes (runtime sources, compiler flags, libraries).
#ifndef KILN_CODEGEN_CPU_CPU_TARGET_H_
#define KILN_CODEGEN_CPU_CPU_TARGET_H_

#include "codegen/module_emitter.h"

namespace kiln::codegen::cpu {

/// The CPU target's emitters for the module emitter (registers them on first use).
const TargetEmitters& CpuTarget();

/// The ops the CPU target can emit (for `kiln info` and tests).
std::vector<OpKind> SupportedOps();

}  // namespace kiln::codegen::cpu

#endif  // KILN_CODEGEN_CPU_CPU_TARGET_H_
