// ONNX importer: reads an ONNX ModelProto (opsets 13..21 of the default domain; older opsets down
// to 1 where every op used resolves to a version the importer implements, see onnx_op_table.h)
// into a kiln Graph with its weights.
//
//   StatusOr<Graph> g = kiln::ImportOnnxFile("model.onnx");
//
// The model is parsed with protobuf only (never the ONNX checker or its schemas, which stop at
// opset 17 in Debian's libonnx): each op's import function checks the attributes and inputs it
// understands and the importer rejects any other attribute, so nothing is imported wrongly. Errors
// name the op type, opset and node name.
//
// Mapping:
//  - graph inputs that are not initializers become graph inputs; `dim_param` names become symbolic
//    dims (sanitised to identifiers) with range options.symbol_range (default [1, 64]: ONNX does
//    not say which dims are batch-like, so every dynamic dim gets it; `kiln compile --dynamic
//    NAME=MIN..MAX` sets the real range). A dim with neither value nor name gets a symbol named
//    after its input and axis.
//  - initializers become weights named as in the model (raw_data or the typed fields; external
//    data files relative to the model's directory), except tensors of at most
//    kMaxInlineConstant elements, which become `constant` nodes.
//  - nodes whose inputs are all known at import time are folded (evaluated by the reference
//    interpreter); Shape and the integer arithmetic on it (Gather, Concat, Slice, Unsqueeze,
//    Squeeze, Cast, Add, Sub, Mul, Div, Equal, Where, Reshape) are folded into symbolic dims, so
//    PyTorch's Shape -> Gather -> Concat -> Reshape chains become static or symbolic reshape
//    attributes.
//    A shape value that cannot be folded is an error naming the op.
#ifndef KILN_FRONTEND_ONNX_ONNX_IMPORTER_H_
#define KILN_FRONTEND_ONNX_ONNX_IMPORTER_H_

#include <cstdint>
#include <map>
#include <string>

#include "ir/graph.h"
#include "kiln/status.h"
#include "support/tensor.h"

namespace kiln {

struct OnnxImportOptions {
  /// Range of every symbolic dim (dim_param) not named in symbol_ranges.
  SymbolRange symbol_range = {1, 64};
  /// Per-symbol ranges, by the sanitised symbol name.
  std::map<std::string, SymbolRange> symbol_ranges = {};
  /// Graph inputs (by ONNX name) specialised to these values: they become constants known at
  /// import time instead of graph inputs, so inputs that decide shapes (Reshape's shape, Tile's
  /// repeats, ...) can be folded. Each must match the declared dtype, rank and static dims.
  std::map<std::string, Tensor> bound_inputs = {};
  /// Graph inputs bound to comma-separated values ("1,3,-1"; `kiln compile --bind`), as
  /// bound_inputs with the tensor made here: the input's declared dtype (integers range-checked,
  /// bools 0 / 1 / true / false, floats) and shape (its static dims; for a symbolic one, a
  /// scalar or 1-D of that many values).
  std::map<std::string, std::string> bound_values = {};
};

/// Tensors with at most this many elements become `constant` nodes instead of weights.
inline constexpr int64_t kMaxInlineConstant = 16;

/// True when `path` names an ONNX file (ends in ".onnx").
bool IsOnnxPath(const std::string& path);

/// Reads and imports an ONNX model file; external data is looked up beside it.
StatusOr<Graph> ImportOnnxFile(const std::string& path, const OnnxImportOptions& options = {});

/// Imports a serialised ModelProto. `base_dir` resolves external data locations (empty: external
/// data is an error). `source_name` prefixes error messages.
StatusOr<Graph> ImportOnnxBytes(const std::string& bytes, const std::string& base_dir,
                                const std::string& source_name,
                                const OnnxImportOptions& options = {});

}  // namespace kiln

#endif  // KILN_FRONTEND_ONNX_ONNX_IMPORTER_H_
