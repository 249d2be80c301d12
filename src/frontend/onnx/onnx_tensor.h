// Conversions between ONNX TensorProtos / element types and kiln Tensors / DTypes.
//
// TensorProto data may come from raw_data (little-endian), the typed fields (float_data,
// int32_data (also int8/uint8/bool/float16/bfloat16 bit patterns), int64_data) or an external
// file (data_location EXTERNAL; `location` relative to base_dir, optional offset and length).
// Every size is checked against the dims before any copy.
#ifndef KILN_FRONTEND_ONNX_ONNX_TENSOR_H_
#define KILN_FRONTEND_ONNX_ONNX_TENSOR_H_

#include <onnx/onnx_pb.h>

#include <string>

#include "kiln/status.h"
#include "support/dtype.h"
#include "support/tensor.h"

namespace kiln::onnx_import {

/// Largest accepted dim and element count of one tensor (guards against corrupt models).
inline constexpr int64_t kMaxDim = int64_t{1} << 40;
inline constexpr int64_t kMaxElements = int64_t{1} << 40;

/// The ONNX element type name ("FLOAT", "DOUBLE", ...) or "<n>" for an unknown number.
std::string OnnxDTypeName(int32_t elem_type);
/// kiln dtype of an ONNX elem_type: Unimplemented for a known but unsupported type (DOUBLE,
/// STRING, ...), InvalidArgument for an unknown number.
StatusOr<DType> FromOnnxDType(int32_t elem_type);
/// ONNX elem_type of a kiln dtype.
int32_t ToOnnxDType(DType dtype);

/// Reads a TensorProto into a Tensor; `what` names it in errors ("initializer 'w'").
StatusOr<Tensor> ReadTensorProto(const onnx::TensorProto& proto, const std::string& base_dir,
                                 const std::string& what);

/// Reads a serialized TensorProto file (an ONNX test-data input_N.pb / output_N.pb) into a
/// Tensor; *name (when given) receives the proto's name, possibly empty. External data is read
/// relative to the file's directory. NotFound for a missing file, ParseError for bytes that are
/// not a TensorProto; errors name the path.
StatusOr<Tensor> ReadTensorProtoFile(const std::string& path, std::string* name = nullptr);

/// Writes a Tensor as a TensorProto with raw_data (tests, test-data files).
onnx::TensorProto ToTensorProto(const Tensor& tensor, const std::string& name);

}  // namespace kiln::onnx_import

#endif  // KILN_FRONTEND_ONNX_ONNX_TENSOR_H_
