// The state an ONNX op import function works with: the node's inputs (kiln values, constants
// known at import time, or symbolic shape values), its attributes (read through checked getters
// that record which ones were understood) and its outputs.
//
// Errors are sticky, as in Builder: the first failure is recorded, later getters return defaults
// or nullptr, and the importer reports the error with "<op> (opset N) node '<name>'" in front.
// After the import function returns, any attribute it did not read is rejected as unsupported.
#ifndef KILN_FRONTEND_ONNX_ONNX_CONTEXT_H_
#define KILN_FRONTEND_ONNX_ONNX_CONTEXT_H_

#include <onnx/onnx_pb.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ir/builder.h"
#include "support/tensor.h"

namespace kiln::onnx_import {

/// One ONNX value (tensor name) during import. At least one of the fields is set.
struct OnnxValue {
  /// The kiln value, once materialised in the graph being built.
  Value* value = nullptr;
  /// Data known at import time (initializers, Constant, folded nodes).
  std::optional<Tensor> constant;
  /// An int64 tensor of rank 0 (one element) or 1 whose elements are symbolic dims: the result of
  /// Shape and the integer arithmetic on it. Never all static (that is a constant instead).
  std::optional<std::vector<Dim>> dims;
  bool dims_scalar = false;
  /// Name of the weight a large constant materialises as.
  std::string weight_name;
};

/// "Conv (opset 17) node 'conv1'" (an unnamed node is described by its first output).
std::string DescribeNode(const onnx::NodeProto& node, int opset);

class NodeContext {
 public:
  /// `materialize` turns a constant OnnxValue into a kiln value of `builder`'s graph.
  using Materializer = std::function<Value*(OnnxValue&, const std::string& onnx_name)>;
  NodeContext(const onnx::NodeProto& node, int opset, Builder& builder,
              std::vector<OnnxValue*> inputs, Materializer materialize);

  const onnx::NodeProto& node() const { return node_; }
  const std::string& op_type() const { return node_.op_type(); }
  int opset() const { return opset_; }
  Builder& b() { return builder_; }
  /// "Conv (opset 17) node 'conv1'".
  std::string Where() const;

  // ---- errors (sticky; the first one wins) ----
  /// Records InvalidArgument(message); returns nullptr for use in expressions.
  Value* Error(const std::string& message);
  /// Records Unimplemented(message).
  Value* Unsupported(const std::string& message);
  bool ok() const { return status_.ok() && builder_.status().ok(); }
  /// The first error (the node's or the builder's), without the Where() prefix.
  Status status() const;

  // ---- inputs ----
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  /// Input i is present (within range and not the empty name of an omitted optional input).
  bool has_input(int i) const { return i < num_inputs() && inputs_[i] != nullptr; }
  /// Records an error unless inputs [min, max] are present (max -1: no limit on extras).
  bool ExpectInputs(int min, int max);
  /// Input i as a kiln value (constants are materialised); nullptr after an error.
  Value* Input(int i);
  /// Dtype and shape of input i without materialising it; nullopt after an error.
  std::optional<TensorType> InputType(int i);
  /// Input i's data if known at import time, else nullptr.
  const Tensor* Constant(int i) const;
  /// Input i is a symbolic shape value (OnnxValue::dims).
  bool IsDims(int i) const { return has_input(i) && inputs_[i]->dims.has_value(); }
  /// The most values a dims input (DimsInput) may have.
  static constexpr int64_t kMaxDimsValues = 1024;
  /// Input i as dims: a symbolic shape value or a constant integer tensor of rank <= 1 (scalar
  /// sets *scalar) of at most kMaxDimsValues values. Records an error (naming `what`) for
  /// anything else.
  std::optional<std::vector<Dim>> DimsInput(int i, const std::string& what, bool* scalar = nullptr);
  /// Input i as constant integers (rank <= 1); error naming `what` otherwise.
  std::optional<std::vector<int64_t>> IntsInput(int i, const std::string& what);
  /// Input i as one constant number; error naming `what` otherwise.
  std::optional<double> ScalarInput(int i, const std::string& what);

  // ---- attributes (each getter marks the attribute understood) ----
  bool HasAttr(const std::string& name) const;
  int64_t Int(const std::string& name, int64_t default_value);
  double Float(const std::string& name, double default_value);
  std::string Str(const std::string& name, const std::string& default_value);
  std::vector<int64_t> Ints(const std::string& name, std::vector<int64_t> default_value = {});
  std::vector<double> Floats(const std::string& name);
  /// The tensor of a TENSOR attribute, or nullptr if absent.
  const onnx::TensorProto* TensorAttr(const std::string& name);
  /// Marks an attribute understood without reading it (e.g. one that only applies to a mode
  /// this node does not use, checked separately).
  void Ignore(const std::string& name) { used_attrs_.insert(name); }
  /// The first attribute the import function did not read, or nullptr.
  const onnx::AttributeProto* FirstUnusedAttr() const;

  // ---- outputs ----
  int num_outputs() const { return node_.output_size(); }
  /// Output i is requested (present and not empty).
  bool has_output(int i) const { return i < num_outputs() && !node_.output(i).empty(); }
  /// Records an error if an output beyond the first `n` is requested.
  bool ExpectMaxOutputs(int n);
  void SetOutput(int i, Value* v);
  void SetConstOutput(int i, Tensor t);
  /// A shape value; stored as a constant when every dim is static.
  void SetDimsOutput(int i, std::vector<Dim> dims, bool scalar);
  const std::vector<OnnxValue>& outputs() const { return outputs_; }
  std::vector<OnnxValue>& mutable_outputs() { return outputs_; }

 private:
  const onnx::AttributeProto* FindAttr(const std::string& name, int expected_type);

  const onnx::NodeProto& node_;
  int opset_;
  Builder& builder_;
  std::vector<OnnxValue*> inputs_;
  Materializer materialize_;
  std::set<std::string> used_attrs_;
  std::vector<OnnxValue> outputs_;
  Status status_;
};

}  // namespace kiln::onnx_import

#endif  // KILN_FRONTEND_ONNX_ONNX_CONTEXT_H_
