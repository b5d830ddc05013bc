// The avx2 kernel of Q4_K_R16 (Q4_K with 16 rows interleaved, quant/interleave.h) against Q8_K,
// for every batch: a group's 16 rows run as two halves of 8, one row per 32-bit lane of a ymm
// (bytes 0-31 and 32-63 of each 64-byte line). vpmaddubsw multiplies 4 elements of 8 rows with 4
// activation bytes broadcast from memory into two int16 per row; a half sub-block's 4 products
// are summed in int16 (|sum| <= 8 * 15 * 128 < 2^15), then one vpmaddwd applies the 8 rows' scales
// (held in both int16 of the lane) and adds the pair. Batches above 8 run 8 activation rows at a
// time: the nibbles are unpacked once per 8 rows.
//
// Row ranges [r0, r1) must start and end on group boundaries (multiples of 16).
#pragma once

#include "kernels/simd/gemm_packed.h"
#include "quant/interleave.h"

namespace lp::LP_ISA_NS {
namespace {

// Sub-block s's scales (both int16 of lane r) and mins (likewise) of 8 rows starting at row `half * 8`.
struct R16HalfScales {
  __m256i scale_pairs, min_pairs;
  R16HalfScales(const block_q4_K_r16& g, int s, int half) {
    const __m256i low4 = _mm256_set1_epi32(0x0f), low2 = _mm256_set1_epi32(3);
    const __m256i lo = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(g.scales_lo[s] + 8 * half)));
    const __m256i hi = _mm256_srli_epi32(
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(g.scales_hi[s / 2] + 8 * half))),
        4 * (s % 2));
    const __m256i scale =
        _mm256_or_si256(_mm256_and_si256(lo, low4), _mm256_slli_epi32(_mm256_and_si256(hi, low2), 4));
    const __m256i min = _mm256_or_si256(_mm256_srli_epi32(lo, 4),
                                        _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(hi, 2), low2), 4));
    scale_pairs = _mm256_or_si256(scale, _mm256_slli_epi32(scale, 16));
    min_pairs = _mm256_or_si256(min, _mm256_slli_epi32(min, 16));
  }
};

// Groups [g0, g1) times B Q8_K rows; results to c[b * ldc + 16 * (g - g0) + r].
template <int B>
void q4_k_r16_groups_avx2(int64_t nblocks, const block_q4_K_r16* g0, const block_q4_K_r16* g1, const uint8_t* a,
                          size_t arb, float* c, int64_t ldc) {
  constexpr int64_t kAhead = 4;
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  for (const block_q4_K_r16* grp = g0; grp < g1; grp += nblocks, c += kQ4KR16Rows) {
    __m256 acc[2][B];
    for (int b = 0; b < B; ++b) acc[0][b] = acc[1][b] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nblocks; ++i) {
      const block_q4_K_r16& x = grp[i];
      if (&x + kAhead < g1) prefetch_bytes(reinterpret_cast<const uint8_t*>(&x + kAhead), sizeof x);
      const block_q8_K* ab[B];
      for (int b = 0; b < B; ++b) ab[b] = reinterpret_cast<const block_q8_K*>(a + size_t(b) * arb) + i;
      for (int half = 0; half < 2; ++half) {
        __m256i isum[B], msum[B];
        for (int b = 0; b < B; ++b) isum[b] = msum[b] = _mm256_setzero_si256();
        for (int s = 0; s < 8; ++s) {
          const R16HalfScales sc(x, s, half);
          for (int h = 0; h < 2; ++h) {
            __m256i q[4];
            for (int l = 0; l < 2; ++l) {
              const __m256i bytes = load256(x.qs[4 * s + 2 * h + l] + 32 * half);
              q[2 * l] = _mm256_and_si256(bytes, low4);
              q[2 * l + 1] = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4);
            }
            for (int b = 0; b < B; ++b) {
              const int8_t* aq = ab[b]->qs + 32 * s + 16 * h;
              __m256i sum16 = _mm256_maddubs_epi16(q[0], _mm256_set1_epi32(load_i32(aq)));
              for (int k = 1; k < 4; ++k)
                sum16 = _mm256_add_epi16(sum16, _mm256_maddubs_epi16(q[k], _mm256_set1_epi32(load_i32(aq + 4 * k))));
              isum[b] = _mm256_add_epi32(isum[b], _mm256_madd_epi16(sum16, sc.scale_pairs));
            }
          }
          for (int b = 0; b < B; ++b)
            msum[b] = _mm256_add_epi32(
                msum[b], _mm256_madd_epi16(sc.min_pairs, _mm256_set1_epi32(load_i32(ab[b]->bsums + 2 * s))));
        }
        const __m256 d = _mm256_cvtph_ps(load128(x.d + 8 * half)), dmin = _mm256_cvtph_ps(load128(x.dmin + 8 * half));
        for (int b = 0; b < B; ++b) {
          const __m256 ad = _mm256_set1_ps(ab[b]->d);
          acc[half][b] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[b]), _mm256_mul_ps(d, ad), acc[half][b]);
          acc[half][b] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum[b]), _mm256_mul_ps(dmin, ad), acc[half][b]);
        }
      }
    }
    for (int b = 0; b < B; ++b) {
      _mm256_storeu_ps(c + b * ldc, acc[0][b]);
      _mm256_storeu_ps(c + b * ldc + 8, acc[1][b]);
    }
  }
}

template <int B>
void q4_k_r16_batch_avx2(int64_t nblocks, const block_q4_K_r16* g0, const block_q4_K_r16* g1, const uint8_t* a,
                         size_t arb, int64_t nb, float* c, int64_t ldc) {
  if constexpr (B > 1) {
    if (nb < B) return q4_k_r16_batch_avx2<B - 1>(nblocks, g0, g1, a, arb, nb, c, ldc);
  }
  q4_k_r16_groups_avx2<B>(nblocks, g0, g1, a, arb, c, ldc);
}

void gemm_q4_k_r16_avx2(int64_t n, int64_t r0, int64_t r1, const void* w, size_t, const void* a, size_t arb,
                        int64_t nb, float* c, int64_t ldc) {
  constexpr int64_t kBatch = 8;
  const auto* groups = static_cast<const block_q4_K_r16*>(w);
  const int64_t nblocks = n / QK_K;
  const block_q4_K_r16* g0 = groups + r0 / kQ4KR16Rows * nblocks;
  const block_q4_K_r16* g1 = groups + r1 / kQ4KR16Rows * nblocks;
  for (int64_t j = 0; j < nb; j += kBatch) {
    q4_k_r16_batch_avx2<kBatch>(nblocks, g0, g1, static_cast<const uint8_t*>(a) + size_t(j) * arb, arb,
                                nb - j < kBatch ? nb - j : kBatch, c + j * ldc + r0, ldc);
  }
}

}  // namespace
}  // namespace lp::LP_ISA_NS
