// Shared helpers of the scalar reference tier (generic code: no ISA flags, so sharing inline
// functions here is safe).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernel_table.h"

namespace lp::ref {

// The reference mat-mul is, by definition, one reference dot product per (weight row, activation
// row): the SIMD tiers' gemm kernels are checked against exactly this.
template <KernelTable::VecDotFn Dot>
void gemm_by_vec_dot(int64_t n, int64_t r0, int64_t r1, const void* w, size_t w_row_bytes, const void* a,
                     size_t a_row_bytes, int64_t nb, float* c, int64_t ldc) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t j = 0; j < nb; ++j) {
      c[j * ldc + r] = Dot(n, wb + size_t(r) * w_row_bytes, ab + size_t(j) * a_row_bytes);
    }
  }
}

// Q4_K / Q5_K pack 8 six-bit scales and 8 six-bit mins in 12 bytes: sub-blocks 0-3 in the low six
// bits of bytes 0-3 (scales) and 4-7 (mins); sub-blocks 4-7 take their low four bits from bytes
// 8-11 and their top two bits from the top of bytes 0-3 (scales) and 4-7 (mins).
inline void unpack_scales_mins_k4(const uint8_t* packed, uint8_t scales[8], uint8_t mins[8]) {
  for (int j = 0; j < 4; ++j) {
    scales[j] = packed[j] & 63;
    mins[j] = packed[j + 4] & 63;
  }
  for (int j = 4; j < 8; ++j) {
    scales[j] = uint8_t((packed[j + 4] & 0xf) | ((packed[j - 4] >> 6) << 4));
    mins[j] = uint8_t((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
  }
}

// Q3_K packs 16 six-bit scales (stored +32) in 12 bytes: the low four bits of scale j are the low
// (j < 8) or high (j >= 8) nibble of byte j % 8, its top two bits are bits 2*(j/4) of byte 8 + j % 4.
inline void unpack_scales_q3_k(const uint8_t* packed, int8_t scales[16]) {
  for (int j = 0; j < 16; ++j) {
    const int low = j < 8 ? packed[j] & 0xf : packed[j - 8] >> 4;
    const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
    scales[j] = int8_t((low | (high << 4)) - 32);
  }
}

}  // namespace lp::ref
