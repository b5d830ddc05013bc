// F32 x F32, F16 x F16 and BF16 x BF16 dot products and tiles, 8 elements per step; a scalar tail
// takes the last n % 8 (head_dim 100 and similar lengths).
#pragma once

#include "kernels/simd/gemm_driver.h"

namespace lp::LP_ISA_NS {
namespace {

struct F32Elem {
  static __m256 load8(const uint8_t* row, int64_t k) { return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + k); }
  static float load1(const uint8_t* row, int64_t k) { return reinterpret_cast<const float*>(row)[k]; }
};
struct F16Elem {
  static __m256 load8(const uint8_t* row, int64_t k) {
    return _mm256_cvtph_ps(load128(reinterpret_cast<const fp16_t*>(row) + k));
  }
  static float load1(const uint8_t* row, int64_t k) {
    fp16_t h;
    std::memcpy(&h, row + 2 * k, 2);
    return half_to_float(h);
  }
};
// bfloat16 is the top half of a float: widen and shift.
struct BF16Elem {
  static __m256 load8(const uint8_t* row, int64_t k) {
    const __m256i wide = _mm256_cvtepu16_epi32(load128(reinterpret_cast<const bf16_t*>(row) + k));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
  static float load1(const uint8_t* row, int64_t k) {
    bf16_t h;
    std::memcpy(&h, row + 2 * k, 2);
    return bf16_to_fp32(h);
  }
};

template <class E>
struct FloatKernel {
  template <int R, int B>
  static void tile(int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb, float* c, int64_t ldc) {
    // Small tiles (a lone vec_dot) would wait on one fma chain: give them U independent ones.
    constexpr int U = R * B >= 4 ? 1 : 4;
    __m256 acc[U][R][B];
    for (int u = 0; u < U; ++u) {
      for (int r = 0; r < R; ++r) {
        for (int b = 0; b < B; ++b) acc[u][r][b] = _mm256_setzero_ps();
      }
    }
    int64_t k = 0;
    for (; k + 8 * U <= n; k += 8 * U) {
      for (int u = 0; u < U; ++u) {
        __m256 wv[R];
        for (int r = 0; r < R; ++r) wv[r] = E::load8(w + size_t(r) * wrb, k + 8 * u);
        for (int b = 0; b < B; ++b) {
          const __m256 av = E::load8(a + size_t(b) * arb, k + 8 * u);
          for (int r = 0; r < R; ++r) acc[u][r][b] = _mm256_fmadd_ps(wv[r], av, acc[u][r][b]);
        }
      }
    }
    for (; k + 8 <= n; k += 8) {
      __m256 wv[R];
      for (int r = 0; r < R; ++r) wv[r] = E::load8(w + size_t(r) * wrb, k);
      for (int b = 0; b < B; ++b) {
        const __m256 av = E::load8(a + size_t(b) * arb, k);
        for (int r = 0; r < R; ++r) acc[0][r][b] = _mm256_fmadd_ps(wv[r], av, acc[0][r][b]);
      }
    }
    for (int u = 1; u < U; ++u) {
      for (int r = 0; r < R; ++r) {
        for (int b = 0; b < B; ++b) acc[0][r][b] = _mm256_add_ps(acc[0][r][b], acc[u][r][b]);
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int b = 0; b < B; ++b) {
        float sum = hsum(acc[0][r][b]);
        for (int64_t t = k; t < n; ++t) sum += E::load1(w + size_t(r) * wrb, t) * E::load1(a + size_t(b) * arb, t);
        c[b * ldc + r] = sum;
      }
    }
  }
};

using F32Kernel = FloatKernel<F32Elem>;
using F16Kernel = FloatKernel<F16Elem>;
using BF16Kernel = FloatKernel<BF16Elem>;

}  // namespace
}  // namespace lp::LP_ISA_NS
