// Element types. Shared by the IR, the reference ops and the runtime (which depends on support
// only), so it lives here rather than in src/ir.
#ifndef KILN_SUPPORT_DTYPE_H_
#define KILN_SUPPORT_DTYPE_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace kiln {

/// Element type of a tensor. fp8 types are reserved: they parse and print but no op accepts them.
enum class DType : uint8_t {
  kF32,
  kF16,
  kBF16,
  kI64,
  kI32,
  kI8,
  kU8,
  kBool,
  kF8E4M3,
  kF8E5M2,
};

/// "f32", "f16", "bf16", "i64", "i32", "i8", "u8", "bool", "f8e4m3", "f8e5m2".
std::string_view DTypeName(DType dtype);
/// Inverse of DTypeName; nullopt for an unknown name.
std::optional<DType> ParseDType(std::string_view name);
/// Bytes per element.
int64_t DTypeSize(DType dtype);
/// f32, f16, bf16 and the fp8 types.
bool IsFloat(DType dtype);
/// f32, f16 and bf16: the float types the ops compute in (fp8 is storage only).
bool IsComputeFloat(DType dtype);
/// i64, i32, i8, u8 (not bool).
bool IsInteger(DType dtype);

}  // namespace kiln

#endif  // KILN_SUPPORT_DTYPE_H_
