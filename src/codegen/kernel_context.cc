#include <algorithm>
#include "codegen/kernel_context.h"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "support/check.h"
#include "support/float16.h"

namespace kiln::codegen {

std::string KernelContext::ShareFunction(const std::string& stem, const std::string& params,
                                         const std::string& code) const {
  // FNV-1a over params and code: stable across runs and machines (names reach the object cache).
  uint64_t h = 1469598103934665603ull;
  for (const std::string* part : {&params, &code}) {
    for (unsigned char c : *part) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;  // separator: ("ab", "c") differs from ("a", "bc")
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  const std::string name = stem + "_" + hex;
  for (const SharedFunction& f : shared_) {
    if (f.name == name) return name;
  }
  shared_.push_back({name, params, code});
  return name;
}

void KernelContext::RequestScratch(int64_t bytes) const {
  scratch_bytes_ = std::max(scratch_bytes_, bytes);
}

std::string KernelContext::ScratchExpr() const {
  return "out[" + std::to_string(node_.num_outputs()) + "]";
}

std::string DimExpr(const Dim& d) {
  if (d.is_static()) return std::to_string(d.value());
  // The canonical text ("N*S*12+3", "seq-1") is already C syntax once each symbol name becomes
  // its local (sym_N); parenthesise sums so callers can multiply the result.
  std::string text = d.ToString(), out;
  bool single_term = true;
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) ++j;
      out += "sym_" + text.substr(i, j - i);
      i = j;
    } else {
      if ((c == '+' || c == '-') && i > 0) single_term = false;
      if (c == '-' && i == 0) single_term = false;
      out += c;
      ++i;
    }
  }
  return single_term ? out : "(" + out + ")";
}

std::string ProductExpr(const Shape& shape, int64_t begin, int64_t end) {
  int64_t constant = 1;
  std::string symbolic;
  for (int64_t i = begin; i < end; ++i) {
    if (shape[i].is_static()) {
      constant *= shape[i].value();
    } else {
      symbolic += (symbolic.empty() ? "" : "*") + DimExpr(shape[i]);
    }
  }
  if (symbolic.empty()) return std::to_string(constant);
  if (constant == 1) return symbolic;
  return symbolic + "*" + std::to_string(constant);
}

std::string FloatLiteralExpr(double v) {
  if (std::isnan(v)) return "__builtin_nanf(\"\")";
  if (std::isinf(v)) return v > 0 ? "__builtin_inff()" : "-__builtin_inff()";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", static_cast<float>(v));
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s + "f";
}

// A C++ literal of `v` stored as `dtype` (constants and fill values in generated code).
std::string LiteralExpr(double v, DType dtype) {
  switch (dtype) {
    case DType::kF32: return FloatLiteralExpr(v);
    case DType::kF16: return std::to_string(FloatToHalf(static_cast<float>(v)));
    case DType::kBF16: return std::to_string(FloatToBF16(static_cast<float>(v)));
    case DType::kBool: return v != 0 ? "true" : "false";
    case DType::kI64: {
      auto i = static_cast<int64_t>(v);
      return i == INT64_MIN ? "INT64_MIN" : "INT64_C(" + std::to_string(i) + ")";
    }
    default: return std::to_string(static_cast<int64_t>(v));
  }
}

std::string OperandLocals(const Node& node, const std::string& indent) {
  std::string code;
  for (int i = 0; i < node.num_inputs(); ++i) {
    const std::string type = CpuStorageType(node.input(i)->dtype()), k = std::to_string(i);
    code += indent + "[[maybe_unused]] const " + type + "* in" + k + " = static_cast<const " +
            type + "*>(in[" + k + "]);\n";
  }
  for (int i = 0; i < node.num_outputs(); ++i) {
    const std::string type = CpuStorageType(node.output(i)->dtype()), k = std::to_string(i);
    code += indent + "[[maybe_unused]] " + type + "* out" + k + " = static_cast<" + type +
            "*>(out[" + k + "]);\n";
  }
  return code;
}

std::string CpuStorageType(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "float";
    case DType::kF16:
    case DType::kBF16: return "uint16_t";
    case DType::kI64: return "int64_t";
    case DType::kI32: return "int32_t";
    case DType::kI8: return "int8_t";
    case DType::kU8:
    case DType::kF8E4M3:
    case DType::kF8E5M2: return "uint8_t";
    case DType::kBool: return "bool";
  }
  KILN_CHECK(false) << "unknown dtype";
  return "";
}

}  // namespace kiln::codegen
