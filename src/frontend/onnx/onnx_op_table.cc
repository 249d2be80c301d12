// The ONNX op registry (see onnx_op_table.h).
#include "frontend/onnx/onnx_op_table.h"

namespace kiln::onnx_import {

void OnnxOpRegistry::Add(const std::string& op_type, int min_opset, int max_opset, ImportFn fn) {
  entries_.push_back({op_type, min_opset, max_opset, fn});
}

ImportFn OnnxOpRegistry::Find(const std::string& op_type, int opset) const {
  for (const OnnxOpEntry& e : entries_) {
    if (e.op_type == op_type && opset >= e.min_opset && opset <= e.max_opset) return e.fn;
  }
  return nullptr;
}

std::string OnnxOpRegistry::SupportedOpsets(const std::string& op_type) const {
  std::string out;
  for (const OnnxOpEntry& e : entries_) {
    if (e.op_type != op_type) continue;
    if (!out.empty()) out += ", ";
    out += std::to_string(e.min_opset) + ".." + std::to_string(e.max_opset);
  }
  return out;
}

const OnnxOpRegistry& OnnxOps() {
  static const OnnxOpRegistry* registry = [] {
    auto* r = new OnnxOpRegistry;
    RegisterActivationOps(*r);
    RegisterElementwiseOps(*r);
    RegisterIndexOps(*r);
    RegisterLossOps(*r);
    RegisterNnOps(*r);
    RegisterNormOps(*r);
    RegisterShapeOps(*r);
    return r;
  }();
  return *registry;
}

}  // namespace kiln::onnx_import
