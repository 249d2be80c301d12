// run_model: loads a compiled kiln model library, prints its interface and runs it once.
//
//   run_model MODULE.so WEIGHTS.safetensors
//
// The input is deterministic (element i is 0.5 * i - 2), so the printed outputs can be compared
// between runs and machines. Every kiln call returns a Status; errors are printed, exit code 1.
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kiln/module.h"
#include "kiln/status.h"

namespace {

// Prints a list of values as "[a, b, c]".
template <typename T>
void PrintList(const std::vector<T>& values) {
  std::cout << "[";
  for (size_t i = 0; i < values.size(); ++i) std::cout << (i ? ", " : "") << values[i];
  std::cout << "]";
}

kiln::Status RunModel(const std::string& module_path, const std::string& weights_path) {
  // Load the library: checks that it is a kiln module built for this runtime's ABI version.
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<kiln::Module> module, kiln::Module::Load(module_path));
  std::cout << "module " << module->path() << " (target " << module->target() << ")\n";
  for (const kiln::IoInfo& io : module->inputs()) {
    std::cout << "  input  " << io.name << " " << io.TypeString() << "\n";
  }
  for (const kiln::IoInfo& io : module->outputs()) {
    std::cout << "  output " << io.name << " " << io.TypeString() << "\n";
  }

  // Pick a value for each dynamic dim: 2, moved into the symbol's declared range.
  std::map<std::string, int64_t> symbol_values;
  for (const kiln::SymbolInfo& symbol : module->symbols()) {
    int64_t value = std::min(std::max<int64_t>(2, symbol.min), symbol.max);
    symbol_values[symbol.name] = value;
    std::cout << "  symbol " << symbol.name << " in [" << symbol.min << ", " << symbol.max
              << "], using " << value << "\n";
  }

  // An instance holds the weights (loaded and checked here) and the workspace.
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<kiln::Instance> instance,
                        module->CreateInstance(weights_path));

  // Build each input: static dims as declared, symbolic dims from symbol_values. This example
  // handles dims that are a single symbol ("N"); expressions such as "S*12" are reported.
  std::vector<kiln::Tensor> inputs;
  for (const kiln::IoInfo& io : module->inputs()) {
    std::vector<int64_t> shape;
    for (int64_t d = 0; d < io.rank(); ++d) {
      if (io.static_dims[d] >= 0) {
        shape.push_back(io.static_dims[d]);
      } else if (auto it = symbol_values.find(io.dims[d]); it != symbol_values.end()) {
        shape.push_back(it->second);
      } else {
        return kiln::Status(kiln::StatusCode::kUnimplemented,
                            "input " + io.name + ": run_model cannot size the dim \"" +
                                io.dims[d] + "\" (only single-symbol dims)");
      }
    }
    int64_t numel = 1;
    for (int64_t s : shape) numel *= s;
    std::vector<float> values(numel);
    for (int64_t i = 0; i < numel; ++i) values[i] = 0.5f * static_cast<float>(i) - 2.0f;
    // FromF32 converts to the input's dtype (f16, bf16, integers, ...).
    inputs.push_back(kiln::Tensor::FromF32(io.dtype, shape, values));
    std::cout << "input " << io.name << " " << inputs.back().TypeString() << " = ";
    PrintList(values);
    std::cout << "\n";
  }

  // Run checks the inputs against the declared types, binds the dims and allocates the outputs.
  std::vector<kiln::Tensor> outputs;
  KILN_RETURN_IF_ERROR(instance->Run(inputs, &outputs));
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::cout << "output " << module->outputs()[i].name << " " << outputs[i].TypeString()
              << " = ";
    PrintList(outputs[i].ToF32());
    std::cout << "\n";
  }
  return kiln::Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " MODULE.so WEIGHTS.safetensors\n";
    return 2;
  }
  kiln::Status status = RunModel(argv[1], argv[2]);
  if (!status.ok()) {
    std::cerr << "run_model: " << status.ToString() << "\n";
    return 1;
  }
  return 0;
}
