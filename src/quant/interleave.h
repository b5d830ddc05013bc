// Q4_K_R16: Q4_K with 16 rows interleaved, llamaprof's opt-in layout for decode on AVX-512
// (`llamaprof quantize --interleave`). The values are Q4_K's, bit for bit; only their order
// differs, so converting either way is lossless.
//
// Why: in Q4_K a row's 256 elements sit together, so a SIMD dot product sums within one row and
// must apply the 8 sub-block scales lane by lane and reduce each row at the end. Here the 32-bit
// lane r of a 64-byte vector holds 4 elements of row r: one vpdpbusd multiplies 4 elements of 16
// rows against 4 activation bytes broadcast to every lane, a half sub-block is summed in int32
// before one scale multiply for all 16 rows, and the 16 results come out as one vector.
//
// One block_q4_K_r16 holds super-block i of rows 16g .. 16g + 15 (same bytes as 16 Q4_K blocks):
//   d[r], dmin[r]   row r's fp16 scales;
//   scales_lo[s][r] low 4 bits of row r's sub-block s scale | low 4 bits of its min << 4;
//   scales_hi[k][r] the top 2 bits of scale 2k, min 2k, scale 2k+1, min 2k+1 (bits 0-1, 2-3, 4-5, 6-7);
//   qs[4s + l][4r + e] elements 32s + 8l + e (low nibble) and 32s + 8l + 4 + e (high nibble) of row r.
// A tensor's rows are stored group after group; a group's blocks in super-block order.
#pragma once

#include <cstdint>

#include "quant/blocks.h"

namespace lp {

constexpr int kQ4KR16Rows = 16;

struct block_q4_K_r16 {
  fp16_t d[kQ4KR16Rows];
  fp16_t dmin[kQ4KR16Rows];
  uint8_t scales_lo[8][kQ4KR16Rows];
  uint8_t scales_hi[4][kQ4KR16Rows];
  uint8_t qs[32][64];
};
static_assert(sizeof(block_q4_K_r16) == kQ4KR16Rows * sizeof(block_q4_K), "block_q4_K_r16 size");

// 16 rows of blocks_per_row Q4_K blocks (row r at rows + r * blocks_per_row) -> one group.
void interleave_q4_k_r16(const block_q4_K* rows, int64_t blocks_per_row, block_q4_K_r16* group);
// The inverse: one group -> 16 rows of Q4_K blocks.
void deinterleave_q4_k_r16(const block_q4_K_r16* group, int64_t blocks_per_row, block_q4_K* rows);

// Whole tensors of n_rows rows (a multiple of 16) of row_len elements.
void interleave_q4_k_rows(const void* q4_k, void* q4_k_r16, int64_t n_rows, int64_t row_len);
void deinterleave_q4_k_rows(const void* q4_k_r16, void* q4_k, int64_t n_rows, int64_t row_len);

}  // namespace lp
