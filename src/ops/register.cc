// RegisterAllOps: the one place that lists the op families. Registration is explicit (no static
// initialisers) so nothing is silently dropped when linking static archives.
#include <mutex>

#include "ir/op_registry.h"
#include "ops/families.h"
#include "support/check.h"

namespace kiln {

void RegisterAllOps() {
  static std::once_flag once;
  std::call_once(once, [] {
    RegisterArgReduceOps();
    RegisterAttentionOps();
    RegisterConvOps();
    RegisterElementIndexOps();
    RegisterElementwiseOps();
    RegisterFusionOps();
    RegisterGemmOps();
    RegisterIndexingOps();
    RegisterLayoutOps();
    RegisterNormOps();
    RegisterPoolOps();
    RegisterReduceOps();
    RegisterResizeOps();
    RegisterSourceOps();
  });
}

}  // namespace kiln
