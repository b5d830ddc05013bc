// fp16 / bf16 conversion edge cases: subnormals, round to nearest even, overflow, inf and nan.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "quant/fp16.h"

namespace {

using lp::bf16_to_fp32;
using lp::fp16_to_fp32;
using lp::fp32_to_bf16;
using lp::fp32_to_fp16;

TEST(QuantFp16, DecodesSpecialValues) {
  EXPECT_EQ(fp16_to_fp32(0x3c00), 1.0f);
  EXPECT_EQ(fp16_to_fp32(0xc000), -2.0f);
  EXPECT_EQ(fp16_to_fp32(0x7bff), 65504.0f);
  EXPECT_EQ(fp16_to_fp32(0x0400), std::ldexp(1.0f, -14));         // smallest normal
  EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));         // smallest subnormal
  EXPECT_EQ(fp16_to_fp32(0x03ff), std::ldexp(1023.0f, -24));      // largest subnormal
  EXPECT_EQ(fp16_to_fp32(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::signbit(fp16_to_fp32(0x8000)));
  EXPECT_EQ(fp16_to_fp32(0x8000), 0.0f);
  EXPECT_EQ(fp16_to_fp32(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp16_to_fp32(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(fp16_to_fp32(0x7e00)));
  EXPECT_TRUE(std::isnan(fp16_to_fp32(0x7c01)));
}

TEST(QuantFp16, EveryHalfSurvivesARoundTripThroughFloat) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = fp16_to_fp32(uint16_t(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(f)))) << h;
    } else {
      EXPECT_EQ(fp32_to_fp16(f), h) << h;
    }
  }
}

TEST(QuantFp16, RoundsToNearestEven) {
  // Halfway between 1 (0x3c00) and 1 + 2^-10 (0x3c01): ties to the even 0x3c00.
  EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  // Halfway between 0x3c01 and 0x3c02: ties to the even 0x3c02.
  EXPECT_EQ(fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  // Just above halfway rounds up.
  EXPECT_EQ(fp32_to_fp16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3c01);
  EXPECT_EQ(fp32_to_fp16(-1.0f - std::ldexp(1.0f, -11)), 0xbc00);
  // Carry from the mantissa into the exponent: 2 - 2^-12 rounds up to 2.
  EXPECT_EQ(fp32_to_fp16(2.0f - std::ldexp(1.0f, -12)), 0x4000);
}

TEST(QuantFp16, SubnormalsRoundToNearestEven) {
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);      // halfway to 0: even
  EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -25)), 0x0002);      // 1.5 ulp: even 2
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.01f, -25)), 0x0001);     // just above halfway
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -30)), 0x0000);      // underflow to zero
  EXPECT_EQ(fp32_to_fp16(-std::ldexp(1.0f, -30)), 0x8000);     // keeps its sign
  // Halfway between the largest subnormal 0x03ff and the smallest normal 0x0400: even 0x0400.
  EXPECT_EQ(fp32_to_fp16(std::ldexp(2047.0f, -25)), 0x0400);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1023.0f, -24)), 0x03ff);
}

TEST(QuantFp16, OverflowInfinityAndNan) {
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65519.0f), 0x7bff);   // below the halfway point 65520
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);   // halfway: ties to even, which is infinity
  EXPECT_EQ(fp32_to_fp16(1e6f), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(-1e6f), 0xfc00);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(-std::numeric_limits<float>::infinity()), 0xfc00);
  const uint16_t n = fp32_to_fp16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(n & 0x7c00, 0x7c00);
  EXPECT_NE(n & 0x03ff, 0);
  // A nan whose payload sits only in the low float bits must not become infinity.
  const uint16_t s = fp32_to_fp16(lp::bits_float(0x7f800001u));
  EXPECT_TRUE(std::isnan(fp16_to_fp32(s)));
}

TEST(QuantBf16, ConvertsAndRoundsToNearestEven) {
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_fp32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_fp32(0xc040), -3.0f);
  EXPECT_EQ(fp32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);      // halfway: even
  EXPECT_EQ(fp32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);  // halfway: even
  EXPECT_EQ(fp32_to_bf16(std::nextafter(1.0f + std::ldexp(1.0f, -8), 2.0f)), 0x3f81);
  // Subnormals are kept (not flushed), and round the same way.
  EXPECT_EQ(fp32_to_bf16(lp::bits_float(0x00080000u)), 0x0008);
  EXPECT_EQ(bf16_to_fp32(0x0008), lp::bits_float(0x00080000u));
  EXPECT_EQ(fp32_to_bf16(lp::bits_float(0x00018000u)), 0x0002);  // 1.5 ulp: even
  // The largest float rounds up to infinity; infinities and nans keep their class.
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(fp32_to_bf16(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(lp::bits_float(0x7f800001u)))));
  EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::signbit(bf16_to_fp32(fp32_to_bf16(-0.0f))));
}

}  // namespace
