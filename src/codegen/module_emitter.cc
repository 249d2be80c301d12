#include "codegen/module_emitter.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "ir/printer.h"
#include "support/check.h"
#include "support/float16.h"

namespace kiln::codegen {
namespace {

// `prefix` (by default "// ") before every line of `text`.
std::string CommentLines(const std::string& text, const std::string& prefix = "// ") {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    out += prefix + text.substr(start, nl - start) + "\n";
    start = nl + 1;
  }
  return out;
}

std::string CString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The symbols of `graph` in module order and their local declarations.
std::string SymbolLocals(const std::vector<std::string>& symbols, const std::string& array,
                         const std::string& indent) {
  std::string out;
  for (size_t i = 0; i < symbols.size(); ++i) {
    out += indent + "[[maybe_unused]] const int64_t sym_" + symbols[i] + " = " + array + "[" +
           std::to_string(i) + "];\n";
  }
  return out;
}

class Emitter {
 public:
  Emitter(const Graph& graph, const MemoryPlan& plan, const TargetEmitters& target,
          const EmitOptions& options)
      : graph_(graph), plan_(plan), target_(target), options_(options) {
    for (const auto& [name, range] : graph.symbols()) symbols_.push_back(name);
    for (const BufferAssignment& b : plan.buffers) buffers_[b.value] = &b;
    for (size_t i = 0; i < graph.inputs().size(); ++i) input_index_[graph.inputs()[i]] = static_cast<int>(i);
    for (size_t i = 0; i < graph.outputs().size(); ++i) output_index_.emplace(graph.outputs()[i], static_cast<int>(i));
  }

  StatusOr<GeneratedModule> Emit() {
    std::string constants, calls;
    for (const auto& node_ptr : graph_.nodes()) {
      const Node& node = *node_ptr;
      if (node.op() == OpKind::kWeight) {
        const std::string& name = node.GetString("name");
        auto [it, inserted] = weight_index_.emplace(name, static_cast<int>(weight_nodes_.size()));
        if (inserted) weight_nodes_.push_back(&node);
        location_[node.output()] = "w[" + std::to_string(it->second) + "]";
        continue;
      }
      if (node.op() == OpKind::kConstant) {
        std::string name = "kConst" + std::to_string(num_constants_++);
        constants += EmitConstant(node, name);
        location_[node.output()] = name;
        continue;
      }
      KILN_ASSIGN_OR_RETURN(std::string call, EmitCall(node));
      calls += call;
    }
    KILN_ASSIGN_OR_RETURN(std::string copies, EmitOutputCopies());
    GeneratedModule module;
    module.kernel_calls = kernel_calls_;
    module.scratch_bytes = ScratchRegion();
    for (const Node* w : weight_nodes_) module.weight_names.push_back(w->GetString("name"));
    for (size_t k = 0; k < kernels_.size(); ++k) {
      module.kernels.push_back({"kernels/kernel_" + std::to_string(k) + target_.source_extension,
                                KernelFile(k)});
    }
    for (const Shared& f : shared_) {
      module.kernels.push_back({"kernels/" + f.fn.name + target_.source_extension, SharedFile(f)});
    }
    module.model = {"model.cc", ModelFile(constants, calls + copies)};
    return module;
  }

 private:
  struct Kernel {
    std::string code;          // signature + body
    std::string first_node;    // IR of the first node using it
    int uses = 0;
  };
  struct Shared {
    SharedFunction fn;
    std::string first_node;  // IR of the first node calling it
    int uses = 0;            // nodes calling it
  };

  Status AddShared(const SharedFunction& f, const Node& node) {
    auto [it, inserted] = shared_by_name_.emplace(f.name, shared_.size());
    if (inserted) {
      shared_.push_back({f, PrintNode(node), 0});
    } else if (shared_[it->second].fn.params != f.params || shared_[it->second].fn.code != f.code) {
      return InternalError("codegen: shared function " + f.name + " of " + node.Describe() +
                           " has the name of a different one (hash collision)");
    }
    ++shared_[it->second].uses;
    return Status::Ok();
  }

  // Moves body lines `#include "..."` (headers only some kernels need) and `extern ...;`
  // declarations (of shared functions) out of `code` into `top`.
  static std::string SplitTopLines(const std::string& code, std::string* top) {
    std::string rest;
    for (size_t start = 0; start < code.size();) {
      size_t end = code.find('\n', start);
      end = end == std::string::npos ? code.size() : end + 1;
      const std::string line = code.substr(start, end - start);
      const size_t text = line.find_first_not_of(' ');
      if (text != std::string::npos && (line.compare(text, 9, "#include ") == 0 ||
                                        line.compare(text, 7, "extern ") == 0)) {
        *top += line.substr(text);
      } else {
        rest += line;
      }
      start = end;
    }
    return rest;
  }

  std::string SharedFile(const Shared& f) const {
    std::string out = "// Generated by kiln for graph \"" + graph_.name() + "\", target " +
                      target_.name + ". Do not edit.\n// " + f.fn.name + ": shared by " +
                      std::to_string(f.uses) + " node" + (f.uses == 1 ? "" : "s") +
                      " (one instantiation, called with each node's sizes); the first one:\n";
    out += CommentLines(f.first_node, "//   ");
    out += target_.kernel_prelude;
    std::string top;
    const std::string code = SplitTopLines(f.fn.code, &top);
    out += top + "\n";
    std::string body;
    for (size_t start = 0; start < code.size();) {
      size_t end = code.find('\n', start);
      end = end == std::string::npos ? code.size() : end + 1;
      if (end - start > 1) body += "  ";
      body += code.substr(start, end - start);
      start = end;
    }
    return out + "void " + f.fn.name + "(" + f.fn.params + ") {\n" + body + "}\n";
  }

  // Where `v` lives, as a C++ pointer expression valid in Run().
  StatusOr<std::string> Location(const Value* v) {
    if (auto it = location_.find(v); it != location_.end()) return it->second;
    std::string loc;
    if (auto it = input_index_.find(v); it != input_index_.end()) {
      loc = "a.inputs[" + std::to_string(it->second) + "]";
    } else if (auto it = output_index_.find(v); it != output_index_.end()) {
      loc = "a.outputs[" + std::to_string(it->second) + "]";
    } else if (auto it = buffers_.find(v); it != buffers_.end()) {
      if (it->second->is_view) {
        KILN_ASSIGN_OR_RETURN(loc, Location(it->second->shares_with));
      } else {
        loc = WorkspaceAt(it->second->offset, it->second->offset_per_unit);
      }
    } else if (v->producer() != nullptr && IsViewNode(*v->producer())) {
      // A view of a value outside the workspace (an input, output, weight or constant).
      KILN_ASSIGN_OR_RETURN(loc, Location(v->producer()->input(0)));
    } else {
      return InternalError("codegen: value %" + v->name() + " has no buffer in the memory plan");
    }
    location_[v] = loc;
    return loc;
  }

  std::string EmitConstant(const Node& node, const std::string& name) {
    const std::vector<double>& values = node.GetFloats("value");
    DType dtype = node.output()->dtype();
    int64_t n = 1;
    for (int64_t d : node.GetInts("shape")) n *= d;
    std::string out = CommentLines(PrintNode(node));
    out += "alignas(64) const " + CpuStorageType(dtype) + " " + name + "[" +
           std::to_string(std::max<int64_t>(n, 1)) + "] = {";
    for (int64_t i = 0; i < n; ++i) {
      if (i % 8 == 0) out += "\n    ";
      out += LiteralExpr(values.size() == 1 ? values[0] : values[i], dtype) + ", ";
    }
    return out + "};\n";
  }

  StatusOr<std::string> EmitCall(const Node& node) {
    std::vector<std::string> ins, outs;
    for (const Value* v : node.inputs()) {
      KILN_ASSIGN_OR_RETURN(std::string loc, Location(v));
      ins.push_back(loc);
    }
    for (const Value* v : node.outputs()) {
      KILN_ASSIGN_OR_RETURN(std::string loc, Location(v));
      outs.push_back(loc);
    }
    std::string comment = CommentLines(PrintNode(node), "  // ");
    if (IsViewNode(node) && ins[0] == outs[0]) {
      return comment + "  // (a view: shares its operand's buffer, nothing to run)\n";
    }
    KernelEmitFn fn = target_.find(node.op());
    if (fn == nullptr) {
      return Unimplemented(node.Describe() + ": op " + std::string(node.op_name()) +
                                " is not supported on the " + target_.name + " target yet");
    }
    auto config = options_.node_configs.find(&node);
    KernelContext ctx(node, symbols_,
                      config == options_.node_configs.end() ? std::string() : config->second);
    CodeWriter body;
    body.Open("");  // indent the body one level; the brace lines are written below
    KILN_RETURN_IF_ERROR(fn(ctx, body));
    if (ctx.scratch_bytes() > 0) {  // the scratch region after the planned buffers
      outs.push_back(plan_.scale_symbol.empty() ? WorkspaceAt(plan_.workspace_bytes, 0)
                                                : WorkspaceAt(plan_.fixed_bytes, plan_.unit_bytes));
      scratch_bytes_ = std::max(scratch_bytes_, ctx.scratch_bytes());
    }
    std::string code;
    for (const SharedFunction& f : ctx.shared()) {
      KILN_RETURN_IF_ERROR(AddShared(f, node));
      code += "extern void " + f.name + "(" + f.params + ");\n";  // moved to file scope
    }
    code += OperandLocals(node, "  ");
    code += SymbolLocals(symbols_, "sym", "  ");
    std::string body_text = body.str();
    body_text.erase(0, body_text.find('\n') + 1);  // drop the empty Open("") line
    code += body_text;

    auto [it, inserted] = kernel_by_code_.emplace(code, static_cast<int>(kernels_.size()));
    if (inserted) kernels_.push_back({code, PrintNode(node), 0});
    int k = it->second;
    ++kernels_[k].uses;
    ++kernel_calls_;
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
      return s;
    };
    return comment + "  {\n    const void* i[] = {" + (ins.empty() ? "nullptr" : join(ins)) +
           "};\n    void* o[] = {" + join(outs) + "};\n    kernel_" + std::to_string(k) +
           "(i, o, a.sym, a.stream);\n  }\n";
  }

  // Outputs whose value lives elsewhere (a graph input, weight, constant or an earlier output)
  // are copied at the end of Run.
  StatusOr<std::string> EmitOutputCopies() {
    std::string out;
    for (size_t k = 0; k < graph_.outputs().size(); ++k) {
      const Value* v = graph_.outputs()[k];
      KILN_ASSIGN_OR_RETURN(std::string loc, Location(v));
      std::string self = "a.outputs[" + std::to_string(k) + "]";
      if (loc == self) continue;
      out += "  // output " + std::to_string(k) + " (\"" + v->name() + "\") is stored elsewhere\n";
      out += "  kiln_rt::DeviceCopy(" + self + ", " + loc + ", static_cast<size_t>(" +
             ProductExpr(v->shape(), 0, v->rank()) + ") * " + std::to_string(DTypeSize(v->dtype())) +
             ", a.stream);\n";
    }
    return out;
  }

  // The pointer expression (in Run) of workspace offset `offset` + `per_unit` times the scale
  // symbol's value (MemoryPlan::scale_symbol).
  std::string WorkspaceAt(int64_t offset, int64_t per_unit) const {
    std::string out = "ws + " + std::to_string(offset);
    if (per_unit != 0) {
      out = (offset == 0 ? "ws" : out) + " + " + std::to_string(per_unit) + " * sym_" + plan_.scale_symbol;
    }
    return out;
  }

  // The scratch region's size: the largest request, rounded up to the plan's alignment.
  int64_t ScratchRegion() const {
    return (scratch_bytes_ + plan_.alignment - 1) / plan_.alignment * plan_.alignment;
  }

  std::string KernelFile(size_t k) const {
    const Kernel& kernel = kernels_[k];
    std::string out = "// Generated by kiln for graph \"" + graph_.name() + "\", target " +
                      target_.name + ". Do not edit.\n// kernel_" + std::to_string(k) +
                      ": used by " + std::to_string(kernel.uses) + " node" +
                      (kernel.uses == 1 ? "" : "s") + "; the first one:\n";
    out += CommentLines(kernel.first_node, "//   ");
    out += target_.kernel_prelude;
    // Body lines `#include "..."` and shared-function declarations go after the prelude.
    std::string includes;
    const std::string code = SplitTopLines(kernel.code, &includes);
    out += includes + "\n";
    out += "void kernel_" + std::to_string(k) +
           "(const void* const* in, void* const* out, const int64_t* sym, "
           "[[maybe_unused]] void* stream) {\n" +
           code + "}\n";
    return out;
  }

  std::string IoTables(const std::vector<Value*>& values, const std::string& prefix) {
    std::string out;
    for (size_t i = 0; i < values.size(); ++i) {
      const Value* v = values[i];
      std::string dims, exprs;
      for (const Dim& d : v->shape()) {
        dims += (d.is_static() ? std::to_string(d.value()) : "-1") + ", ";
        exprs += (d.is_static() ? "nullptr" : CString(d.ToString())) + ", ";
      }
      if (v->shape().empty()) dims = exprs = "0";  // arrays must not be empty; rank 0 reads none
      if (v->shape().empty()) exprs = "nullptr";
      std::string n = prefix + std::to_string(i);
      out += "const int64_t " + n + "Dims[] = {" + dims + "};\n";
      out += "const char* const " + n + "Exprs[] = {" + exprs + "};\n";
    }
    out += "const kiln_rt::IoDesc " + prefix + "s[] = {\n";
    for (size_t i = 0; i < values.size(); ++i) {
      const Value* v = values[i];
      std::string n = prefix + std::to_string(i);
      out += "    {" + CString(v->name()) + ", " + std::to_string(static_cast<int>(v->dtype())) +
             ", " + std::to_string(v->rank()) + ", " + n + "Dims, " + n + "Exprs},  // " +
             v->type().ToString() + "\n";
    }
    if (values.empty()) out += "    {nullptr, 0, 0, nullptr, nullptr},\n";
    return out + "};\n";
  }

  std::string ModelFile(const std::string& constants, const std::string& calls) {
    std::string out = "// Generated by kiln for graph \"" + graph_.name() + "\", target " +
                      target_.name +
                      ". Do not edit.\n// The model's tables (kiln_rt::ModelDesc, see kiln_rt.h) "
                      "and Run(): one kernel call per node, in order.\n";
    out += "#include <cstddef>\n#include <cstdint>\n\n#include \"kiln_rt.h\"\n\n";
    for (size_t k = 0; k < kernels_.size(); ++k) {
      out += "void kernel_" + std::to_string(k) +
             "(const void* const* in, void* const* out, const int64_t* sym, void* stream);\n";
    }
    if (options_.embed_weights) {
      out += "// The weights file, linked in by weights.S (.incbin).\n"
             "extern \"C\" const unsigned char kiln_embedded_weights_begin[];\n"
             "extern \"C\" const unsigned char kiln_embedded_weights_end[];\n";
    }
    out += "\nnamespace {\n\n";
    out += IoTables(graph_.inputs(), "kInput") + "\n";
    out += IoTables(graph_.outputs(), "kOutput") + "\n";
    out += "const kiln_rt::SymbolDesc kSymbols[] = {\n";
    for (const auto& [name, range] : graph_.symbols()) {
      out += "    {" + CString(name) + ", " + std::to_string(range.min) + ", " +
             std::to_string(range.max) + "},\n";
    }
    if (symbols_.empty()) out += "    {nullptr, 0, 0},\n";
    out += "};\n\n";
    for (size_t i = 0; i < weight_nodes_.size(); ++i) {
      std::string dims;
      for (int64_t d : weight_nodes_[i]->GetInts("shape")) dims += std::to_string(d) + ", ";
      out += "const int64_t kWeight" + std::to_string(i) + "Dims[] = {" + (dims.empty() ? "0" : dims) + "};\n";
    }
    out += "const kiln_rt::WeightDesc kWeights[] = {\n";
    for (size_t i = 0; i < weight_nodes_.size(); ++i) {
      const Node* w = weight_nodes_[i];
      out += "    {" + CString(w->GetString("name")) + ", " +
             std::to_string(static_cast<int>(w->output()->dtype())) + ", " +
             std::to_string(w->GetInts("shape").size()) + ", kWeight" + std::to_string(i) +
             "Dims},  // " + w->output()->type().ToString() + "\n";
    }
    if (weight_nodes_.empty()) out += "    {nullptr, 0, 0, nullptr},\n";
    out += "};\n\n" + constants + "\n";

    out += "void OutputShape(int index, [[maybe_unused]] const int64_t* sym, int64_t* dims) {\n";
    out += SymbolLocals(symbols_, "sym", "  ");
    out += "  switch (index) {\n";
    for (size_t k = 0; k < graph_.outputs().size(); ++k) {
      out += "    case " + std::to_string(k) + ":";
      const Shape& shape = graph_.outputs()[k]->shape();
      for (size_t d = 0; d < shape.size(); ++d) {
        out += " dims[" + std::to_string(d) + "] = " + DimExpr(shape[d]) + ";";
      }
      out += " return;\n";
    }
    out += "  }\n}\n\n";
    out += "void Run(const kiln_rt::RunArgs& a) {\n";
    out += "  [[maybe_unused]] char* ws = a.workspace;\n";
    out += "  [[maybe_unused]] const void* const* w = a.weights;\n";
    out += SymbolLocals(symbols_, "a.sym", "  ");
    out += calls + "}\n\n}  // namespace\n\n";
    out += "extern const kiln_rt::ModelDesc kiln_rt::kModel = {\n";
    out += "    " + CString(target_.name) + ",\n";
    out += "    " + std::to_string(graph_.inputs().size()) + ", kInputs,\n";
    out += "    " + std::to_string(graph_.outputs().size()) + ", kOutputs,\n";
    out += "    " + std::to_string(symbols_.size()) + ", kSymbols,\n";
    out += "    " + std::to_string(weight_nodes_.size()) + ", kWeights,\n";
    out += "    " + std::to_string(plan_.workspace_bytes + ScratchRegion()) + ",  // workspace bytes" +
           (scratch_bytes_ > 0 ? " (the last " + std::to_string(ScratchRegion()) + ": kernel scratch)" : "") +
           "\n";
    int scale_index = -1;
    for (size_t i = 0; i < symbols_.size(); ++i) {
      if (symbols_[i] == plan_.scale_symbol) scale_index = static_cast<int>(i);
    }
    out += "    " + std::to_string(scale_index) + ", " + std::to_string(plan_.unit_bytes) +
           (scale_index < 0 ? ",  // static workspace offsets\n"
                            : ",  // the workspace scales with " + plan_.scale_symbol + ": bytes per unit\n");
    out += "    OutputShape,\n    Run,\n";
    if (options_.embed_weights) {
      out += "    kiln_embedded_weights_begin,\n    static_cast<uint64_t>(kiln_embedded_weights_end - "
             "kiln_embedded_weights_begin),\n";
    } else {
      out += "    nullptr, 0,  // no embedded weights\n";
    }
    out += std::string("    ") + (options_.cuda_graphs ? "true" : "false") + ",  // CUDA graphs\n};\n";
    return out;
  }

  const Graph& graph_;
  const MemoryPlan& plan_;
  const TargetEmitters& target_;
  const EmitOptions& options_;
  std::vector<std::string> symbols_;
  std::unordered_map<const Value*, const BufferAssignment*> buffers_;
  std::unordered_map<const Value*, int> input_index_;
  std::unordered_map<const Value*, int> output_index_;  // first index of each output value
  std::unordered_map<const Value*, std::string> location_;
  std::map<std::string, int> weight_index_;
  std::vector<const Node*> weight_nodes_;
  int num_constants_ = 0;
  std::vector<Kernel> kernels_;
  std::vector<Shared> shared_;
  std::unordered_map<std::string, size_t> shared_by_name_;
  std::map<std::string, int> kernel_by_code_;
  int kernel_calls_ = 0;
  int64_t scratch_bytes_ = 0;  // the largest KernelContext::Scratch request
};

}  // namespace

StatusOr<GeneratedModule> EmitModule(const Graph& graph, const MemoryPlan& plan,
                                     const TargetEmitters& target, const EmitOptions& options) {
  KILN_CHECK(target.find != nullptr) << "target " << target.name << " has no emitter table";
  return Emitter(graph, plan, target, options).Emit();
}

}  // namespace kiln::codegen
