// Graph IR: SSA values with tensor types, nodes in topological order, named graph inputs and
// outputs, symbolic dims with ranges, and weights held by reference (a shared TensorMap).
//
// Ownership: the Graph owns its Values and Nodes; pointers stay valid until the node is removed.
// Epilogue operands: a gemm/conv node's inputs are its explicit operands followed by one operand
// per epilogue step that TakesOperand(), in epilogue order.
#ifndef KILN_IR_GRAPH_H_
#define KILN_IR_GRAPH_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/attrs.h"
#include "ir/op_registry.h"
#include "ir/type.h"
#include "support/tensor.h"

namespace kiln {

class Graph;
class Node;

/// An SSA value: a graph input or one output of a node.
class Value {
 public:
  const std::string& name() const { return name_; }
  const TensorType& type() const { return type_; }
  DType dtype() const { return type_.dtype; }
  const Shape& shape() const { return type_.shape; }
  int64_t rank() const { return type_.rank(); }
  /// nullptr for a graph input.
  Node* producer() const { return producer_; }
  /// Output index within the producer (0 for graph inputs).
  int index() const { return index_; }
  void set_type(TensorType type) { type_ = std::move(type); }

 private:
  friend class Graph;
  std::string name_;
  TensorType type_;
  Node* producer_ = nullptr;
  int index_ = 0;
};

/// Inclusive range of a symbolic dim.
struct SymbolRange {
  int64_t min = 1;
  int64_t max = 1;
  bool operator==(const SymbolRange& o) const { return min == o.min && max == o.max; }
};

class Node {
 public:
  OpKind op() const { return op_; }
  std::string_view op_name() const { return OpName(op_); }
  const OpDef& def() const { return GetOpDef(op_); }

  const std::vector<Value*>& inputs() const { return inputs_; }
  Value* input(int i) const { return inputs_[i]; }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  /// Inputs before the epilogue operands.
  int num_explicit_inputs() const;
  const std::vector<Value*>& outputs() const { return outputs_; }
  Value* output(int i = 0) const { return outputs_[i]; }
  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  void set_input(int i, Value* v) { inputs_[i] = v; }

  const Attrs& attrs() const { return attrs_; }
  /// Replaces the attributes (normalise them with NormalizeAttrs first).
  void set_attrs(Attrs attrs) { attrs_ = std::move(attrs); }
  bool HasAttr(std::string_view name) const { return attrs_.Find(name) != nullptr; }

  // Typed getters: the attribute or its schema default; abort on a schema/type mismatch (a bug).
  bool GetBool(std::string_view name) const;
  int64_t GetInt(std::string_view name) const;
  double GetFloat(std::string_view name) const;
  const std::string& GetString(std::string_view name) const;
  const std::string& GetEnum(std::string_view name) const;
  const std::vector<int64_t>& GetInts(std::string_view name) const;
  const std::vector<double>& GetFloats(std::string_view name) const;
  const std::vector<Dim>& GetDims(std::string_view name) const;
  DType GetDType(std::string_view name) const;
  const Epilogue& GetEpilogue(std::string_view name = "epilogue") const;
  const Graph& GetGraph(std::string_view name = "body") const;

  /// Source line when parsed from text (0 otherwise), for error messages.
  int line() const { return line_; }
  void set_line(int line) { line_ = line; }
  /// "%h = conv2d" style description for error messages.
  std::string Describe() const;

 private:
  friend class Graph;
  const AttrValue& Get(std::string_view name) const;
  OpKind op_ = OpKind::kAdd;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  Attrs attrs_;
  int line_ = 0;
};

class Graph {
 public:
  explicit Graph(std::string name = "main");
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  // ---- symbols: `where N in [1, 256]` ----
  /// Adds a symbol with its range; error if the name exists with another range or min > max.
  Status AddSymbol(const std::string& name, int64_t min, int64_t max);
  const std::map<std::string, SymbolRange>& symbols() const { return symbols_; }
  /// Changes the range of an existing symbol (`kiln compile --dynamic N=1..64`); NotFound for an
  /// unknown symbol (listing the graph's), InvalidArgument for an empty or negative range.
  Status SetSymbolRange(const std::string& name, int64_t min, int64_t max);
  /// Makes `Dim::Symbol(name)` after AddSymbol.
  Dim Sym(const std::string& name, int64_t min, int64_t max);

  // ---- inputs, outputs ----
  Value* AddInput(const std::string& name, TensorType type);
  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  void SetOutputs(std::vector<Value*> outputs) { outputs_ = std::move(outputs); }

  // ---- nodes (topological order) ----
  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }
  /// Appends a node: normalises attributes, runs shape inference, creates outputs named after
  /// `output_names` (fresh names where empty or missing). Errors mention the node.
  StatusOr<Node*> AddNode(OpKind op, std::vector<Value*> inputs, Attrs attrs = {},
                          std::vector<std::string> output_names = {});
  /// Appends a node with given output types, without inference (the parser; the verifier
  /// checks it later). Attributes must already be normalised.
  Node* AddNodeWithTypes(OpKind op, std::vector<Value*> inputs, Attrs attrs,
                         std::vector<std::pair<std::string, TensorType>> outputs);
  /// Moves `node` to just before `before` in the node order (both in this graph).
  void MoveBefore(Node* node, Node* before);
  /// Removes a node whose outputs have no uses (aborts otherwise).
  void RemoveNode(Node* node);
  /// Replaces every use of `from` (node inputs and graph outputs) with `to`.
  void ReplaceAllUsesWith(Value* from, Value* to);
  /// Nodes that use `v`, in order (computed on demand).
  std::vector<Node*> Users(const Value* v) const;

  /// A value name not yet used in this graph, derived from `hint`.
  std::string FreshName(const std::string& hint);
  /// nullptr if no value has that name.
  Value* FindValue(const std::string& name) const;
  /// Renames a value (e.g. to give a graph output a stable name); error if the name is taken.
  Status RenameValue(Value* v, const std::string& name);

  // ---- weights ----
  /// Weight data by name; shared between clones.
  const std::shared_ptr<TensorMap>& weights() const { return weights_; }
  void set_weights(std::shared_ptr<TensorMap> weights) { weights_ = std::move(weights); }

  /// Deep copy of structure (weights shared).
  std::unique_ptr<Graph> Clone() const;

 private:
  Value* NewValue(const std::string& name, TensorType type);

  std::string name_;
  std::map<std::string, SymbolRange> symbols_;
  std::vector<std::unique_ptr<Value>> values_;
  std::map<std::string, Value*> values_by_name_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::shared_ptr<TensorMap> weights_;
  int name_counter_ = 0;
};

/// Structural equality: same name, symbols, inputs, node sequence (ops, attrs, types, value names
/// and operand wiring) and outputs. Weights are compared by reference name, not data.
bool StructurallyEqual(const Graph& a, const Graph& b, std::string* why = nullptr);

}  // namespace kiln

#endif  // KILN_IR_GRAPH_H_
