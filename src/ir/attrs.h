// Node attributes: a small ordered dictionary of typed values. Fusion is expressed by attributes
// (the gemm/conv `epilogue` list, the `fusion` node's `body` sub-graph), never by new op names.
#ifndef KILN_IR_ATTRS_H_
#define KILN_IR_ATTRS_H_

#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ir/dim.h"
#include "support/dtype.h"

namespace kiln {

class Graph;

/// A bare identifier attribute value such as `layout=nhwc` (allowed values come from the schema).
struct EnumValue {
  std::string name;
  bool operator==(const EnumValue& o) const { return name == o.name; }
};

/// One step applied to a gemm/conv accumulator, in order. Text: bias(%b) relu gelu gelu_tanh
/// silu sigmoid tanh add(%r) scale(0.5) cast(f16).
struct EpilogueOp {
  enum class Kind { kBias, kRelu, kGelu, kGeluTanh, kSilu, kSigmoid, kTanh, kAdd, kScale, kCast };
  Kind kind = Kind::kRelu;
  double scale = 1.0;          // kScale
  DType dtype = DType::kF32;   // kCast

  /// bias and add take a tensor operand; it is the node's next trailing input (see Node).
  bool TakesOperand() const { return kind == Kind::kBias || kind == Kind::kAdd; }
  bool operator==(const EpilogueOp& o) const {
    return kind == o.kind && scale == o.scale && dtype == o.dtype;
  }
};
using Epilogue = std::vector<EpilogueOp>;

/// "bias", "relu", ... (the text spelling without operands).
std::string_view EpilogueKindName(EpilogueOp::Kind kind);
bool ParseEpilogueKind(std::string_view name, EpilogueOp::Kind* kind);

using AttrValue = std::variant<bool, int64_t, double, std::string, EnumValue, std::vector<int64_t>,
                               std::vector<double>, std::vector<Dim>, DType, Epilogue,
                               std::shared_ptr<Graph>>;

/// Structural equality (sub-graphs compared by structure, not by pointer).
bool AttrValueEquals(const AttrValue& a, const AttrValue& b);

/// Attributes of one node, kept in the op schema's order once normalised (see op_registry.h).
class Attrs {
 public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<std::string, AttrValue>> init) : items_(init) {}

  /// nullptr if absent.
  const AttrValue* Find(std::string_view name) const;
  /// Sets (replacing an existing value in place, or appending).
  void Set(std::string name, AttrValue value);
  void Erase(std::string_view name);
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const std::vector<std::pair<std::string, AttrValue>>& items() const { return items_; }
  bool operator==(const Attrs& o) const;

 private:
  std::vector<std::pair<std::string, AttrValue>> items_;
};

}  // namespace kiln

#endif  // KILN_IR_ATTRS_H_
