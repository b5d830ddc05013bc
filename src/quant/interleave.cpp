#include "quant/interleave.h"

#include <cstring>

#include "quant/quantize_rows.h"

namespace lp {

void interleave_q4_k_r16(const block_q4_K* rows, int64_t blocks_per_row, block_q4_K_r16* group) {
  for (int64_t i = 0; i < blocks_per_row; ++i) {
    block_q4_K_r16& g = group[i];
    std::memset(&g, 0, sizeof g);
    for (int r = 0; r < kQ4KR16Rows; ++r) {
      const block_q4_K& b = rows[r * blocks_per_row + i];
      g.d[r] = b.d;
      g.dmin[r] = b.dmin;
      for (int s = 0; s < 8; ++s) {
        uint8_t sc, mn;
        quant::unpack_scale_min_k4(b.scales, s, &sc, &mn);
        g.scales_lo[s][r] = uint8_t((sc & 0x0f) | ((mn & 0x0f) << 4));
        g.scales_hi[s / 2][r] |= uint8_t(((sc >> 4) | ((mn >> 4) << 2)) << (4 * (s % 2)));
      }
      uint8_t q[QK_K];
      quant::unpack_k4_nibbles(b.qs, q);
      for (int line = 0; line < 32; ++line) {  // line 4s + l: elements 8 * line + (0..3 | 4..7)
        for (int e = 0; e < 4; ++e) g.qs[line][4 * r + e] = uint8_t(q[8 * line + e] | (q[8 * line + 4 + e] << 4));
      }
    }
  }
}

void deinterleave_q4_k_r16(const block_q4_K_r16* group, int64_t blocks_per_row, block_q4_K* rows) {
  for (int64_t i = 0; i < blocks_per_row; ++i) {
    const block_q4_K_r16& g = group[i];
    for (int r = 0; r < kQ4KR16Rows; ++r) {
      block_q4_K& b = rows[r * blocks_per_row + i];
      b.d = g.d[r];
      b.dmin = g.dmin[r];
      uint8_t sc[8], mn[8];
      for (int s = 0; s < 8; ++s) {
        const int hi = g.scales_hi[s / 2][r] >> (4 * (s % 2));
        sc[s] = uint8_t((g.scales_lo[s][r] & 0x0f) | ((hi & 3) << 4));
        mn[s] = uint8_t((g.scales_lo[s][r] >> 4) | (((hi >> 2) & 3) << 4));
      }
      quant::pack_scale_min_k4(sc, mn, b.scales);
      uint8_t q[QK_K];
      for (int line = 0; line < 32; ++line) {
        for (int e = 0; e < 4; ++e) {
          q[8 * line + e] = g.qs[line][4 * r + e] & 0x0f;
          q[8 * line + 4 + e] = g.qs[line][4 * r + e] >> 4;
        }
      }
      quant::pack_k4_nibbles(q, b.qs);
    }
  }
}

void interleave_q4_k_rows(const void* q4_k, void* q4_k_r16, int64_t n_rows, int64_t row_len) {
  const int64_t bpr = row_len / QK_K;
  const auto* src = static_cast<const block_q4_K*>(q4_k);
  auto* dst = static_cast<block_q4_K_r16*>(q4_k_r16);
  for (int64_t g = 0; g < n_rows / kQ4KR16Rows; ++g)
    interleave_q4_k_r16(src + g * kQ4KR16Rows * bpr, bpr, dst + g * bpr);
}

void deinterleave_q4_k_rows(const void* q4_k_r16, void* q4_k, int64_t n_rows, int64_t row_len) {
  const int64_t bpr = row_len / QK_K;
  const auto* src = static_cast<const block_q4_K_r16*>(q4_k_r16);
  auto* dst = static_cast<block_q4_K*>(q4_k);
  for (int64_t g = 0; g < n_rows / kQ4KR16Rows; ++g)
    deinterleave_q4_k_r16(src + g * bpr, bpr, dst + g * kQ4KR16Rows * bpr);
}

}  // namespace lp
