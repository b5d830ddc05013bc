// Per-type reference quantize / dequantize of whole rows, behind quantize_row_ref's dispatch.
// n is the row length in elements and a multiple of the type's block size (checked by the caller).
// Exposed so that kernels and tests can call one type directly without the switch.
#pragma once

#include <cstdint>

#include "quant/blocks.h"

namespace lp::quant {

// Legacy 32-element blocks (quantize_legacy.cpp).
void quantize_q4_0(const float* x, block_q4_0* y, int64_t n);
void quantize_q4_1(const float* x, block_q4_1* y, int64_t n);
void quantize_q5_0(const float* x, block_q5_0* y, int64_t n);
void quantize_q5_1(const float* x, block_q5_1* y, int64_t n);
void quantize_q8_0(const float* x, block_q8_0* y, int64_t n);
void quantize_q8_1(const float* x, block_q8_1* y, int64_t n);
void dequantize_q4_0(const block_q4_0* x, float* y, int64_t n);
void dequantize_q4_1(const block_q4_1* x, float* y, int64_t n);
void dequantize_q5_0(const block_q5_0* x, float* y, int64_t n);
void dequantize_q5_1(const block_q5_1* x, float* y, int64_t n);
void dequantize_q8_0(const block_q8_0* x, float* y, int64_t n);
void dequantize_q8_1(const block_q8_1* x, float* y, int64_t n);

// K-quants, 256-element super-blocks (quantize_k.cpp, quantize_k_low.cpp).
void quantize_q2_K(const float* x, block_q2_K* y, int64_t n);
void quantize_q3_K(const float* x, block_q3_K* y, int64_t n);
void quantize_q4_K(const float* x, block_q4_K* y, int64_t n);
void quantize_q5_K(const float* x, block_q5_K* y, int64_t n);
void quantize_q6_K(const float* x, block_q6_K* y, int64_t n);
void quantize_q8_K(const float* x, block_q8_K* y, int64_t n);
void dequantize_q2_K(const block_q2_K* x, float* y, int64_t n);
void dequantize_q3_K(const block_q3_K* x, float* y, int64_t n);
void dequantize_q4_K(const block_q4_K* x, float* y, int64_t n);
void dequantize_q5_K(const block_q5_K* x, float* y, int64_t n);
void dequantize_q6_K(const block_q6_K* x, float* y, int64_t n);
void dequantize_q8_K(const block_q8_K* x, float* y, int64_t n);

// The 6-bit scale/min packing shared by Q4_K and Q5_K (12 bytes for 8 sub-blocks):
//   bytes 0..3 : low 6 bits = scale j (j = 0..3), top 2 bits = bits 4..5 of scale j+4
//   bytes 4..7 : low 6 bits = min j   (j = 0..3), top 2 bits = bits 4..5 of min j+4
//   bytes 8..11: low nibble = bits 0..3 of scale j+4, high nibble = bits 0..3 of min j+4
void pack_scale_min_k4(const uint8_t scale[8], const uint8_t min[8], uint8_t packed[12]);
// The 4-bit quants of Q4_K (and Q5_K's low bits), 256 per block: qs[32c + l] holds element 64c + l
// in its low nibble and element 64c + 32 + l in its high nibble.
void pack_k4_nibbles(const uint8_t q[256], uint8_t qs[128]);
void unpack_k4_nibbles(const uint8_t qs[128], uint8_t q[256]);
void unpack_scale_min_k4(const uint8_t packed[12], int j, uint8_t* scale, uint8_t* min);

// The 6-bit scale packing of Q3_K (12 bytes for 16 sub-blocks, values stored biased by +32):
//   bytes 0..7 : low nibble = bits 0..3 of scale j, high nibble = bits 0..3 of scale j+8 (j = 0..7)
//   bytes 8..11: bits 2k..2k+1 of byte 8+i = bits 4..5 of scale 4k+i (i = 0..3, k = 0..3)
void pack_scales_q3_K(const uint8_t biased[16], uint8_t packed[12]);
void unpack_scales_q3_K(const uint8_t packed[12], uint8_t biased[16]);

}  // namespace lp::quant
