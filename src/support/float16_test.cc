#include "support/float16.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support/tensor.h"

namespace kiln {
namespace {

TEST(Float16Test, KnownHalfEncodings) {
  EXPECT_EQ(FloatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(FloatToHalf(0.1f), 0x2e66);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7bff);         // largest finite half
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7c00);         // rounds to inf
  EXPECT_EQ(FloatToHalf(5.9604645e-8f), 0x0001);    // smallest subnormal
  EXPECT_EQ(FloatToHalf(1e-8f), 0x0000);            // underflows to zero
  EXPECT_EQ(FloatToHalf(1.0f + 0x1p-11f), 0x3c00);  // tie rounds to even
  EXPECT_EQ(FloatToHalf(1.0f + 3 * 0x1p-11f), 0x3c02);
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(NAN))));
}

TEST(Float16Test, HalfRoundTripIsExactForEveryHalf) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    uint16_t bits = static_cast<uint16_t>(h);
    float f = HalfToFloat(bits);
    if (std::isnan(f)) continue;
    ASSERT_EQ(FloatToHalf(f), bits) << std::hex << h;
  }
}

TEST(Float16Test, BFloat16) {
  EXPECT_EQ(FloatToBF16(1.0f), 0x3f80);
  EXPECT_EQ(FloatToBF16(3.14159f), 0x4049);
  EXPECT_EQ(BF16ToFloat(0x4049), 3.140625f);
  EXPECT_EQ(FloatToBF16(1.0f + 0x1p-8f), 0x3f80);  // tie to even
}

TEST(TensorTest, ConversionsAndViews) {
  Tensor t = Tensor::FromF32(DType::kF16, {2, 2}, std::vector<float>{1, 0.5f, -3, 1000});
  EXPECT_EQ(t.nbytes(), 8);
  EXPECT_EQ(t.ToF32(), (std::vector<float>{1, 0.5f, -3, 1000}));
  Tensor i = Tensor::FromF64(DType::kI64, {2}, std::vector<double>{-7, 9007199254740991.0});
  EXPECT_EQ(i.ToI64(), (std::vector<int64_t>{-7, 9007199254740991LL}));
  Tensor r = t.Reshaped({4});
  EXPECT_EQ(r.data(), t.data());  // a view, not a copy
  Tensor c = t.Clone();
  EXPECT_NE(c.data(), t.data());
  EXPECT_EQ(c.TypeString(), "f16[2,2]");
  Tensor b = Tensor::FromF32(DType::kBool, {3}, std::vector<float>{0, 2, -1});
  EXPECT_EQ(b.ToI64(), (std::vector<int64_t>{0, 1, 1}));
}

}  // namespace
}  // namespace kiln
