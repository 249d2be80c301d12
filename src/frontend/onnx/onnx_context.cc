// NodeContext: inputs, checked attributes and outputs of one ONNX node (see onnx_context.h).
#include "frontend/onnx/onnx_context.h"

#include <cmath>

namespace kiln::onnx_import {

namespace {

const char* AttrTypeName(int t) {
  switch (t) {
    case onnx::AttributeProto::FLOAT:
      return "FLOAT";
    case onnx::AttributeProto::INT:
      return "INT";
    case onnx::AttributeProto::STRING:
      return "STRING";
    case onnx::AttributeProto::TENSOR:
      return "TENSOR";
    case onnx::AttributeProto::GRAPH:
      return "GRAPH";
    case onnx::AttributeProto::FLOATS:
      return "FLOATS";
    case onnx::AttributeProto::INTS:
      return "INTS";
    case onnx::AttributeProto::STRINGS:
      return "STRINGS";
    default:
      return "other";
  }
}

}  // namespace

NodeContext::NodeContext(const onnx::NodeProto& node, int opset, Builder& builder,
                         std::vector<OnnxValue*> inputs, Materializer materialize)
    : node_(node),
      opset_(opset),
      builder_(builder),
      inputs_(std::move(inputs)),
      materialize_(std::move(materialize)),
      outputs_(static_cast<size_t>(node.output_size())) {}

std::string DescribeNode(const onnx::NodeProto& node, int opset) {
  std::string name = node.name();
  if (name.empty()) {
    name = node.output_size() > 0 ? "<unnamed, output " + node.output(0) + ">" : "<unnamed>";
  }
  return node.op_type() + " (opset " + std::to_string(opset) + ") node '" + name + "'";
}

std::string NodeContext::Where() const { return DescribeNode(node_, opset_); }

Value* NodeContext::Error(const std::string& message) {
  if (status_.ok()) status_ = InvalidArgument(message);
  return nullptr;
}

Value* NodeContext::Unsupported(const std::string& message) {
  if (status_.ok()) status_ = Unimplemented(message);
  return nullptr;
}

Status NodeContext::status() const {
  if (!status_.ok()) return status_;
  return builder_.status();
}

bool NodeContext::ExpectInputs(int min, int max) {
  for (int i = 0; i < min; ++i) {
    if (!has_input(i)) {
      Error("expected at least " + std::to_string(min) + " inputs, input " + std::to_string(i) +
            " is missing");
      return false;
    }
  }
  if (max >= 0 && num_inputs() > max) {
    for (int i = max; i < num_inputs(); ++i) {
      if (has_input(i)) {
        Unsupported("input " + std::to_string(i) + " is not supported (at most " +
                    std::to_string(max) + " inputs)");
        return false;
      }
    }
  }
  return true;
}

Value* NodeContext::Input(int i) {
  if (!ok()) return nullptr;
  if (!has_input(i)) return Error("input " + std::to_string(i) + " is missing");
  OnnxValue& v = *inputs_[i];
  if (v.value) return v.value;
  if (v.dims) {
    std::string text = ShapeToString(*v.dims);
    return Unsupported("input " + std::to_string(i) + " ('" + node_.input(i) +
                       "') is a shape computed from symbolic dims " + text +
                       "; this op cannot use it as a tensor (only shape arithmetic folds)");
  }
  Value* out = materialize_(v, node_.input(i));
  if (!out && ok()) Error("cannot materialise input '" + node_.input(i) + "'");
  return out;
}

std::optional<TensorType> NodeContext::InputType(int i) {
  if (!has_input(i)) {
    Error("input " + std::to_string(i) + " is missing");
    return std::nullopt;
  }
  const OnnxValue& v = *inputs_[i];
  if (v.value) return v.value->type();
  if (v.constant) return TensorType{v.constant->dtype(), StaticShape(v.constant->shape())};
  if (v.dims) {
    Shape s;
    if (!v.dims_scalar) s.push_back(static_cast<int64_t>(v.dims->size()));
    return TensorType{DType::kI64, s};
  }
  Error("input " + std::to_string(i) + " has no value");
  return std::nullopt;
}

const Tensor* NodeContext::Constant(int i) const {
  if (!has_input(i) || !inputs_[i]->constant) return nullptr;
  return &*inputs_[i]->constant;
}

std::optional<std::vector<Dim>> NodeContext::DimsInput(int i, const std::string& what,
                                                       bool* scalar) {
  if (!has_input(i)) {
    Error(what + " (input " + std::to_string(i) + ") is missing");
    return std::nullopt;
  }
  const OnnxValue& v = *inputs_[i];
  // A shape, axes, pads, repeats or sizes list: a few values per dim of some tensor. A folded
  // constant of millions (ConstantOfShape of a computed length) would become a tensor of that
  // rank, gigabytes of Dims, before anything else could reject it.
  const int64_t count = v.dims ? static_cast<int64_t>(v.dims->size())
                               : (v.constant ? v.constant->numel() : 0);
  if (count > kMaxDimsValues) {
    Unsupported(what + " (input " + std::to_string(i) + " '" + node_.input(i) + "') has " +
                std::to_string(count) + " values; kiln takes at most " +
                std::to_string(kMaxDimsValues) + " here");
    return std::nullopt;
  }
  if (v.dims) {
    if (scalar) *scalar = v.dims_scalar;
    return *v.dims;
  }
  if (v.constant && IsInteger(v.constant->dtype()) && v.constant->rank() <= 1) {
    if (scalar) *scalar = v.constant->rank() == 0;
    std::vector<Dim> dims;
    for (int64_t x : v.constant->ToI64()) dims.emplace_back(x);
    return dims;
  }
  Unsupported(what + " (input " + std::to_string(i) + " '" + node_.input(i) +
              "') must be an integer tensor of rank <= 1 known at import time (a constant, "
              "computed from shapes, or a graph input bound to values: kiln compile --bind "
              "NAME=V1,V2,...)");
  return std::nullopt;
}

std::optional<std::vector<int64_t>> NodeContext::IntsInput(int i, const std::string& what) {
  bool scalar = false;
  std::optional<std::vector<Dim>> dims = DimsInput(i, what, &scalar);
  if (!dims) return std::nullopt;
  std::vector<int64_t> out;
  for (const Dim& d : *dims) {
    if (!d.is_static()) {
      Unsupported(what + " depends on the symbolic dim " + d.ToString() +
                  "; it must be static here");
      return std::nullopt;
    }
    out.push_back(d.value());
  }
  return out;
}

std::optional<double> NodeContext::ScalarInput(int i, const std::string& what) {
  const Tensor* t = Constant(i);
  if (!t || t->numel() != 1) {
    Unsupported(what + " (input " + std::to_string(i) +
                ") must be a single value known at import time (a constant, or a graph input "
                "bound to a value: kiln compile --bind NAME=VALUE)");
    return std::nullopt;
  }
  return t->GetF64(0);
}

bool NodeContext::HasAttr(const std::string& name) const {
  for (const auto& a : node_.attribute()) {
    if (a.name() == name) return true;
  }
  return false;
}

const onnx::AttributeProto* NodeContext::FindAttr(const std::string& name, int expected_type) {
  used_attrs_.insert(name);
  for (const auto& a : node_.attribute()) {
    if (a.name() != name) continue;
    if (!a.ref_attr_name().empty()) {
      Unsupported("attribute '" + name + "' refers to a function attribute");
      return nullptr;
    }
    if (a.type() != expected_type) {
      Error("attribute '" + name + "' has type " + AttrTypeName(a.type()) + ", expected " +
            AttrTypeName(expected_type));
      return nullptr;
    }
    return &a;
  }
  return nullptr;
}

int64_t NodeContext::Int(const std::string& name, int64_t default_value) {
  const auto* a = FindAttr(name, onnx::AttributeProto::INT);
  return a ? a->i() : default_value;
}

double NodeContext::Float(const std::string& name, double default_value) {
  const auto* a = FindAttr(name, onnx::AttributeProto::FLOAT);
  return a ? a->f() : default_value;
}

std::string NodeContext::Str(const std::string& name, const std::string& default_value) {
  const auto* a = FindAttr(name, onnx::AttributeProto::STRING);
  return a ? a->s() : default_value;
}

std::vector<int64_t> NodeContext::Ints(const std::string& name,
                                       std::vector<int64_t> default_value) {
  const auto* a = FindAttr(name, onnx::AttributeProto::INTS);
  if (!a) return default_value;
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

std::vector<double> NodeContext::Floats(const std::string& name) {
  const auto* a = FindAttr(name, onnx::AttributeProto::FLOATS);
  if (!a) return {};
  return std::vector<double>(a->floats().begin(), a->floats().end());
}

const onnx::TensorProto* NodeContext::TensorAttr(const std::string& name) {
  const auto* a = FindAttr(name, onnx::AttributeProto::TENSOR);
  return a ? &a->t() : nullptr;
}

const onnx::AttributeProto* NodeContext::FirstUnusedAttr() const {
  for (const auto& a : node_.attribute()) {
    if (!used_attrs_.count(a.name())) return &a;
  }
  return nullptr;
}

bool NodeContext::ExpectMaxOutputs(int n) {
  for (int i = n; i < num_outputs(); ++i) {
    if (has_output(i)) {
      Unsupported("output " + std::to_string(i) + " ('" + node_.output(i) +
                  "') is not supported (only the first " + std::to_string(n) + ")");
      return false;
    }
  }
  return true;
}

void NodeContext::SetOutput(int i, Value* v) {
  if (i < num_outputs() && v) outputs_[i].value = v;
}

void NodeContext::SetConstOutput(int i, Tensor t) {
  if (i < num_outputs()) outputs_[i].constant = std::move(t);
}

void NodeContext::SetDimsOutput(int i, std::vector<Dim> dims, bool scalar) {
  if (i >= num_outputs()) return;
  bool all_static = true;
  for (const Dim& d : dims) all_static = all_static && d.is_static();
  if (all_static) {
    std::vector<int64_t> shape;
    if (!scalar) shape.push_back(static_cast<int64_t>(dims.size()));
    Tensor t(DType::kI64, shape);
    for (size_t k = 0; k < dims.size(); ++k) t.mutable_data_as<int64_t>()[k] = dims[k].value();
    outputs_[i].constant = std::move(t);
    return;
  }
  outputs_[i].dims = std::move(dims);
  outputs_[i].dims_scalar = scalar;
}

}  // namespace kiln::onnx_import
