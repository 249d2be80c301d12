// Every error LoadSafetensors / SaveSafetensors reports, on a malformed file written here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/safetensors.h"

namespace kiln {
namespace {

class SafetensorsErrorsTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) {
    auto dir = std::filesystem::path(::testing::TempDir()) /
               ("kiln_st_errors_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    return (dir / name).string();
  }

  // Writes `header` with a correct length prefix followed by `data_bytes` zero bytes.
  std::string WriteWithHeader(const std::string& name, const std::string& header,
                              size_t data_bytes) {
    std::string bytes(8, '\0');
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    bytes += header;
    bytes.append(data_bytes, '\0');
    return WriteRaw(name, bytes);
  }

  std::string WriteRaw(const std::string& name, const std::string& bytes) {
    std::string path = Path(name);
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
  }

  // Loads `path` and expects an error with `code` whose message names the path and has `what`.
  void ExpectError(const std::string& path, StatusCode code, const std::string& what) {
    auto r = LoadSafetensors(path);
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(what), std::string::npos)
        << "expected '" << what << "' in: " << r.status().message();
  }
};

TEST_F(SafetensorsErrorsTest, MissingFile) {
  ExpectError(Path("does_not_exist.safetensors"), StatusCode::kNotFound,
              "cannot open safetensors file: No such file or directory");
}

TEST_F(SafetensorsErrorsTest, ShorterThanEightBytes) {
  ExpectError(WriteRaw("short.safetensors", "abc"), StatusCode::kParseError,
              "file is 3 bytes, shorter than the 8-byte safetensors header length");
}

TEST_F(SafetensorsErrorsTest, HeaderLengthBeyondFileEnd) {
  std::string bytes(8, '\0');
  bytes[0] = 100;  // claims a 100-byte header; only 2 bytes follow
  ExpectError(WriteRaw("long_header.safetensors", bytes + "{}"), StatusCode::kParseError,
              "header length 100 extends beyond the end of the 10-byte file");
}

TEST_F(SafetensorsErrorsTest, InvalidJson) {
  ExpectError(WriteWithHeader("bad_json.safetensors", R"({"w": {"dtype": )", 0),
              StatusCode::kParseError, "invalid JSON header: [json.exception.parse_error");
}

TEST_F(SafetensorsErrorsTest, HeaderNotAnObject) {
  ExpectError(WriteWithHeader("array.safetensors", "[1, 2]", 0), StatusCode::kParseError,
              "JSON header is not an object");
}

TEST_F(SafetensorsErrorsTest, EntryWithoutDType) {
  ExpectError(WriteWithHeader("no_dtype.safetensors",
                              R"({"w": {"shape": [2], "data_offsets": [0, 8]}})", 8),
              StatusCode::kParseError, "tensor 'w': entry has no 'dtype'");
}

TEST_F(SafetensorsErrorsTest, EntryWithoutShape) {
  ExpectError(WriteWithHeader("no_shape.safetensors",
                              R"({"w": {"dtype": "F32", "data_offsets": [0, 8]}})", 8),
              StatusCode::kParseError, "tensor 'w': entry has no 'shape'");
}

TEST_F(SafetensorsErrorsTest, EntryWithoutDataOffsets) {
  ExpectError(
      WriteWithHeader("no_offsets.safetensors", R"({"w": {"dtype": "F32", "shape": [2]}})", 8),
      StatusCode::kParseError, "tensor 'w': entry has no 'data_offsets'");
}

TEST_F(SafetensorsErrorsTest, EntryNotAnObject) {
  ExpectError(WriteWithHeader("entry_number.safetensors", R"({"w": 3})", 0),
              StatusCode::kParseError, "tensor 'w': entry is not a JSON object");
}

TEST_F(SafetensorsErrorsTest, NegativeShape) {
  ExpectError(
      WriteWithHeader("neg_shape.safetensors",
                      R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}})", 0),
      StatusCode::kParseError, "tensor 'w': 'shape' [-1] must hold non-negative integers");
}

TEST_F(SafetensorsErrorsTest, MalformedDataOffsets) {
  ExpectError(WriteWithHeader("bad_offsets.safetensors",
                              R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8]}})", 8),
              StatusCode::kParseError,
              "tensor 'w': 'data_offsets' [8] must be two non-negative integers [begin, end]");
}

TEST_F(SafetensorsErrorsTest, UnknownDType) {
  ExpectError(
      WriteWithHeader("f64.safetensors",
                      R"({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}})", 8),
      StatusCode::kUnimplemented, "tensor 'w': unknown dtype 'F64' (supported: F32 F16");
}

TEST_F(SafetensorsErrorsTest, OffsetsNotMatchingShape) {
  ExpectError(
      WriteWithHeader("size.safetensors",
                      R"({"w": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 8]}})", 8),
      StatusCode::kParseError,
      "tensor 'w': data_offsets [0, 8] hold 8 bytes but F16[2,3] needs 12");
}

TEST_F(SafetensorsErrorsTest, OffsetsEndBeforeBegin) {
  ExpectError(WriteWithHeader("reversed.safetensors",
                              R"({"w": {"dtype": "U8", "shape": [0], "data_offsets": [4, 0]}})", 8),
              StatusCode::kParseError, "tensor 'w': data_offsets [4, 0] end before begin");
}

TEST_F(SafetensorsErrorsTest, OffsetsBeyondDataSection) {
  ExpectError(
      WriteWithHeader("beyond.safetensors",
                      R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 12),
      StatusCode::kParseError,
      "tensor 'w': data_offsets [0, 16] extend beyond the data section of 12 bytes");
}

TEST_F(SafetensorsErrorsTest, OverlappingTensors) {
  ExpectError(WriteWithHeader("overlap.safetensors",
                              R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                  "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                              12),
              StatusCode::kParseError, "tensors 'a' [0, 8) and 'b' [4, 12) overlap");
}

// A valid file cut short (e.g. an interrupted download): the last tensor runs past the end.
TEST_F(SafetensorsErrorsTest, TruncatedFile) {
  TensorMap in;
  in["a"] = Tensor::FromF64(DType::kF32, {4}, std::vector<double>{1, 2, 3, 4});
  in["b"] = Tensor::FromF64(DType::kF32, {4}, std::vector<double>{5, 6, 7, 8});
  std::string path = Path("truncated.safetensors");
  ASSERT_TRUE(SaveSafetensors(path, in).ok());
  auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 4);
  ExpectError(path, StatusCode::kParseError,
              "tensor 'b': data_offsets [16, 32] extend beyond the data section of 28 bytes");
}

TEST_F(SafetensorsErrorsTest, SaveToUnwritablePath) {
  TensorMap in;
  in["a"] = Tensor(DType::kF32, {1});
  std::string path = Path("no_such_dir") + "/x.safetensors";
  Status s = SaveSafetensors(path, in);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find(path + ": cannot open for writing"), std::string::npos) << s.message();
}

TEST_F(SafetensorsErrorsTest, SaveReservedName) {
  TensorMap in;
  in["__metadata__"] = Tensor(DType::kF32, {1});
  Status s = SaveSafetensors(Path("reserved.safetensors"), in);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'__metadata__' is reserved"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace kiln
