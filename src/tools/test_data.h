// ONNX test-data directories for `kiln run --inputs DIR --expect DIR`: a directory holding
// serialized TensorProtos input_0.pb, input_1.pb, ... and output_0.pb, ... as in the ONNX
// backend node tests (test_data_set_0/). Expected outputs may also come from a safetensors file
// keyed by output name.
//
// Files are matched to the model's inputs (outputs) by position: input_N.pb is input N; when
// every file's TensorProto name is the name of a distinct model input (output), by name instead.
// A directory with more input files than the library has inputs (inputs bound at compile time
// with --bind) is matched by name, the rest ignored, when each input names exactly one file.
// The TensorProto -> Tensor conversion is the ONNX importer's (frontend/onnx/onnx_tensor.h).
#ifndef KILN_TOOLS_TEST_DATA_H_
#define KILN_TOOLS_TEST_DATA_H_

#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/status.h"
#include "support/tensor.h"

namespace kiln::tools {

/// True when `path` names an existing directory.
bool IsDirectory(const std::string& path);

/// One tensor per graph input, read from DIR/input_N.pb. Errors name the file and say what is
/// expected vs found: NotFound for a missing directory or file, InvalidArgument for an extra
/// input_N.pb (wrong count), a dtype, rank or dim that does not fit the input's declared type,
/// or inconsistent dynamic dims (OutOfRange for a dynamic dim outside its declared range).
/// `ignored` (may be null: extra files are an error) receives the input files left out.
StatusOr<std::vector<Tensor>> ReadTestDataInputs(const Graph& graph, const std::string& dir,
                                                 std::vector<std::string>* ignored = nullptr);

/// One expected tensor per output name: from PATH/output_N.pb when PATH is a directory (same
/// matching and count checks as the inputs), else from the safetensors file PATH (entry named
/// like the output; NotFound listing the entries it has when one is missing). Dtypes and shapes
/// are not checked here: the comparison reports them.
StatusOr<std::vector<Tensor>> ReadExpectedOutputs(const std::vector<std::string>& output_names,
                                                  const std::string& path);

}  // namespace kiln::tools

#endif  // KILN_TOOLS_TEST_DATA_H_
