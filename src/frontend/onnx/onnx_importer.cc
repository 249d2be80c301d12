// The ONNX importer driver: parses the ModelProto, declares inputs and symbols, reads
// initializers, orders the nodes (rejecting cycles and undefined names), imports or folds each
// node through the op table, and sets the outputs (see onnx_importer.h).
#include "frontend/onnx/onnx_importer.h"

#include <onnx/onnx_pb.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "frontend/onnx/onnx_context.h"
#include "frontend/onnx/onnx_op_table.h"
#include "frontend/onnx/onnx_tensor.h"
#include "ir/op_registry.h"
#include "ir/verifier.h"
#include "ops/interpreter.h"

namespace kiln {

namespace {

using onnx_import::NodeContext;
using onnx_import::OnnxValue;

// Folding is skipped when the constant inputs or an output of one node hold more elements than
// this (the node is then imported as ops on weights).
constexpr int64_t kMaxFoldElements = int64_t{1} << 24;

// A static shape with at most kMaxFoldElements elements (a folded result the importer may
// allocate); false for symbolic or larger shapes, computed without overflow.
bool SmallEnoughToFold(const Shape& shape) {
  int64_t n = 1;
  for (const Dim& d : shape) {
    if (!d.is_static() || d.value() < 0) return false;
    if (__builtin_mul_overflow(n, d.value(), &n)) return false;
  }
  return n <= kMaxFoldElements;
}

// Value names: [A-Za-z0-9_.] starting with a letter or '_'; symbol names: no '.'.
std::string Sanitize(const std::string& name, bool allow_dot, const std::string& fallback) {
  std::string out;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (allow_dot && c == '.');
    out += ok ? c : '_';
  }
  if (out.empty()) return fallback;
  if (!((out[0] >= 'a' && out[0] <= 'z') || (out[0] >= 'A' && out[0] <= 'Z') || out[0] == '_')) {
    out = "_" + out;
  }
  return out;
}

// The tensor of a bound value list (OnnxImportOptions::bound_values) for graph input `name`.
StatusOr<Tensor> TensorFromValueList(const std::string& name, DType dtype, const Shape& shape,
                                     const std::string& text) {
  const std::string what = "values '" + text + "' bound to graph input '" + name + "'";
  std::vector<std::string> tokens;
  for (size_t begin = 0; !text.empty() && begin <= text.size();) {
    const size_t comma = std::min(text.find(',', begin), text.size());
    tokens.push_back(text.substr(begin, comma - begin));
    begin = comma + 1;
  }
  const int64_t n = static_cast<int64_t>(tokens.size());
  std::vector<int64_t> dims;
  bool all_static = true;
  for (const Dim& d : shape) all_static = all_static && d.is_static();
  if (all_static) {
    for (const Dim& d : shape) dims.push_back(d.value());
  } else if (shape.size() == 1) {
    dims = {n};
  } else {
    return InvalidArgument(what + ": the input is declared " + TensorType{dtype, shape}.ToString() +
                           "; a value list binds a scalar, a 1-D input or one of static shape");
  }
  Tensor t(dtype, dims);
  if (t.numel() != n) {
    return InvalidArgument(what + ": " + std::to_string(n) + " values for " + t.TypeString());
  }
  for (int64_t i = 0; i < n; ++i) {
    const std::string& tok = tokens[i];
    auto bad = [&](const std::string& expected) {
      return InvalidArgument(what + ": value " + std::to_string(i) + " ('" + tok + "') is not " +
                             expected);
    };
    if (IsFloat(dtype)) {
      char* end = nullptr;
      const double v = tok.empty() ? 0.0 : std::strtod(tok.c_str(), &end);
      if (tok.empty() || end != tok.c_str() + tok.size()) return bad("a number");
      t.SetF64(i, v);
    } else if (dtype == DType::kBool) {
      if (tok != "0" && tok != "1" && tok != "true" && tok != "false") return bad("0, 1, true or false");
      t.mutable_data_as<bool>()[i] = tok == "1" || tok == "true";
    } else {
      int64_t v = 0;
      const auto [end, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
      if (tok.empty() || ec != std::errc() || end != tok.data() + tok.size()) return bad("an integer");
      auto fits = [&](auto sample) {
        using T = decltype(sample);
        return v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max();
      };
      switch (dtype) {
        case DType::kI64: t.mutable_data_as<int64_t>()[i] = v; break;
        case DType::kI32:
          if (!fits(int32_t{})) return bad("in the range of i32");
          t.mutable_data_as<int32_t>()[i] = static_cast<int32_t>(v);
          break;
        case DType::kI8:
          if (!fits(int8_t{})) return bad("in the range of i8");
          t.mutable_data_as<int8_t>()[i] = static_cast<int8_t>(v);
          break;
        case DType::kU8:
          if (!fits(uint8_t{})) return bad("in the range of u8");
          t.mutable_data_as<uint8_t>()[i] = static_cast<uint8_t>(v);
          break;
        default:
          return InvalidArgument(what + ": values of dtype " + std::string(DTypeName(dtype)) +
                                 " cannot be bound");
      }
    }
  }
  return t;
}

class Importer {
 public:
  Importer(const onnx::ModelProto& model, std::string base_dir, std::string source,
           const OnnxImportOptions& options)
      : model_(model),
        base_dir_(std::move(base_dir)),
        source_(std::move(source)),
        options_(options),
        builder_(Sanitize(model.graph().name(), false, "main")),
        weights_(std::make_shared<TensorMap>()) {}

  StatusOr<Graph> Run();

 private:
  Status ReadOpset();
  Status DeclareInputs();
  /// Makes graph input `name` (declared `dtype`, `shape`) the constant `value`
  /// (OnnxImportOptions::bound_inputs).
  Status BindInput(const std::string& name, DType dtype, const Shape& shape, const Tensor& value);
  Status ReadInitializers();
  StatusOr<std::vector<const onnx::NodeProto*>> SortNodes();
  Status ImportNode(const onnx::NodeProto& node);
  StatusOr<bool> FoldNode(const onnx::NodeProto& node, onnx_import::ImportFn fn,
                          const std::vector<OnnxValue*>& inputs);
  Status SetOutputs();
  Value* Materialize(OnnxValue& v, const std::string& onnx_name);
  void NameValue(Value* v, const std::string& onnx_name);
  Dim SymbolFor(const std::string& dim_param);

  const onnx::ModelProto& model_;
  std::string base_dir_;
  std::string source_;
  OnnxImportOptions options_;
  Builder builder_;
  std::shared_ptr<TensorMap> weights_;
  int opset_ = 0;
  std::map<std::string, OnnxValue> values_;
};

Status Importer::ReadOpset() {
  bool found = false;
  for (const auto& op : model_.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") {
      found = true;
      opset_ = static_cast<int>(op.version());
    }
  }
  if (!found) {
    std::string domains;
    for (const auto& op : model_.opset_import())
      domains += (domains.empty() ? "" : ", ") + op.domain();
    if (domains.empty())
      return InvalidArgument("the model imports no opset (opset_import is empty)");
    return Unimplemented("the model imports no opset of the default ONNX domain (only " + domains +
                         "; other domains are not supported)");
  }
  if (opset_ < onnx_import::kMinOpset || opset_ > onnx_import::kMaxOpset) {
    return Unimplemented("opset " + std::to_string(opset_) + " of the default domain is not " +
                         "supported (supported: " + std::to_string(onnx_import::kMinOpset) + ".." +
                         std::to_string(onnx_import::kMaxOpset) + ")");
  }
  return Status::Ok();
}

Dim Importer::SymbolFor(const std::string& dim_param) {
  std::string name = Sanitize(dim_param, false, "d");
  SymbolRange range = options_.symbol_range;
  if (auto it = options_.symbol_ranges.find(name); it != options_.symbol_ranges.end()) {
    range = it->second;
  }
  return builder_.Sym(name, range.min, range.max);
}

Status Importer::DeclareInputs() {
  const onnx::GraphProto& g = model_.graph();
  std::set<std::string> initializers;
  for (const auto& t : g.initializer()) initializers.insert(t.name());
  for (const auto& in : g.input()) {
    if (initializers.count(in.name())) continue;  // IR < 4 lists initializers as inputs too
    std::string what = "graph input '" + in.name() + "'";
    if (in.name().empty()) return InvalidArgument("a graph input has no name");
    if (values_.count(in.name())) return InvalidArgument(what + " is declared twice");
    if (!in.has_type() || !in.type().has_tensor_type()) {
      return Unimplemented(what + ": only tensor inputs are supported");
    }
    const auto& tt = in.type().tensor_type();
    StatusOr<DType> dtype = onnx_import::FromOnnxDType(tt.elem_type());
    if (!dtype.ok()) return dtype.status().WithContext(what);
    if (!tt.has_shape()) return InvalidArgument(what + " has no shape (kiln needs the rank)");
    Shape shape;
    for (int i = 0; i < tt.shape().dim_size(); ++i) {
      const auto& d = tt.shape().dim(i);
      if (d.has_dim_value()) {
        if (d.dim_value() < 0) {
          return InvalidArgument(what + " dim " + std::to_string(i) + " is negative (" +
                                 std::to_string(d.dim_value()) + ")");
        }
        if (d.dim_value() > onnx_import::kMaxDim) {
          return InvalidArgument(what + " dim " + std::to_string(i) + " is too large (" +
                                 std::to_string(d.dim_value()) + ")");
        }
        shape.emplace_back(d.dim_value());
      } else if (d.has_dim_param() && !d.dim_param().empty()) {
        shape.push_back(SymbolFor(d.dim_param()));
      } else {
        shape.push_back(SymbolFor(in.name() + "_dim" + std::to_string(i)));
      }
    }
    if (auto bound = options_.bound_inputs.find(in.name()); bound != options_.bound_inputs.end()) {
      KILN_RETURN_IF_ERROR(BindInput(in.name(), *dtype, shape, bound->second));
      continue;
    }
    if (auto text = options_.bound_values.find(in.name()); text != options_.bound_values.end()) {
      KILN_ASSIGN_OR_RETURN(Tensor value, TensorFromValueList(in.name(), *dtype, shape, text->second));
      KILN_RETURN_IF_ERROR(BindInput(in.name(), *dtype, shape, value));
      continue;
    }
    int64_t numel = 1;
    for (const Dim& d : shape) {
      if (!d.is_static() || d.value() == 0) continue;
      if (numel > onnx_import::kMaxElements / d.value()) {
        return InvalidArgument(what + " has more than 2^40 elements");
      }
      numel *= d.value();
    }
    Value* v = builder_.Input(Sanitize(in.name(), true, "input"), *dtype, shape);
    if (!v) return builder_.status().WithContext(what);
    values_[in.name()].value = v;
  }
  for (const auto& [name, value] : options_.bound_inputs) {
    if (!values_.count(name)) {
      return InvalidArgument("bound input '" + name + "' is not a graph input of the model");
    }
  }
  for (const auto& [name, text] : options_.bound_values) {
    if (!values_.count(name)) {
      return InvalidArgument("bound input '" + name + "' is not a graph input of the model");
    }
  }
  return Status::Ok();
}

Status Importer::BindInput(const std::string& name, DType dtype, const Shape& shape,
                           const Tensor& value) {
  bool same = value.dtype() == dtype && value.rank() == static_cast<int64_t>(shape.size());
  for (size_t i = 0; same && i < shape.size(); ++i) {
    same = !shape[i].is_static() || shape[i].value() == value.shape()[i];
  }
  if (!same) {
    return InvalidArgument("graph input '" + name + "' is declared " +
                           TensorType{dtype, shape}.ToString() + ", bound to " +
                           value.TypeString());
  }
  OnnxValue& v = values_[name];
  v.constant = value;
  v.weight_name = name;
  return Status::Ok();
}

Status Importer::ReadInitializers() {
  const onnx::GraphProto& g = model_.graph();
  if (g.sparse_initializer_size() > 0)
    return Unimplemented("sparse initializers are not supported");
  for (const auto& t : g.initializer()) {
    std::string what = "initializer '" + t.name() + "'";
    if (t.name().empty()) return InvalidArgument("an initializer has no name");
    if (values_.count(t.name())) return InvalidArgument(what + " is defined twice");
    KILN_ASSIGN_OR_RETURN(Tensor data, onnx_import::ReadTensorProto(t, base_dir_, what));
    OnnxValue& v = values_[t.name()];
    v.constant = std::move(data);
    v.weight_name = t.name();
  }
  return Status::Ok();
}

StatusOr<std::vector<const onnx::NodeProto*>> Importer::SortNodes() {
  const onnx::GraphProto& g = model_.graph();
  int n = g.node_size();
  std::map<std::string, int> producer;
  for (int i = 0; i < n; ++i) {
    for (const std::string& out : g.node(i).output()) {
      if (out.empty()) continue;
      if (values_.count(out)) {
        return InvalidArgument("node '" + g.node(i).name() + "' (" + g.node(i).op_type() +
                               ") redefines '" + out + "', a graph input or initializer");
      }
      if (!producer.emplace(out, i).second) {
        return InvalidArgument("value '" + out + "' is produced by two nodes ('" +
                               g.node(producer[out]).name() + "' and '" + g.node(i).name() + "')");
      }
    }
  }
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> users(n);
  for (int i = 0; i < n; ++i) {
    for (const std::string& in : g.node(i).input()) {
      if (in.empty() || values_.count(in)) continue;
      auto it = producer.find(in);
      if (it == producer.end()) {
        return NotFound("node '" + g.node(i).name() + "' (" + g.node(i).op_type() + ") input '" +
                        in + "' is not defined (not a graph input, initializer or node output)");
      }
      ++pending[i];
      users[it->second].push_back(i);
    }
  }
  std::vector<const onnx::NodeProto*> order;
  std::vector<int> ready;
  for (int i = n - 1; i >= 0; --i) {
    if (pending[i] == 0) ready.push_back(i);
  }
  while (!ready.empty()) {
    int i = ready.back();
    ready.pop_back();
    order.push_back(&g.node(i));
    for (int u : users[i]) {
      if (--pending[u] == 0) ready.push_back(u);
    }
  }
  if (static_cast<int>(order.size()) != n) {
    for (int i = 0; i < n; ++i) {
      if (pending[i] > 0) {
        return InvalidArgument("the graph has a cycle: node '" + g.node(i).name() + "' (" +
                               g.node(i).op_type() + ") depends on its own output");
      }
    }
  }
  return order;
}

void Importer::NameValue(Value* v, const std::string& onnx_name) {
  if (!v || !v->producer()) return;
  std::string name = Sanitize(onnx_name, true, "v");
  if (v->name() == name || builder_.graph().FindValue(name)) return;
  (void)builder_.graph().RenameValue(v, name);
}

Value* Importer::Materialize(OnnxValue& v, const std::string& onnx_name) {
  if (v.value) return v.value;
  if (!v.constant) return nullptr;
  const Tensor& t = *v.constant;
  std::vector<int64_t> shape = t.shape();
  Shape dims = StaticShape(shape);
  bool inline_ok = t.numel() <= kMaxInlineConstant;
  if (inline_ok && IsInteger(t.dtype())) {
    for (int64_t x : t.ToI64())
      inline_ok = inline_ok && x >= -(int64_t{1} << 53) && x <= (int64_t{1} << 53);
  }
  Value* out = nullptr;
  if (inline_ok) {
    out = builder_.Constant(t.dtype(), shape, t.ToF64());
  } else {
    std::string name = v.weight_name.empty() ? onnx_name : v.weight_name;
    (*weights_)[name] = t;
    out = builder_.Weight(name, t.dtype(), dims);
  }
  NameValue(out, onnx_name);
  v.value = out;
  return out;
}

// Evaluates a node with constant inputs. Returns false (nothing recorded) when an output would
// have more than kMaxFoldElements elements: the node is then imported as ops instead.
StatusOr<bool> Importer::FoldNode(const onnx::NodeProto& node, onnx_import::ImportFn fn,
                                  const std::vector<OnnxValue*>& inputs) {
  Graph scratch("fold");
  Builder sb(&scratch);
  std::vector<Tensor> feeds;
  std::map<const OnnxValue*, Value*> fed;
  auto materialize = [&](OnnxValue& v, const std::string&) -> Value* {
    if (auto it = fed.find(&v); it != fed.end()) return it->second;
    Value* in = sb.Input("in" + std::to_string(feeds.size()), v.constant->dtype(),
                         StaticShape(v.constant->shape()));
    feeds.push_back(*v.constant);
    fed[&v] = in;
    return in;
  };
  NodeContext ctx(node, opset_, sb, inputs, materialize);
  fn(ctx);
  if (!ctx.ok()) return ctx.status();
  if (const auto* a = ctx.FirstUnusedAttr()) {
    return Unimplemented("attribute '" + a->name() + "' is not supported");
  }
  std::vector<int> computed;
  std::vector<Value*> outs;
  for (int i = 0; i < ctx.num_outputs(); ++i) {
    if (!ctx.has_output(i)) continue;
    const OnnxValue& o = ctx.outputs()[i];
    if (o.value) {
      computed.push_back(i);
      outs.push_back(o.value);
    } else if (!o.constant && !o.dims) {
      return InternalError("output " + std::to_string(i) + " was not produced");
    }
  }
  for (const Value* v : outs) {
    if (!SmallEnoughToFold(v->shape())) return false;
  }
  if (!outs.empty()) {
    scratch.SetOutputs(outs);
    StatusOr<std::vector<Tensor>> results = Interpret(scratch, feeds);
    if (!results.ok()) return results.status().WithContext("folding constants");
    for (size_t k = 0; k < computed.size(); ++k) {
      OnnxValue& o = ctx.mutable_outputs()[computed[k]];
      o.value = nullptr;
      o.constant = (*results)[k];
    }
  }
  for (int i = 0; i < ctx.num_outputs(); ++i) {
    if (ctx.has_output(i)) values_[node.output(i)] = ctx.outputs()[i];
  }
  return true;
}

Status Importer::ImportNode(const onnx::NodeProto& node) {
  std::string where = onnx_import::DescribeNode(node, opset_);
  if (!node.domain().empty() && node.domain() != "ai.onnx") {
    return Unimplemented("op " + node.op_type() + " of domain '" + node.domain() +
                         "' is not supported (only the default ONNX domain), node '" + node.name() +
                         "'");
  }
  onnx_import::ImportFn fn = onnx_import::OnnxOps().Find(node.op_type(), opset_);
  if (!fn) {
    std::string opsets = onnx_import::OnnxOps().SupportedOpsets(node.op_type());
    return Unimplemented(
        where + ": unsupported op " + node.op_type() +
        (opsets.empty() ? "" : " at this opset (supported at opsets " + opsets + ")"));
  }
  std::vector<OnnxValue*> inputs;
  bool all_constant = true;
  int64_t const_elements = 0;
  for (const std::string& in : node.input()) {
    if (in.empty()) {
      inputs.push_back(nullptr);
      continue;
    }
    OnnxValue* v = &values_.at(in);  // SortNodes checked every name
    inputs.push_back(v);
    if (v->value || !v->constant) {
      all_constant = false;
    } else {
      const_elements += v->constant->numel();
    }
  }
  if (all_constant && const_elements <= kMaxFoldElements) {
    StatusOr<bool> folded = FoldNode(node, fn, inputs);
    if (!folded.ok()) return folded.status().WithContext(where);
    if (*folded) return Status::Ok();
  }
  NodeContext ctx(node, opset_, builder_, inputs,
                  [this](OnnxValue& v, const std::string& name) { return Materialize(v, name); });
  fn(ctx);
  if (!ctx.ok()) return ctx.status().WithContext(where);
  if (const auto* a = ctx.FirstUnusedAttr()) {
    return Unimplemented(where + ": attribute '" + a->name() + "' is not supported");
  }
  for (int i = 0; i < ctx.num_outputs(); ++i) {
    if (!ctx.has_output(i)) continue;
    const OnnxValue& o = ctx.outputs()[i];
    if (!o.value && !o.constant && !o.dims) {
      return InternalError(where + ": output " + std::to_string(i) + " was not produced");
    }
    NameValue(o.value, node.output(i));
    values_[node.output(i)] = o;
  }
  return Status::Ok();
}

Status Importer::SetOutputs() {
  const onnx::GraphProto& g = model_.graph();
  if (g.output_size() == 0) return InvalidArgument("the graph has no outputs");
  std::set<const Value*> used;
  for (const auto& out : g.output()) {
    auto it = values_.find(out.name());
    if (it == values_.end()) {
      return NotFound("graph output '" + out.name() +
                      "' is not defined by any node, input or "
                      "initializer");
    }
    OnnxValue& v = it->second;
    if (!v.value && v.dims) {
      return Unimplemented("graph output '" + out.name() +
                           "' is a shape computed from symbolic "
                           "dims " +
                           ShapeToString(*v.dims) + "; kiln cannot return it");
    }
    Value* value = Materialize(v, out.name());
    if (!value) return builder_.status().WithContext("graph output '" + out.name() + "'");
    std::string name = Sanitize(out.name(), true, "output");
    if (value->producer() && !used.count(value) &&
        (value->name() == name || !builder_.graph().FindValue(name))) {
      builder_.Output(value, name);
    } else {
      builder_.Output(value);
    }
    used.insert(value);
  }
  return Status::Ok();
}

StatusOr<Graph> Importer::Run() {
  if (!model_.has_graph()) return InvalidArgument("the model has no graph");
  if (model_.ir_version() < 3) {
    return InvalidArgument("ir_version " + std::to_string(model_.ir_version()) +
                           " is not supported (expected >= 3; 0 usually means this is not an "
                           "ONNX model)");
  }
  KILN_RETURN_IF_ERROR(ReadOpset());
  KILN_RETURN_IF_ERROR(DeclareInputs());
  KILN_RETURN_IF_ERROR(ReadInitializers());
  KILN_ASSIGN_OR_RETURN(std::vector<const onnx::NodeProto*> order, SortNodes());
  for (const onnx::NodeProto* node : order) KILN_RETURN_IF_ERROR(ImportNode(*node));
  KILN_RETURN_IF_ERROR(SetOutputs());
  KILN_ASSIGN_OR_RETURN(Graph graph, builder_.Finish());
  graph.set_weights(weights_);
  KILN_RETURN_IF_ERROR(Verify(graph));
  return graph;
}

}  // namespace

bool IsOnnxPath(const std::string& path) { return path.ends_with(".onnx"); }

StatusOr<Graph> ImportOnnxBytes(const std::string& bytes, const std::string& base_dir,
                                const std::string& source_name, const OnnxImportOptions& options) {
  RegisterAllOps();  // idempotent; lets tools such as fuzzers use the importer alone
  onnx::ModelProto model;
  if (bytes.empty()) return ParseError(source_name + ": empty file, expected an ONNX model");
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return Unimplemented(source_name +
                         ": a protobuf larger than 2 GiB cannot be parsed; store "
                         "the weights as external data");
  }
  if (!model.ParseFromString(bytes)) {
    return ParseError(source_name +
                      ": not a valid ONNX model (the protobuf does not parse: a "
                      "truncated file or another format)");
  }
  Importer importer(model, base_dir, source_name, options);
  StatusOr<Graph> graph = importer.Run();
  if (!graph.ok()) return graph.status().WithContext(source_name);
  return graph;
}

StatusOr<Graph> ImportOnnxFile(const std::string& path, const OnnxImportOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFound("no such file: " + path);
  if (std::filesystem::is_directory(path, ec)) {
    return InvalidArgument(path + " is a directory, expected an .onnx file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path + " for reading");
  std::ostringstream data;
  data << in.rdbuf();
  if (in.bad()) return InternalError("error while reading " + path);
  std::string base = std::filesystem::absolute(path, ec).parent_path().string();
  return ImportOnnxBytes(data.str(), base, path, options);
}

}  // namespace kiln
