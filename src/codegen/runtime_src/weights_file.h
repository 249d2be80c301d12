// kiln_rt::WeightsFile: a read-only view of a safetensors file (mapped from disk, or embedded in
// the library), with the checks a model library makes before binding weights.
#ifndef KILN_RT_WEIGHTS_FILE_H_
#define KILN_RT_WEIGHTS_FILE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kiln_rt {

struct WeightEntry {
  int dtype = -1;  // KILN_DTYPE_*, -1 for a dtype kiln does not know
  std::string dtype_name;  // as written in the file ("F32")
  std::vector<int64_t> shape;
  const unsigned char* data = nullptr;
  uint64_t bytes = 0;
};

class WeightsFile {
 public:
  WeightsFile() = default;
  ~WeightsFile();
  WeightsFile(const WeightsFile&) = delete;
  WeightsFile& operator=(const WeightsFile&) = delete;

  /// Maps `path` and parses its header. KILN_ERR_NOT_FOUND for a missing file, KILN_ERR_PARSE
  /// for anything malformed (message set through Fail).
  int Open(const std::string& path);
  /// Parses a file image in memory that outlives this object (embedded weights).
  int OpenMemory(const unsigned char* data, uint64_t size, const std::string& description);

  /// nullptr when the file has no tensor `name`.
  const WeightEntry* Find(const std::string& name) const;
  /// "weights file PATH" (or the description), the prefix of every message about this file.
  const std::string& description() const { return description_; }

 private:
  int Parse(const unsigned char* data, uint64_t size);

  std::string description_;
  void* map_ = nullptr;
  uint64_t map_size_ = 0;
  std::map<std::string, WeightEntry> entries_;
};

/// "f32", "f16", ... for a KILN_DTYPE_* (the names of kiln's text IR).
const char* DTypeName(int dtype);
/// Bytes per element of a KILN_DTYPE_* (0 for an unknown code).
size_t DTypeSize(int dtype);
/// "f32[64,3,7,7]".
std::string TypeString(int dtype, const int64_t* dims, int rank);

}  // namespace kiln_rt

#endif  // KILN_RT_WEIGHTS_FILE_H_
