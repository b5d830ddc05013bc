// Exact layout facts on hand-built blocks: which nibble / bit / byte holds which element, how the
// packed scales are read. One wrong bit here would make every file we write unreadable to
// llama.cpp, so each test spells out the bytes instead of going through our own quantizer.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/quantize.h"
#include "quant/quantize_rows.h"

namespace {

using lp::TensorType;

template <class Block>
std::vector<float> decode(TensorType type, const Block& b, int n) {
  std::vector<float> y(static_cast<size_t>(n));
  lp::dequantize_row_ref(type, &b, y.data(), n);
  return y;
}

TEST(QuantLayout, Q4_0LowNibbleIsElementJHighNibbleIsElementJPlus16) {
  lp::block_q4_0 b{};
  b.d = lp::fp32_to_fp16(1.0f);
  std::memset(b.qs, 0x88, sizeof(b.qs));  // q = 8 -> 0
  b.qs[0] = 0x21;
  const auto y = decode(TensorType::Q4_0, b, 32);
  EXPECT_EQ(y[0], -7.0f);
  EXPECT_EQ(y[16], -6.0f);
  for (int j : {1, 15, 17, 31}) EXPECT_EQ(y[j], 0.0f) << j;
}

TEST(QuantLayout, Q4_1AddsTheMinimum) {
  lp::block_q4_1 b{};
  b.d = lp::fp32_to_fp16(0.5f);
  b.m = lp::fp32_to_fp16(1.0f);
  b.qs[3] = 0xf0;
  const auto y = decode(TensorType::Q4_1, b, 32);
  EXPECT_EQ(y[3], 1.0f);
  EXPECT_EQ(y[19], 8.5f);
  EXPECT_EQ(y[0], 1.0f);
}

TEST(QuantLayout, Q5_0FifthBitOfElementEIsBitEOfLittleEndianQh) {
  lp::block_q5_0 b{};
  b.d = lp::fp32_to_fp16(1.0f);
  b.qs[0] = 0x21;
  b.qh[0] = 0x01;  // bit 0: element 0
  b.qh[2] = 0x01;  // bit 16: element 16
  b.qh[3] = 0x80;  // bit 31: element 31
  const auto y = decode(TensorType::Q5_0, b, 32);
  EXPECT_EQ(y[0], 1.0f);    // (1 | 16) - 16
  EXPECT_EQ(y[16], 2.0f);   // (2 | 16) - 16
  EXPECT_EQ(y[31], 0.0f);   // (0 | 16) - 16
  EXPECT_EQ(y[1], -16.0f);  // (0) - 16
}

TEST(QuantLayout, Q5_1FifthBitAndMinimum) {
  lp::block_q5_1 b{};
  b.d = lp::fp32_to_fp16(1.0f);
  b.m = lp::fp32_to_fp16(-2.0f);
  b.qs[15] = 0x30;  // element 31 low bits = 3
  b.qh[3] = 0x80;   // element 31 bit 4
  b.qh[1] = 0x04;   // element 10 bit 4
  const auto y = decode(TensorType::Q5_1, b, 32);
  EXPECT_EQ(y[31], 17.0f);  // 19 - 2
  EXPECT_EQ(y[10], 14.0f);  // 16 - 2
  EXPECT_EQ(y[15], -2.0f);
}

TEST(QuantLayout, Q8_0AndQ8_1AreScaledInt8) {
  lp::block_q8_0 b{};
  b.d = lp::fp32_to_fp16(0.5f);
  b.qs[7] = -3;
  EXPECT_EQ(decode(TensorType::Q8_0, b, 32)[7], -1.5f);

  // Q8_1's s is d * sum(q), with d the unrounded absmax / 127 that the quants were divided by
  // (as llama.cpp computes it); the stored d is that value rounded to fp16.
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[size_t(i)] = float(i) - 10.0f;
  lp::block_q8_1 q{};
  lp::quantize_row_ref(TensorType::Q8_1, x.data(), &q, 32);
  int sum = 0;
  for (int8_t v : q.qs) sum += v;
  const float d = 21.0f / 127.0f;
  EXPECT_EQ(q.d, lp::fp32_to_fp16(d));
  EXPECT_EQ(q.s, lp::fp32_to_fp16(d * float(sum)));
}

TEST(QuantLayout, Q2_KScaleNibbleIsScaleAndHighNibbleIsMin) {
  lp::block_q2_K b{};
  b.d = lp::fp32_to_fp16(1.0f);
  b.dmin = lp::fp32_to_fp16(0.5f);
  std::memset(b.scales, 0x11, sizeof(b.scales));  // scale 1, min 1
  b.scales[0] = 0x23;                              // scale 3, min 2
  b.qs[0] = 0xe4;   // 2-bit fields 0,1,2,3: elements 0, 32, 64, 96
  b.qs[32] = 0x03;  // element 128 (second half of the block)
  b.qs[63] = 0x80;  // bits 6..7 = 2: element 128 + 96 + 31 = 255
  const auto y = decode(TensorType::Q2_K, b, 256);
  EXPECT_EQ(y[0], -1.0f);  // 3 * 0 - 0.5 * 2
  EXPECT_EQ(y[1], -1.0f);
  EXPECT_EQ(y[32], 0.5f);   // 1 * 1 - 0.5
  EXPECT_EQ(y[64], 1.5f);   // 2 - 0.5
  EXPECT_EQ(y[96], 2.5f);   // 3 - 0.5
  EXPECT_EQ(y[128], 2.5f);  // 3 - 0.5
  EXPECT_EQ(y[255], 1.5f);  // 2 - 0.5
  EXPECT_EQ(y[16], -0.5f);  // sub-block 1: 0 - 0.5
}

TEST(QuantLayout, Q3_KHmaskBitAndPackedSixBitScales) {
  lp::block_q3_K b{};
  b.d = lp::fp32_to_fp16(1.0f);
  // Every scale biased 33 (= +1): low nibbles 1 in bytes 0..7, top bits 0b10 in all of bytes 8..11.
  std::memset(b.scales, 0x11, 8);
  std::memset(b.scales + 8, 0xaa, 4);
  // Sub-block 9 biased 63 (= +31): its low nibble is the high nibble of byte 1, its top two bits
  // are bits 4..5 of byte 8 + 9 % 4 = 9.
  b.scales[1] = 0xf1;
  b.scales[9] = 0xba;  // 0b10'11'10'10: bits 4..5 = 3
  b.qs[0] = 0x07;      // element 0: low 3, element 32: low 1
  b.hmask[0] = 0x01;   // element 0 has its high bit (q = 3 - 0); element 32 does not (q = 1 - 4)
  b.qs[48] = 0x02;     // element 144 (half 1, plane 0, l = 16): low 2
  b.hmask[16] = 0x10;  // bit 4 = element 128 + 16
  b.hmask[31] = 0x80;  // bit 7 = element 7 * 32 + 31 = 255: q = 0 - 0
  const auto y = decode(TensorType::Q3_K, b, 256);
  EXPECT_EQ(y[0], 3.0f);
  EXPECT_EQ(y[32], -3.0f);
  EXPECT_EQ(y[1], -4.0f);     // nothing set: q = -4
  EXPECT_EQ(y[144], 62.0f);   // scale 31 * q 2
  EXPECT_EQ(y[145], -124.0f); // scale 31 * q -4
  EXPECT_EQ(y[255], 0.0f);

  uint8_t biased[16];
  lp::quant::unpack_scales_q3_K(b.scales, biased);
  for (int j = 0; j < 16; ++j) EXPECT_EQ(biased[j], j == 9 ? 63 : 33) << j;
  uint8_t repacked[12];
  lp::quant::pack_scales_q3_K(biased, repacked);
  EXPECT_EQ(0, std::memcmp(repacked, b.scales, 12));
}

TEST(QuantLayout, Q4_KSixBitScaleMinPackingAndNibbleChunks) {
  lp::block_q4_K b{};
  b.d = lp::fp32_to_fp16(1.0f);
  b.dmin = lp::fp32_to_fp16(1.0f);
  // Sub-block 0: scale 2, min 1 (low 6 bits of bytes 0 and 4).
  // Sub-block 5: scale 40 = 0b10'1000, min 33 = 0b10'0001: low nibbles in byte 9, top bits in the
  // top two bits of bytes 1 (scale) and 5 (min).
  b.scales[0] = 2;
  b.scales[4] = 1;
  b.scales[1] = 0x80;
  b.scales[5] = 0x80;
  b.scales[9] = 0x18;
  b.qs[0] = 0x05;   // element 0 (chunk 0, low nibble) = 5
  b.qs[64] = 0x30;  // chunk 2: high nibble is element 64 * 2 + 32 = 160 = 3
  const auto y = decode(TensorType::Q4_K, b, 256);
  EXPECT_EQ(y[0], 9.0f);     // 2 * 5 - 1
  EXPECT_EQ(y[32], 0.0f);    // sub-block 1: scale 0, min 0
  EXPECT_EQ(y[160], 87.0f);  // 40 * 3 - 33
  EXPECT_EQ(y[128], 0.0f);   // low nibble of qs[64] is 0; sub-block 4 has scale 0, min 0
}

TEST(QuantLayout, ScaleMinK4PackRoundTripsAllValues) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 100; ++trial) {
    uint8_t sc[8], mn[8], packed[12];
    for (int j = 0; j < 8; ++j) {
      sc[j] = uint8_t(rng() % 64);
      mn[j] = uint8_t(rng() % 64);
    }
    lp::quant::pack_scale_min_k4(sc, mn, packed);
    for (int j = 0; j < 8; ++j) {
      uint8_t s, m;
      lp::quant::unpack_scale_min_k4(packed, j, &s, &m);
      EXPECT_EQ(s, sc[j]);
      EXPECT_EQ(m, mn[j]);
    }
  }
}

TEST(QuantLayout, Q5_KFifthBitIsBitEDiv32OfQhEMod32) {
  lp::block_q5_K b{};
  b.d = lp::fp32_to_fp16(1.0f);
  b.dmin = lp::fp32_to_fp16(1.0f);
  b.scales[1] = 0x80;
  b.scales[5] = 0x80;
  b.scales[9] = 0x18;  // sub-block 5: scale 40, min 33 (as in the Q4_K test)
  b.qs[64] = 0x30;     // element 160 low bits = 3
  b.qh[0] = 0x20;      // bit 5 of qh[0]: element 5 * 32 + 0 = 160
  const auto y = decode(TensorType::Q5_K, b, 256);
  EXPECT_EQ(y[160], 727.0f);  // 40 * 19 - 33
  EXPECT_EQ(y[161], -33.0f);
}

TEST(QuantLayout, Q6_KQlQhInterleaving) {
  lp::block_q6_K b{};
  b.d = lp::fp32_to_fp16(0.5f);
  b.scales[0] = 2;   // elements 0..15
  b.scales[2] = 3;   // 32..47
  b.scales[4] = -1;  // 64..79
  b.scales[6] = 4;   // 96..111
  b.scales[9] = 5;   // 144..159
  b.ql[0] = 0x1f;    // element 0 low 4 = 15, element 64 low 4 = 1
  b.ql[32] = 0x00;   // elements 32 and 96 low 4 = 0
  b.qh[0] = 0x63;    // 0b01'10'00'11: element 0 high 3, 32 high 0, 64 high 2, 96 high 1
  b.ql[80] = 0x04;   // half 1, l = 16: element 144 low 4 = 4
  b.qh[48] = 0x02;   // element 144 high 2
  const auto y = decode(TensorType::Q6_K, b, 256);
  EXPECT_EQ(y[0], 31.0f);    // 0.5 * 2 * (63 - 32)
  EXPECT_EQ(y[32], -48.0f);  // 0.5 * 3 * (0 - 32)
  EXPECT_EQ(y[64], -0.5f);   // 0.5 * -1 * (33 - 32)
  EXPECT_EQ(y[96], -32.0f);  // 0.5 * 4 * (16 - 32)
  EXPECT_EQ(y[144], 10.0f);  // 0.5 * 5 * (36 - 32)
  EXPECT_EQ(y[1], -32.0f);   // 0.5 * 2 * (0 - 32)
}

TEST(QuantLayout, Q8_KFloatScaleAndBlockSums) {
  lp::block_q8_K b{};
  b.d = 0.25f;
  b.qs[10] = -8;
  EXPECT_EQ(decode(TensorType::Q8_K, b, 256)[10], -2.0f);

  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i) x[size_t(i)] = float((i * 37) % 19) - 9.0f;
  lp::quantize_row_ref(TensorType::Q8_K, x.data(), &b, 256);
  for (int g = 0; g < 16; ++g) {
    int sum = 0;
    for (int i = 16 * g; i < 16 * g + 16; ++i) {
      sum += b.qs[i];
      EXPECT_GE(b.qs[i], -127);
    }
    EXPECT_EQ(b.bsums[g], sum) << g;
  }
}

TEST(QuantLayout, BlockFieldOffsetsMatchTheFileFormat) {
  EXPECT_EQ(offsetof(lp::block_q2_K, qs), 16u);
  EXPECT_EQ(offsetof(lp::block_q2_K, d), 80u);
  EXPECT_EQ(offsetof(lp::block_q3_K, qs), 32u);
  EXPECT_EQ(offsetof(lp::block_q3_K, scales), 96u);
  EXPECT_EQ(offsetof(lp::block_q3_K, d), 108u);
  EXPECT_EQ(offsetof(lp::block_q4_K, scales), 4u);
  EXPECT_EQ(offsetof(lp::block_q4_K, qs), 16u);
  EXPECT_EQ(offsetof(lp::block_q5_K, qh), 16u);
  EXPECT_EQ(offsetof(lp::block_q5_K, qs), 48u);
  EXPECT_EQ(offsetof(lp::block_q6_K, qh), 128u);
  EXPECT_EQ(offsetof(lp::block_q6_K, scales), 192u);
  EXPECT_EQ(offsetof(lp::block_q6_K, d), 208u);
  EXPECT_EQ(offsetof(lp::block_q8_K, bsums), 260u);
  EXPECT_EQ(offsetof(lp::block_q5_0, qs), 6u);
  EXPECT_EQ(offsetof(lp::block_q5_1, qs), 8u);
}

}  // namespace
