// safetensors weight files (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header {"name": {"dtype", "shape", "data_offsets": [begin, end)}, ...,
// "__metadata__": {str: str}}, then the raw little-endian tensor bytes. The format PyTorch and
// Hugging Face checkpoints are saved in, and the one kiln's modules keep their weights in.
#ifndef KILN_SUPPORT_SAFETENSORS_H_
#define KILN_SUPPORT_SAFETENSORS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "kiln/status.h"
#include "support/tensor.h"

namespace kiln {

/// The safetensors spelling of a dtype ("F32", "F16", "BF16", "I64", "I32", "I8", "U8", "BOOL",
/// "F8_E4M3", "F8_E5M2").
std::string_view SafetensorsDTypeName(DType dtype);
/// Inverse of SafetensorsDTypeName; nullopt for a dtype kiln has no equivalent of (e.g. "F64").
std::optional<DType> ParseSafetensorsDType(std::string_view name);

/// Memory-maps `path` read-only and returns its tensors as read-only Tensor::Borrow views that
/// keep the mapping alive (no copy; a tensor whose bytes are not aligned to its element size is
/// copied instead). "__metadata__" is ignored. Errors name the path and the offending entry:
/// NotFound for a missing file, ParseError for a malformed file (too short, header past the end,
/// invalid JSON, missing fields, unknown dtype, offsets inconsistent with the shape, beyond the
/// data section, or overlapping another tensor).
StatusOr<TensorMap> LoadSafetensors(const std::string& path);

/// Writes `tensors` (in name order) and optional string `metadata` to `path`: header length,
/// JSON header padded with spaces so the data section starts 8-byte aligned, then the data.
/// InvalidArgument for a tensor without data; InternalError when the file cannot be written.
Status SaveSafetensors(const std::string& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace kiln

#endif  // KILN_SUPPORT_SAFETENSORS_H_
