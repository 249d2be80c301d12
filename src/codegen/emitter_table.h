// A target's table of kernel emitters, one per op (filled by the target's Register*Emitters()).
#ifndef KILN_CODEGEN_EMITTER_TABLE_H_
#define KILN_CODEGEN_EMITTER_TABLE_H_

#include <array>
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

}  // namespace kiln::codegen

#endif  // KILN_CODEGEN_EMITTER_TABLE_H_
