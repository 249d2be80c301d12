#include "weights_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "kiln/module_abi.h"
#include "kiln_rt.h"

namespace kiln_rt {
namespace {

struct DTypeInfo {
  const char* safetensors;
  const char* kiln;
  size_t size;
};
// Indexed by KILN_DTYPE_*.
constexpr DTypeInfo kDTypes[] = {
    {"F32", "f32", 4},  {"F16", "f16", 2},  {"BF16", "bf16", 2},       {"I64", "i64", 8},
    {"I32", "i32", 4},  {"I8", "i8", 1},    {"U8", "u8", 1},           {"BOOL", "bool", 1},
    {"F8_E4M3", "f8e4m3", 1}, {"F8_E5M2", "f8e5m2", 1}};
constexpr int kNumDTypes = static_cast<int>(sizeof(kDTypes) / sizeof(kDTypes[0]));

}  // namespace

const char* DTypeName(int dtype) {
  return dtype >= 0 && dtype < kNumDTypes ? kDTypes[dtype].kiln : "?";
}

size_t DTypeSize(int dtype) { return dtype >= 0 && dtype < kNumDTypes ? kDTypes[dtype].size : 0; }

std::string TypeString(int dtype, const int64_t* dims, int rank) {
  std::string s = std::string(DTypeName(dtype)) + "[";
  for (int i = 0; i < rank; ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

WeightsFile::~WeightsFile() {
  if (map_ != nullptr) munmap(map_, map_size_);
}

int WeightsFile::Open(const std::string& path) {
  description_ = "weights file " + path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return Fail(err == ENOENT ? KILN_ERR_NOT_FOUND : KILN_ERR_INVALID_ARGUMENT,
                "cannot open " + description_ + ": " + std::strerror(err));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Fail(KILN_ERR_INVALID_ARGUMENT, description_ + " is not a regular file");
  }
  map_size_ = static_cast<uint64_t>(st.st_size);
  if (map_size_ > 0) {
    map_ = mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map_ == MAP_FAILED) {
      map_ = nullptr;
      int err = errno;
      ::close(fd);
      return Fail(KILN_ERR_INVALID_ARGUMENT, "cannot map " + description_ + ": " + std::strerror(err));
    }
  }
  ::close(fd);
  return Parse(static_cast<const unsigned char*>(map_), map_size_);
}

int WeightsFile::OpenMemory(const unsigned char* data, uint64_t size,
                            const std::string& description) {
  description_ = description;
  return Parse(data, size);
}

const WeightEntry* WeightsFile::Find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

int WeightsFile::Parse(const unsigned char* data, uint64_t size) {
  auto bad = [&](const std::string& what) {
    return Fail(KILN_ERR_PARSE, description_ + " is not a valid safetensors file: " + what);
  };
  if (size < 8) return bad("it has " + std::to_string(size) + " bytes, less than the 8-byte header size");
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | data[i];
  if (header_size > size - 8) {
    return bad("the header claims " + std::to_string(header_size) + " bytes but the file has " +
               std::to_string(size - 8) + " after the size field (truncated?)");
  }
  const unsigned char* body = data + 8 + header_size;
  uint64_t body_size = size - 8 - header_size;
  nlohmann::json header = nlohmann::json::parse(data + 8, data + 8 + header_size, nullptr,
                                                /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) return bad("the header is not a JSON object");
  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") ||
        !info.contains("data_offsets") || !info["dtype"].is_string() ||
        !info["shape"].is_array() || !info["data_offsets"].is_array() ||
        info["data_offsets"].size() != 2) {
      return bad("entry \"" + name + "\" lacks a string dtype, a shape array or two data_offsets");
    }
    WeightEntry e;
    e.dtype_name = info["dtype"].get<std::string>();
    for (int d = 0; d < kNumDTypes; ++d) {
      if (e.dtype_name == kDTypes[d].safetensors) e.dtype = d;
    }
    uint64_t numel = 1;
    for (const auto& d : info["shape"]) {
      if (!d.is_number_unsigned()) return bad("entry \"" + name + "\" has a non-integer or negative dim");
      e.shape.push_back(d.get<int64_t>());
      if (e.shape.back() != 0 && numel > (uint64_t{1} << 62) / static_cast<uint64_t>(e.shape.back())) {
        return bad("entry \"" + name + "\" has a shape too large");
      }
      numel *= static_cast<uint64_t>(e.shape.back());
    }
    const auto& off = info["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      return bad("entry \"" + name + "\" has non-integer data_offsets");
    }
    uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end || end > body_size) {
      return bad("entry \"" + name + "\" has data_offsets [" + std::to_string(begin) + ", " +
                 std::to_string(end) + "] outside the " + std::to_string(body_size) +
                 " data bytes (truncated?)");
    }
    if (e.dtype >= 0 && numel * kDTypes[e.dtype].size != end - begin) {
      return bad("entry \"" + name + "\" has " + std::to_string(end - begin) +
                 " bytes of data, its dtype and shape need " +
                 std::to_string(numel * kDTypes[e.dtype].size));
    }
    e.data = body + begin;
    e.bytes = end - begin;
    entries_[name] = std::move(e);
  }
  return KILN_OK;
}

}  // namespace kiln_rt
