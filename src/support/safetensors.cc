#include "support/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

namespace kiln {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<DType, std::string_view>, 10> kDTypeNames = {{
    {DType::kF32, "F32"},
    {DType::kF16, "F16"},
    {DType::kBF16, "BF16"},
    {DType::kI64, "I64"},
    {DType::kI32, "I32"},
    {DType::kI8, "I8"},
    {DType::kU8, "U8"},
    {DType::kBool, "BOOL"},
    {DType::kF8E4M3, "F8_E4M3"},
    {DType::kF8E5M2, "F8_E5M2"},
}};

// A read-only mapping of a whole file, unmapped when the last tensor viewing it goes away.
struct Mapping {
  const uint8_t* data = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (data != nullptr) munmap(const_cast<uint8_t*>(data), size);
  }
};

std::string SupportedDTypes() {
  std::string s;
  for (const auto& [dtype, name] : kDTypeNames) {
    if (!s.empty()) s += " ";
    s += name;
  }
  return s;
}

// The [begin, end) byte range of one tensor inside the data section.
struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin;
  uint64_t end;
};

// Parses one header entry; `where` prefixes every error ("<path>: tensor 'name'").
StatusOr<Entry> ParseEntry(const std::string& where, const std::string& name, const json& v,
                           uint64_t data_size) {
  if (!v.is_object()) return ParseError(where + ": entry is not a JSON object");
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!v.contains(field)) return ParseError(where + ": entry has no '" + field + "'");
  }
  Entry e;
  e.name = name;
  const json& dt = v["dtype"];
  if (!dt.is_string()) return ParseError(where + ": 'dtype' is not a string");
  auto dtype = ParseSafetensorsDType(dt.get<std::string>());
  if (!dtype) {
    return Unimplemented(where + ": unknown dtype '" + dt.get<std::string>() +
                         "' (supported: " + SupportedDTypes() + ")");
  }
  e.dtype = *dtype;
  const json& shape = v["shape"];
  if (!shape.is_array()) return ParseError(where + ": 'shape' is not an array");
  int64_t numel = 1;
  for (const json& d : shape) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0) {
      return ParseError(where + ": 'shape' " + shape.dump() + " must hold non-negative integers");
    }
    e.shape.push_back(d.get<int64_t>());
    // Saturate instead of overflowing; such a tensor cannot fit any file anyway.
    numel = numel > (int64_t{1} << 50) ? numel : numel * e.shape.back();
  }
  const json& off = v["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
      !off[1].is_number_unsigned()) {
    return ParseError(where + ": 'data_offsets' " + off.dump() +
                      " must be two non-negative integers [begin, end]");
  }
  e.begin = off[0].get<uint64_t>();
  e.end = off[1].get<uint64_t>();
  if (e.end < e.begin) {
    return ParseError(where + ": data_offsets [" + std::to_string(e.begin) + ", " +
                      std::to_string(e.end) + "] end before begin");
  }
  uint64_t expected = static_cast<uint64_t>(numel) * DTypeSize(e.dtype);
  if (e.end - e.begin != expected) {
    std::string shape_text = shape.dump();
    return ParseError(where + ": data_offsets [" + std::to_string(e.begin) + ", " +
                      std::to_string(e.end) + "] hold " + std::to_string(e.end - e.begin) +
                      " bytes but " + std::string(dt.get<std::string>()) + shape_text + " needs " +
                      std::to_string(expected));
  }
  if (e.end > data_size) {
    return ParseError(where + ": data_offsets [" + std::to_string(e.begin) + ", " +
                      std::to_string(e.end) + "] extend beyond the data section of " +
                      std::to_string(data_size) + " bytes");
  }
  return e;
}

}  // namespace

std::string_view SafetensorsDTypeName(DType dtype) {
  for (const auto& [d, name] : kDTypeNames) {
    if (d == dtype) return name;
  }
  return "?";
}

std::optional<DType> ParseSafetensorsDType(std::string_view name) {
  for (const auto& [dtype, n] : kDTypeNames) {
    if (n == name) return dtype;
  }
  return std::nullopt;
}

StatusOr<TensorMap> LoadSafetensors(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string msg = path + ": cannot open safetensors file: " + std::strerror(err);
    return err == ENOENT ? NotFound(msg) : InvalidArgument(msg);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return InvalidArgument(path + ": cannot stat: " + std::strerror(err));
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    close(fd);
    return ParseError(path + ": file is " + std::to_string(size) +
                      " bytes, shorter than the 8-byte safetensors header length");
  }
  void* addr = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int map_err = errno;
  close(fd);  // the mapping stays valid after close
  if (addr == MAP_FAILED) {
    return InvalidArgument(path + ": cannot mmap: " + std::strerror(map_err));
  }
  auto mapping = std::make_shared<Mapping>();
  mapping->data = static_cast<const uint8_t*>(addr);
  mapping->size = size;
  const uint8_t* base = mapping->data;

  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | base[i];
  if (header_len > size - 8) {
    return ParseError(path + ": header length " + std::to_string(header_len) +
                      " extends beyond the end of the " + std::to_string(size) + "-byte file");
  }
  const char* header_begin = reinterpret_cast<const char*>(base + 8);
  json header;
  try {
    header = json::parse(header_begin, header_begin + header_len);
  } catch (const json::exception& e) {
    return ParseError(path + ": invalid JSON header: " + e.what());
  }
  if (!header.is_object()) return ParseError(path + ": JSON header is not an object");

  const uint8_t* data = base + 8 + header_len;
  uint64_t data_size = size - 8 - header_len;
  std::vector<Entry> entries;
  for (const auto& [name, v] : header.items()) {
    if (name == "__metadata__") continue;
    KILN_ASSIGN_OR_RETURN(Entry e,
                          ParseEntry(path + ": tensor '" + name + "'", name, v, data_size));
    entries.push_back(std::move(e));
  }
  // Overlap check: sort non-empty ranges by begin; each must start at or after the previous end.
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) {
    if (e.end > e.begin) by_offset.push_back(&e);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const Entry& prev = *by_offset[i - 1];
    const Entry& cur = *by_offset[i];
    if (cur.begin < prev.end) {
      return ParseError(path + ": tensors '" + prev.name + "' [" + std::to_string(prev.begin) +
                        ", " + std::to_string(prev.end) + ") and '" + cur.name + "' [" +
                        std::to_string(cur.begin) + ", " + std::to_string(cur.end) + ") overlap");
    }
  }

  TensorMap out;
  std::shared_ptr<const void> owner = mapping;
  for (Entry& e : entries) {
    const uint8_t* p = data + e.begin;
    Tensor view = Tensor::Borrow(e.dtype, std::move(e.shape), p, owner);
    // Readers cast data() to the element type, so a misaligned view is copied (only files from
    // writers that do not pad the header, which the format recommends, hit this).
    if (reinterpret_cast<uintptr_t>(p) % DTypeSize(e.dtype) != 0) view = view.Clone();
    out.emplace(e.name, std::move(view));
  }
  return out;
}

Status SaveSafetensors(const std::string& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") {
      return InvalidArgument(path + ": '__metadata__' is reserved and cannot name a tensor");
    }
    if (!t.defined()) return InvalidArgument(path + ": tensor '" + name + "' has no data");
    uint64_t n = static_cast<uint64_t>(t.nbytes());
    header[name] = {{"dtype", SafetensorsDTypeName(t.dtype())},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text = header.dump();
  // Pad so that 8 + header length is a multiple of 8: the data section starts aligned.
  text.append((8 - text.size() % 8) % 8, ' ');
  uint64_t len = text.size();
  std::array<char, 8> len_bytes;
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<char>((len >> (8 * i)) & 0xff);

  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) {
    return InternalError(path + ": cannot open for writing: " + std::strerror(errno));
  }
  f.write(len_bytes.data(), 8);
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& [name, t] : tensors) {
    f.write(static_cast<const char*>(t.data()), static_cast<std::streamsize>(t.nbytes()));
  }
  f.close();
  if (!f) return InternalError(path + ": write failed: " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace kiln
