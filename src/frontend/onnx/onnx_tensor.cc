// TensorProto <-> Tensor conversion (see onnx_tensor.h).
#include "frontend/onnx/onnx_tensor.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace kiln::onnx_import {

namespace {

using TP = onnx::TensorProto;

StatusOr<std::string> ReadExternal(const TP& proto, const std::string& base_dir,
                                   const std::string& what, int64_t nbytes) {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;
  for (const auto& kv : proto.external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset" || kv.key() == "length") {
      int64_t v = 0;
      try {
        size_t used = 0;
        v = std::stoll(kv.value(), &used);
        if (used != kv.value().size() || v < 0) throw std::invalid_argument("bad");
      } catch (const std::exception&) {
        return InvalidArgument(what + ": external data " + kv.key() + " '" + kv.value() +
                               "' is not a non-negative integer");
      }
      (kv.key() == "offset" ? offset : length) = v;
    }
  }
  if (location.empty()) return InvalidArgument(what + ": external data without a location");
  std::filesystem::path rel(location);
  if (rel.is_absolute()) {
    return InvalidArgument(what + ": external data location '" + location +
                           "' must be relative to the model's directory");
  }
  for (const auto& part : rel) {
    if (part == "..") {
      return InvalidArgument(what + ": external data location '" + location +
                             "' leaves the model's directory");
    }
  }
  if (base_dir.empty()) {
    return InvalidArgument(what + ": external data '" + location +
                           "' but the model was not read from a file");
  }
  std::filesystem::path path = std::filesystem::path(base_dir) / rel;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFound(what + ": external data file " + path.string() + " not found");
  }
  int64_t file_size = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  if (length < 0) length = nbytes;
  if (length != nbytes) {
    return InvalidArgument(what + ": external data length " + std::to_string(length) +
                           " bytes, expected " + std::to_string(nbytes) + " for its dims");
  }
  if (offset > file_size || file_size - offset < length) {
    return InvalidArgument(what + ": external data " + path.string() + " has " +
                           std::to_string(file_size) + " bytes, expected at least " +
                           std::to_string(offset) + " + " + std::to_string(length));
  }
  std::ifstream in(path, std::ios::binary);
  std::string data(static_cast<size_t>(length), '\0');
  in.seekg(offset);
  in.read(data.data(), length);
  if (!in) return InternalError(what + ": error while reading " + path.string());
  return data;
}

}  // namespace

std::string OnnxDTypeName(int32_t t) {
  if (TP::DataType_IsValid(t)) return TP::DataType_Name(static_cast<TP::DataType>(t));
  return "<" + std::to_string(t) + ">";
}

StatusOr<DType> FromOnnxDType(int32_t t) {
  switch (t) {
    case TP::FLOAT:
      return DType::kF32;
    case TP::FLOAT16:
      return DType::kF16;
    case TP::BFLOAT16:
      return DType::kBF16;
    case TP::INT64:
      return DType::kI64;
    case TP::INT32:
      return DType::kI32;
    case TP::INT8:
      return DType::kI8;
    case TP::UINT8:
      return DType::kU8;
    case TP::BOOL:
      return DType::kBool;
    default:
      break;
  }
  // 17..23 are the float8 / 4-bit types of newer ONNX versions than the Debian proto knows.
  if (TP::DataType_IsValid(t) && t != TP::UNDEFINED) {
    return Unimplemented("element type " + OnnxDTypeName(t) +
                         " is not supported (supported: FLOAT, FLOAT16, BFLOAT16, INT64, INT32, "
                         "INT8, UINT8, BOOL)");
  }
  if (t >= 17 && t <= 23)
    return Unimplemented("element type " + std::to_string(t) + " (float8/4-bit) is not supported");
  return InvalidArgument("unknown element type " + std::to_string(t));
}

int32_t ToOnnxDType(DType d) {
  switch (d) {
    case DType::kF32:
      return TP::FLOAT;
    case DType::kF16:
      return TP::FLOAT16;
    case DType::kBF16:
      return TP::BFLOAT16;
    case DType::kI64:
      return TP::INT64;
    case DType::kI32:
      return TP::INT32;
    case DType::kI8:
      return TP::INT8;
    case DType::kU8:
      return TP::UINT8;
    case DType::kBool:
      return TP::BOOL;
    default:
      return TP::UNDEFINED;
  }
}

StatusOr<Tensor> ReadTensorProto(const TP& proto, const std::string& base_dir,
                                 const std::string& what) {
  if (!proto.has_data_type()) return InvalidArgument(what + ": no data_type");
  StatusOr<DType> dtype = FromOnnxDType(proto.data_type());
  if (!dtype.ok()) return dtype.status().WithContext(what);
  if (proto.has_segment()) return Unimplemented(what + ": segmented tensors are not supported");
  std::vector<int64_t> shape;
  int64_t numel = 1;
  for (int64_t d : proto.dims()) {
    if (d < 0) return InvalidArgument(what + ": negative dim " + std::to_string(d));
    if (d > kMaxDim) return InvalidArgument(what + ": dim " + std::to_string(d) + " is too large");
    shape.push_back(d);
    if (d != 0 && numel > kMaxElements / d) {
      return InvalidArgument(what + ": too many elements (more than 2^40)");
    }
    numel *= d;
  }
  int64_t esize = DTypeSize(*dtype);
  int64_t nbytes = numel * esize;
  std::string type_text = std::string(DTypeName(*dtype)) + "[";
  for (size_t i = 0; i < shape.size(); ++i) type_text += (i ? "," : "") + std::to_string(shape[i]);
  type_text += "]";
  auto count_error = [&](const char* field, int64_t got) {
    return InvalidArgument(what + ": " + field + " has " + std::to_string(got) +
                           " values, expected " + std::to_string(numel) + " for " + type_text);
  };
  // Sizes are checked before the buffer is allocated, so corrupt dims cannot exhaust memory.
  if (proto.data_location() == TP::EXTERNAL) {
    KILN_ASSIGN_OR_RETURN(std::string data, ReadExternal(proto, base_dir, what, nbytes));
    Tensor t(*dtype, shape);
    if (nbytes) std::memcpy(t.mutable_data(), data.data(), static_cast<size_t>(nbytes));
    return t;
  }
  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    if (static_cast<int64_t>(raw.size()) != nbytes) {
      return InvalidArgument(what + ": raw_data has " + std::to_string(raw.size()) +
                             " bytes, expected " + std::to_string(nbytes) + " for " + type_text);
    }
    Tensor t(*dtype, shape);
    if (nbytes) std::memcpy(t.mutable_data(), raw.data(), static_cast<size_t>(nbytes));
    return t;
  }
  if (proto.data_type() == TP::FLOAT) {
    if (proto.float_data_size() != numel) return count_error("float_data", proto.float_data_size());
    Tensor t(*dtype, shape);
    if (numel)
      std::memcpy(t.mutable_data(), proto.float_data().data(), static_cast<size_t>(nbytes));
    return t;
  }
  if (proto.data_type() == TP::INT64) {
    if (proto.int64_data_size() != numel) return count_error("int64_data", proto.int64_data_size());
    Tensor t(*dtype, shape);
    if (numel)
      std::memcpy(t.mutable_data(), proto.int64_data().data(), static_cast<size_t>(nbytes));
    return t;
  }
  // int32_data carries int32, int8, uint8, bool and the 16-bit float bit patterns.
  if (proto.int32_data_size() != numel) return count_error("int32_data", proto.int32_data_size());
  Tensor t(*dtype, shape);
  if (numel == 0) return t;
  char* out = static_cast<char*>(t.mutable_data());
  for (int64_t i = 0; i < numel; ++i) {
    int32_t v = proto.int32_data(static_cast<int>(i));
    switch (esize) {
      case 4:
        std::memcpy(out + 4 * i, &v, 4);
        break;
      case 2: {
        uint16_t h = static_cast<uint16_t>(v);
        std::memcpy(out + 2 * i, &h, 2);
        break;
      }
      default: {
        uint8_t b = *dtype == DType::kBool ? (v != 0) : static_cast<uint8_t>(v);
        out[i] = static_cast<char>(b);
        break;
      }
    }
  }
  return t;
}

StatusOr<Tensor> ReadTensorProtoFile(const std::string& path, std::string* name) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return NotFound("no such file: " + path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  TP proto;
  if (!proto.ParseFromString(bytes)) {
    return ParseError(path + ": not a serialized ONNX TensorProto (the protobuf does not parse)");
  }
  if (name != nullptr) *name = proto.name();
  return ReadTensorProto(proto, std::filesystem::path(path).parent_path().string(), path);
}

TP ToTensorProto(const Tensor& tensor, const std::string& name) {
  TP proto;
  proto.set_name(name);
  proto.set_data_type(ToOnnxDType(tensor.dtype()));
  for (int64_t d : tensor.shape()) proto.add_dims(d);
  if (tensor.nbytes() > 0) {
    proto.set_raw_data(
        std::string(static_cast<const char*>(tensor.data()), static_cast<size_t>(tensor.nbytes())));
  } else {
    proto.set_raw_data("");
  }
  return proto;
}

}  // namespace kiln::onnx_import
