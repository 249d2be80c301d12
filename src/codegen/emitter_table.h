// A target's table of kernel emitters, one per op (filled by the target's Register*Emitters()),
// and TargetEmitterTable, the process-wide table of one target that fills itself on first use.
#ifndef KILN_CODEGEN_EMITTER_TABLE_H_
#define KILN_CODEGEN_EMITTER_TABLE_H_

#include <array>
#include <mutex>
#include <vector>

#include "codegen/kernel_context.h"
#include "support/check.h"

namespace kiln::codegen {

class EmitterTable {
 public:
  /// Makes `fn` the emitter of `op`; aborts if one is registered already (a bug).
  void Register(OpKind op, KernelEmitFn fn) {
    KernelEmitFn& slot = table_[static_cast<size_t>(op)];
    KILN_CHECK(slot == nullptr) << "emitter of " << OpName(op) << " registered twice";
    slot = fn;
  }
  /// The emitter of `op`, or nullptr.
  KernelEmitFn Find(OpKind op) const { return table_[static_cast<size_t>(op)]; }
  /// The ops with an emitter, in OpKind order.
  std::vector<OpKind> Supported() const {
    std::vector<OpKind> ops;
    for (size_t i = 0; i < table_.size(); ++i) {
      if (table_[i] != nullptr) ops.push_back(static_cast<OpKind>(i));
    }
    return ops;
  }

 private:
  std::array<KernelEmitFn, static_cast<size_t>(kNumOpKinds)> table_{};
};

/// The emitter table of one target, filled once (thread-safe) by `fill`, which registers the
/// target's families through Register. Targets keep one in a function-local static.
class TargetEmitterTable {
 public:
  explicit TargetEmitterTable(void (*fill)()) : fill_(fill) {}
  /// Registers `fn` for `op` (called by `fill`, directly or through the target's RegisterEmitter).
  void Register(OpKind op, KernelEmitFn fn) { table_.Register(op, fn); }
  /// The table, after running `fill` if no call did yet.
  const EmitterTable& Filled() {
    std::call_once(once_, fill_);
    return table_;
  }

 private:
  void (*fill_)();
  std::once_flag once_;
  EmitterTable table_;
};

}  // namespace kiln::codegen

#endif  // KILN_CODEGEN_EMITTER_TABLE_H_
