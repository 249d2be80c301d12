#include "support/dtype.h"

#include <array>
#include <utility>

namespace kiln {
namespace {

constexpr std::array<std::pair<DType, std::string_view>, 10> kNames = {{
    {DType::kF32, "f32"},
    {DType::kF16, "f16"},
    {DType::kBF16, "bf16"},
    {DType::kI64, "i64"},
    {DType::kI32, "i32"},
    {DType::kI8, "i8"},
    {DType::kU8, "u8"},
    {DType::kBool, "bool"},
    {DType::kF8E4M3, "f8e4m3"},
    {DType::kF8E5M2, "f8e5m2"},
}};

}  // namespace

std::string_view DTypeName(DType dtype) { return kNames[static_cast<int>(dtype)].second; }

std::optional<DType> ParseDType(std::string_view name) {
  for (const auto& [dtype, n] : kNames) {
    if (n == name) return dtype;
  }
  return std::nullopt;
}

int64_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kF32:
    case DType::kI32: return 4;
    case DType::kF16:
    case DType::kBF16: return 2;
    case DType::kI64: return 8;
    case DType::kI8:
    case DType::kU8:
    case DType::kBool:
    case DType::kF8E4M3:
    case DType::kF8E5M2: return 1;
  }
  return 0;
}

bool IsFloat(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16 ||
         dtype == DType::kF8E4M3 || dtype == DType::kF8E5M2;
}

bool IsComputeFloat(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16;
}

bool IsInteger(DType dtype) {
  return dtype == DType::kI64 || dtype == DType::kI32 || dtype == DType::kI8 || dtype == DType::kU8;
}

}  // namespace kiln
