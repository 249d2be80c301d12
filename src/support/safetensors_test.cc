#include "support/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kiln {
namespace {

std::string TempPath(const std::string& name) {
  auto dir = std::filesystem::path(::testing::TempDir()) /
             ("kiln_safetensors_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string LengthPrefix(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

TEST(SafetensorsTest, RoundTripsEveryDType) {
  TensorMap in;
  std::vector<double> vals = {1.5, -2.0, 0.0, 3.0, 7.0, -1.0};
  std::vector<double> bools = {1, 0, 1, 1, 0, 0};
  std::vector<double> small = {1, 2, 3, 4, 5, 255};
  in["f32"] = Tensor::FromF64(DType::kF32, {2, 3}, vals);
  in["f16"] = Tensor::FromF64(DType::kF16, {3, 2}, vals);
  in["bf16"] = Tensor::FromF64(DType::kBF16, {6}, vals);
  in["i64"] = Tensor::FromF64(DType::kI64, {1, 6}, vals);
  in["i32"] = Tensor::FromF64(DType::kI32, {6, 1}, vals);
  in["i8"] = Tensor::FromF64(DType::kI8, {2, 3}, vals);
  in["u8"] = Tensor::FromF64(DType::kU8, {2, 3}, small);
  in["bool"] = Tensor::FromF64(DType::kBool, {2, 3}, bools);
  std::string path = TempPath("all_dtypes.safetensors");
  ASSERT_TRUE(SaveSafetensors(path, in, {{"format", "pt"}}).ok());

  auto out = LoadSafetensors(path);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), in.size());
  for (const auto& [name, t] : in) {
    ASSERT_TRUE(out->count(name)) << name;
    const Tensor& u = out->at(name);
    EXPECT_EQ(u.dtype(), t.dtype()) << name;
    EXPECT_EQ(u.shape(), t.shape()) << name;
    ASSERT_EQ(u.nbytes(), t.nbytes()) << name;
    EXPECT_EQ(std::memcmp(u.data(), t.data(), t.nbytes()), 0) << name;
  }
  EXPECT_EQ(out->at("f16").ToF64(), vals);
  EXPECT_EQ(out->at("i8").ToF64(), (std::vector<double>{1, -2, 0, 3, 7, -1}));  // truncated
  EXPECT_EQ(out->at("u8").GetF64(5), 255.0);
}

TEST(SafetensorsTest, EmptyTensorAndScalar) {
  TensorMap in;
  in["empty"] = Tensor(DType::kF32, {0, 4});
  in["scalar"] = Tensor::FromF64(DType::kF32, {}, std::vector<double>{42.25});
  in["z_after"] = Tensor::FromF64(DType::kI32, {2}, std::vector<double>{-7, 9});
  std::string path = TempPath("empty_scalar.safetensors");
  ASSERT_TRUE(SaveSafetensors(path, in).ok());
  auto out = LoadSafetensors(path);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->at("empty").shape(), (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(out->at("empty").numel(), 0);
  EXPECT_EQ(out->at("scalar").rank(), 0);
  EXPECT_EQ(out->at("scalar").GetF64(0), 42.25);
  EXPECT_EQ(out->at("z_after").ToI64(), (std::vector<int64_t>{-7, 9}));
}

TEST(SafetensorsTest, FileLayoutMatchesTheFormat) {
  TensorMap in;
  in["b"] = Tensor::FromF64(DType::kF32, {2}, std::vector<double>{1.0, 2.0});
  in["a"] = Tensor::FromF64(DType::kI64, {1}, std::vector<double>{5});
  std::string path = TempPath("layout.safetensors");
  ASSERT_TRUE(SaveSafetensors(path, in, {{"k", "v"}}).ok());
  std::string bytes = ReadFile(path);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ((8 + n) % 8, 0u) << "data section must start 8-byte aligned";
  ASSERT_EQ(bytes.size(), 8 + n + 8 + 8) << "header + i64[1] + f32[2]";
  std::string header = bytes.substr(8, n);
  // Name order: "a" gets offsets [0, 8), "b" [8, 16); padding is spaces.
  EXPECT_NE(header.find("\"a\":{\"data_offsets\":[0,8],\"dtype\":\"I64\",\"shape\":[1]}"),
            std::string::npos)
      << header;
  EXPECT_NE(header.find("\"b\":{\"data_offsets\":[8,16],\"dtype\":\"F32\",\"shape\":[2]}"),
            std::string::npos)
      << header;
  EXPECT_NE(header.find("\"__metadata__\":{\"k\":\"v\"}"), std::string::npos) << header;
  EXPECT_EQ(header.find_last_not_of(' '), header.rfind('}'));
  int64_t a;
  std::memcpy(&a, bytes.data() + 8 + n, 8);
  EXPECT_EQ(a, 5);
  float b[2];
  std::memcpy(b, bytes.data() + 8 + n + 8, 8);
  EXPECT_EQ(b[0], 1.0f);
  EXPECT_EQ(b[1], 2.0f);
}

// A writer that does not pad the header leaves the data misaligned; values must still be right.
TEST(SafetensorsTest, LoadsUnpaddedHeaderWithMisalignedData) {
  std::string header =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_NE((8 + header.size()) % 4, 0u);
  float vals[2] = {0.25f, -3.5f};
  std::string bytes = LengthPrefix(header.size()) + header +
                      std::string(reinterpret_cast<const char*>(vals), sizeof(vals));
  std::string path = TempPath("unpadded.safetensors");
  WriteFile(path, bytes);
  auto out = LoadSafetensors(path);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->at("w").ToF32(), (std::vector<float>{0.25f, -3.5f}));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(out->at("w").data()) % 4, 0u);
}

// Tensors are views of the mapping: they stay valid after the map that returned them is gone.
TEST(SafetensorsTest, ViewsOutliveTheReturnedMap) {
  TensorMap in;
  in["x"] = Tensor::FromF64(DType::kBF16, {3}, std::vector<double>{1, 2, 4});
  std::string path = TempPath("views.safetensors");
  ASSERT_TRUE(SaveSafetensors(path, in).ok());
  Tensor x;
  {
    auto out = LoadSafetensors(path);
    ASSERT_TRUE(out.ok());
    x = out->at("x");
  }
  EXPECT_EQ(x.ToF64(), (std::vector<double>{1, 2, 4}));
}

TEST(SafetensorsTest, DTypeNames) {
  EXPECT_EQ(SafetensorsDTypeName(DType::kBF16), "BF16");
  EXPECT_EQ(ParseSafetensorsDType("BOOL"), DType::kBool);
  EXPECT_EQ(ParseSafetensorsDType("F64"), std::nullopt);
}

}  // namespace
}  // namespace kiln
