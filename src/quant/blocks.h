// Block layouts of the GGUF quantization formats, byte-compatible with the file format.
// Each struct is the exact on-disk layout of one block; sizes are checked below.
// Fact source: the GGUF/ggml block definitions (QK = 32 for the legacy types, QK_K = 256 for
// K-quants, 12 packed 6-bit scale bytes in Q3_K/Q4_K/Q5_K).
#pragma once

#include <cstdint>

#include "quant/fp16.h"

namespace lp {

constexpr int QK4_0 = 32;
constexpr int QK4_1 = 32;
constexpr int QK5_0 = 32;
constexpr int QK5_1 = 32;
constexpr int QK8_0 = 32;
constexpr int QK8_1 = 32;
constexpr int QK_K = 256;
constexpr int K_SCALE_SIZE = 12;

// x = d * (q - 8), q in 0..15; low nibbles hold elements 0..15, high nibbles 16..31.
struct block_q4_0 {
  fp16_t d;
  uint8_t qs[QK4_0 / 2];
};
// x = d * q + m, q in 0..15.
struct block_q4_1 {
  fp16_t d;
  fp16_t m;
  uint8_t qs[QK4_1 / 2];
};
// x = d * (q - 16), q in 0..31; bit 4 of element j is bit j of qh.
struct block_q5_0 {
  fp16_t d;
  uint8_t qh[4];
  uint8_t qs[QK5_0 / 2];
};
// x = d * q + m, q in 0..31.
struct block_q5_1 {
  fp16_t d;
  fp16_t m;
  uint8_t qh[4];
  uint8_t qs[QK5_1 / 2];
};
// x = d * q, q in -127..127.
struct block_q8_0 {
  fp16_t d;
  int8_t qs[QK8_0];
};
// Q8_0 plus s = d * sum(q): the activation format for Q4_1 / Q5_1 (the min term needs the sum).
struct block_q8_1 {
  fp16_t d;
  fp16_t s;
  int8_t qs[QK8_1];
};

// 16 sub-blocks of 16; 4-bit scale and 4-bit min per sub-block; 2-bit quants.
struct block_q2_K {
  uint8_t scales[QK_K / 16];
  uint8_t qs[QK_K / 4];
  fp16_t d;
  fp16_t dmin;
};
// 16 sub-blocks of 16; 6-bit scales packed in 12 bytes; 3-bit quants (2 low bits + hmask bit).
struct block_q3_K {
  uint8_t hmask[QK_K / 8];
  uint8_t qs[QK_K / 4];
  uint8_t scales[K_SCALE_SIZE];
  fp16_t d;
};
// 8 sub-blocks of 32; 6-bit scale and min each, packed in 12 bytes; 4-bit quants.
struct block_q4_K {
  fp16_t d;
  fp16_t dmin;
  uint8_t scales[K_SCALE_SIZE];
  uint8_t qs[QK_K / 2];
};
// As Q4_K with a fifth bit per quant in qh.
struct block_q5_K {
  fp16_t d;
  fp16_t dmin;
  uint8_t scales[K_SCALE_SIZE];
  uint8_t qh[QK_K / 8];
  uint8_t qs[QK_K / 2];
};
// 16 sub-blocks of 16; 8-bit signed scales; 6-bit quants (4 low bits in ql, 2 high in qh).
struct block_q6_K {
  uint8_t ql[QK_K / 2];
  uint8_t qh[QK_K / 4];
  int8_t scales[QK_K / 16];
  fp16_t d;
};
// The activation format for K-quants: float scale, int8 quants, sums of each group of 16.
struct block_q8_K {
  float d;
  int8_t qs[QK_K];
  int16_t bsums[QK_K / 16];
};

static_assert(sizeof(block_q4_0) == 18);
static_assert(sizeof(block_q4_1) == 20);
static_assert(sizeof(block_q5_0) == 22);
static_assert(sizeof(block_q5_1) == 24);
static_assert(sizeof(block_q8_0) == 34);
static_assert(sizeof(block_q8_1) == 36);
static_assert(sizeof(block_q2_K) == 84);
static_assert(sizeof(block_q3_K) == 110);
static_assert(sizeof(block_q4_K) == 144);
static_assert(sizeof(block_q5_K) == 176);
static_assert(sizeof(block_q6_K) == 210);
static_assert(sizeof(block_q8_K) == 292);

}  // namespace lp
