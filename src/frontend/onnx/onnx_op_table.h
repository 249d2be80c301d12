// The table from (ONNX op type, opset range) to the one function that imports that op. Each
// family file (onnx_activation.cc, onnx_elementwise.cc, onnx_index.cc, onnx_loss.cc, onnx_nn.cc,
// onnx_norm.cc, onnx_shape.cc) registers its ops
// through its Register*() function, called explicitly by OnnxOpTable().
#ifndef KILN_FRONTEND_ONNX_ONNX_OP_TABLE_H_
#define KILN_FRONTEND_ONNX_ONNX_OP_TABLE_H_

#include <string>
#include <vector>

#include "frontend/onnx/onnx_context.h"

namespace kiln::onnx_import {

/// Imports one node: reads inputs and attributes from `ctx`, builds kiln ops with ctx.b() and
/// sets every requested output; errors are recorded in ctx.
using ImportFn = void (*)(NodeContext& ctx);

/// Opsets of the default domain the importer accepts (at model level). Opsets 13..21 are the
/// target; older models import when every op they use resolves (ONNX: the op's latest version at
/// or below the model opset) to a version whose semantics the import function implements, e.g.
/// Conv at opset 11 is Conv-11, unchanged through opset 21, while Softmax below 13 (2-D coercion)
/// and Split below 13 (sizes as an attribute) are rejected. Each entry's min_opset says from which
/// model opset its semantics hold (Elu 6, Not 1, ...), so the model-level range starts at 1.
inline constexpr int kMinOpset = 1;
inline constexpr int kMaxOpset = 21;

struct OnnxOpEntry {
  std::string op_type;
  int min_opset;  // inclusive, model opset: the first at which the op resolves to the version
                  // (or a semantically identical one) that fn implements
  int max_opset;  // inclusive
  ImportFn fn;
};

class OnnxOpRegistry {
 public:
  void Add(const std::string& op_type, int min_opset, int max_opset, ImportFn fn);
  /// The function for `op_type` at `opset`, or nullptr.
  ImportFn Find(const std::string& op_type, int opset) const;
  /// "13..21" style list of the opsets at which `op_type` is supported ("" if never).
  std::string SupportedOpsets(const std::string& op_type) const;
  const std::vector<OnnxOpEntry>& entries() const { return entries_; }

 private:
  std::vector<OnnxOpEntry> entries_;
};

void RegisterActivationOps(OnnxOpRegistry& registry);
void RegisterElementwiseOps(OnnxOpRegistry& registry);
void RegisterIndexOps(OnnxOpRegistry& registry);
void RegisterLossOps(OnnxOpRegistry& registry);
void RegisterNnOps(OnnxOpRegistry& registry);
void RegisterNormOps(OnnxOpRegistry& registry);
void RegisterShapeOps(OnnxOpRegistry& registry);

/// The registry with every family registered (built once).
const OnnxOpRegistry& OnnxOps();

}  // namespace kiln::onnx_import

#endif  // KILN_FRONTEND_ONNX_ONNX_OP_TABLE_H_
