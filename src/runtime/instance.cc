// Instance: input validation, dynamic-dim binding and runs through the module C ABI.
#include <map>

#include "kiln/module.h"
#include "runtime/dim_expr.h"

namespace kiln {
namespace {

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

Instance::~Instance() { module_->api_.instance_destroy(handle_); }

StatusOr<std::vector<int64_t>> Instance::BindDims(const std::vector<Tensor>& inputs) const {
  const Module& m = *module_;
  if (inputs.size() != m.inputs_.size()) {
    std::string names;
    for (const IoInfo& in : m.inputs_) names += (names.empty() ? "" : ", ") + in.name;
    return InvalidArgument("module " + m.path_ + " takes " + std::to_string(m.inputs_.size()) +
                           (m.inputs_.size() == 1 ? " input (" : " inputs (") + names + "), got " +
                           std::to_string(inputs.size()));
  }
  std::map<std::string, int64_t> values;
  std::map<std::string, std::string> bound_by;  // symbol -> "input x dim 0", for messages
  // First the dims that are a single symbol bind it (all of them must agree); the ranges and the
  // compound expressions are checked once every symbol is bound.
  for (size_t i = 0; i < inputs.size(); ++i) {
    const IoInfo& in = m.inputs_[i];
    const Tensor& t = inputs[i];
    std::string where = "input " + in.name;
    if (t.dtype() != in.dtype) {
      return InvalidArgument(where + ": expected dtype " + std::string(DTypeName(in.dtype)) +
                             ", got " + std::string(DTypeName(t.dtype())));
    }
    if (t.rank() != in.rank()) {
      return InvalidArgument(where + ": expected " + in.TypeString() + " (rank " +
                             std::to_string(in.rank()) + "), got " + t.TypeString());
    }
    for (int64_t a = 0; a < t.rank(); ++a) {
      const auto& expr = m.input_exprs_[i][a];
      if (expr == nullptr) {
        if (t.dim(a) != in.static_dims[a]) {
          return InvalidArgument(where + ": dim " + std::to_string(a) + " must be " + in.dims[a] +
                                 ", got " + std::to_string(t.dim(a)) + " (expected " +
                                 in.TypeString() + ", got " + t.TypeString() + ")");
        }
        continue;
      }
      std::optional<std::string> symbol = expr->AsSymbol();
      if (!symbol) continue;
      std::string here = where + " dim " + std::to_string(a);
      auto [it, inserted] = values.emplace(*symbol, t.dim(a));
      if (inserted) {
        bound_by[*symbol] = here;
      } else if (it->second != t.dim(a)) {
        return InvalidArgument(here + " binds " + *symbol + " = " + std::to_string(t.dim(a)) +
                               " but " + bound_by[*symbol] + " bound " + *symbol + " = " +
                               std::to_string(it->second) + " (got " + t.TypeString() + ")");
      }
    }
  }
  std::vector<int64_t> result;
  for (const SymbolInfo& sym : m.symbols_) {
    auto it = values.find(sym.name);
    if (it == values.end()) {
      return Unimplemented("module " + m.path_ + ": dynamic dim " + sym.name +
                           " is no input dim on its own, so it cannot be inferred from the "
                           "input shapes: set it with SetDims and use RunRaw");
    }
    if (it->second < sym.min || it->second > sym.max) {
      return OutOfRange("dynamic dim " + sym.name + " = " + std::to_string(it->second) + " (" +
                        bound_by[sym.name] + ") is outside its declared range [" +
                        std::to_string(sym.min) + ", " + std::to_string(sym.max) + "]");
    }
    result.push_back(it->second);
  }
  // Dims such as S*12 must equal their value under the bound symbols.
  for (size_t i = 0; i < inputs.size(); ++i) {
    const IoInfo& in = m.inputs_[i];
    for (int64_t a = 0; a < inputs[i].rank(); ++a) {
      const auto& expr = m.input_exprs_[i][a];
      if (expr == nullptr || expr->AsSymbol()) continue;
      KILN_ASSIGN_OR_RETURN(int64_t expected, expr->Evaluate(values));
      if (inputs[i].dim(a) != expected) {
        return InvalidArgument("input " + in.name + ": dim " + std::to_string(a) + " must be " +
                               in.dims[a] + " = " + std::to_string(expected) + ", got " +
                               std::to_string(inputs[i].dim(a)) + " (expected " + in.TypeString() +
                               ", got " + inputs[i].TypeString() + ")");
      }
    }
  }
  return result;
}

Status Instance::SetDims(const std::vector<int64_t>& symbol_values) {
  if (symbol_values.size() != module_->symbols_.size()) {
    return InvalidArgument("module " + module_->path_ + " has " +
                           std::to_string(module_->symbols_.size()) + " dynamic dims, got " +
                           std::to_string(symbol_values.size()) + " values");
  }
  int rc = module_->api_.instance_set_dims(handle_,
                                           symbol_values.empty() ? nullptr : symbol_values.data());
  if (rc != KILN_OK) return module_->AbiError(rc, "setting the dynamic dims");
  return Status::Ok();
}

StatusOr<std::vector<int64_t>> Instance::OutputShape(int index) {
  if (index < 0 || index >= static_cast<int>(module_->outputs_.size())) {
    return OutOfRange("module " + module_->path_ + " has " +
                      std::to_string(module_->outputs_.size()) + " outputs, no output " +
                      std::to_string(index));
  }
  std::vector<int64_t> dims(module_->outputs_[index].rank());
  int rc = module_->api_.instance_output_shape(handle_, index, dims.data());
  if (rc != KILN_OK)
    return module_->AbiError(rc, "output shape of " + module_->outputs_[index].name);
  return dims;
}

Status Instance::RunRaw(std::span<const void* const> inputs, std::span<void* const> outputs,
                        void* stream) {
  if (inputs.size() != module_->inputs_.size() || outputs.size() != module_->outputs_.size()) {
    return InvalidArgument(
        "module " + module_->path_ + " takes " + std::to_string(module_->inputs_.size()) +
        " inputs and " + std::to_string(module_->outputs_.size()) + " outputs, got " +
        std::to_string(inputs.size()) + " and " + std::to_string(outputs.size()));
  }
  int rc = module_->api_.instance_run(handle_, inputs.data(), outputs.data(), stream);
  if (rc != KILN_OK) return module_->AbiError(rc, "run");
  return Status::Ok();
}

Status Instance::RunHost(std::span<const void* const> inputs, std::span<void* const> outputs) {
  if (module_->api_.instance_run_host == nullptr) {
    // A library from a kiln before kiln_instance_run_host: a cpu one runs host data directly.
    if (module_->target_ == "cpu") return RunRaw(inputs, outputs, nullptr);
    return Unimplemented("module " + module_->path_ + " targets " + module_->target_ +
                         " and lacks kiln_instance_run_host (it was built by an older kiln), so "
                         "it cannot run host tensors: recompile it with this kiln, or use RunRaw "
                         "with device pointers");
  }
  if (inputs.size() != module_->inputs_.size() || outputs.size() != module_->outputs_.size()) {
    return InvalidArgument(
        "module " + module_->path_ + " takes " + std::to_string(module_->inputs_.size()) +
        " inputs and " + std::to_string(module_->outputs_.size()) + " outputs, got " +
        std::to_string(inputs.size()) + " and " + std::to_string(outputs.size()));
  }
  int rc = module_->api_.instance_run_host(handle_, inputs.data(), outputs.data());
  if (rc != KILN_OK) return module_->AbiError(rc, "run on host tensors");
  return Status::Ok();
}

Status Instance::Run(const std::vector<Tensor>& inputs, std::vector<Tensor>* outputs) {
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> values, BindDims(inputs));
  KILN_RETURN_IF_ERROR(SetDims(values));
  std::vector<Tensor> results;
  std::vector<void*> out_ptrs;
  for (size_t k = 0; k < module_->outputs_.size(); ++k) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> shape, OutputShape(static_cast<int>(k)));
    for (int64_t d : shape) {
      if (d < 0) {
        return InternalError("module " + module_->path_ + ": output " + module_->outputs_[k].name +
                             " has shape " + ShapeString(shape));
      }
    }
    results.emplace_back(module_->outputs_[k].dtype, std::move(shape));
  }
  for (Tensor& t : results) out_ptrs.push_back(t.mutable_data());
  std::vector<const void*> in_ptrs;
  for (const Tensor& t : inputs) in_ptrs.push_back(t.data());
  KILN_RETURN_IF_ERROR(RunHost(in_ptrs, out_ptrs));
  *outputs = std::move(results);
  return Status::Ok();
}

}  // namespace kiln
