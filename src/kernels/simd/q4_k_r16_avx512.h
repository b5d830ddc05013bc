// The avx512 kernels of Q4_K_R16 (Q4_K with 16 rows interleaved, quant/interleave.h) against Q8_K.
//
// Decode and batches of up to kMatvecBatchMax rows: a group of 16 weight rows is one zmm per 4
// elements (lane r = row r), so one vpdpbusd with the 4 activation bytes broadcast from memory
// multiplies 4 elements of 16 rows, a half sub-block (16 elements, |sum| <= 16 * 15 * 128 < 2^15)
// is summed in int32 before one vpdpwssd applies the 16 rows' scales, and the group's 16 results
// come out as one vector: 1.375 multiplies per 64 quants and row, against 2 for Q4_K's zmm loop,
// and no per-row reduction. Unpacking the nibbles and the scales is shared by the batch; each
// activation row is accumulated exactly as alone.
//
// Prompts (larger batches) run the packed gemm of gemm_packed_avx512.h, whose 16-row tile is a
// group: packing only splits the nibbles.
//
// Row ranges [r0, r1) must start and end on group boundaries (multiples of 16): model/matmul.cpp's
// work items do.
#pragma once

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VNNI__)
#error "kernels/simd/q4_k_r16_avx512.h needs AVX-512 F/BW + VNNI"
#endif

#include "kernels/simd/gemm_packed.h"
#include "quant/interleave.h"

namespace lp::LP_ISA_NS {
namespace {

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

// Sub-block s's 6-bit scales of the group's 16 rows, one row per dword lane, and their mins in both
// int16 of the lane (to meet a pair of the activation's bsums in one vpdpwssd).
struct R16SubScales {
  __m512i scale, min_pairs;
  R16SubScales(const block_q4_K_r16& g, int s) {
    const __m512i low4 = _mm512_set1_epi32(0x0f), low2 = _mm512_set1_epi32(3);
    const __m512i lo = _mm512_cvtepu8_epi32(load128(g.scales_lo[s]));
    const __m512i hi = _mm512_srli_epi32(_mm512_cvtepu8_epi32(load128(g.scales_hi[s / 2])), 4 * (s % 2));
    scale = _mm512_or_si512(_mm512_and_si512(lo, low4), _mm512_slli_epi32(_mm512_and_si512(hi, low2), 4));
    const __m512i min =
        _mm512_or_si512(_mm512_srli_epi32(lo, 4), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(hi, 2), low2), 4));
    min_pairs = _mm512_or_si512(min, _mm512_slli_epi32(min, 16));
  }
};

// Groups [g0, g1) of 16 rows times B Q8_K rows; results to c[b * ldc + 16 * (g - g0) + r].
// Prefetches kAhead blocks ahead, never past the end of group g1 - 1.
template <int B>
void q4_k_r16_groups(int64_t nblocks, const block_q4_K_r16* g0, const block_q4_K_r16* g1, const uint8_t* a,
                     size_t arb, float* c, int64_t ldc) {
  constexpr int64_t kAhead = 4;  // blocks (9 KiB); 2-32 measured the same
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  const block_q4_K_r16* const end = g1;
  for (const block_q4_K_r16* grp = g0; grp < g1; grp += nblocks, c += kQ4KR16Rows) {
    __m512 acc[B];
    for (int b = 0; b < B; ++b) acc[b] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nblocks; ++i) {
      const block_q4_K_r16& x = grp[i];
      if (&x + kAhead < end) prefetch_bytes(reinterpret_cast<const uint8_t*>(&x + kAhead), sizeof x);
      const block_q8_K* ab[B];
      for (int b = 0; b < B; ++b) ab[b] = reinterpret_cast<const block_q8_K*>(a + size_t(b) * arb) + i;
      __m512i isum[B], msum[B];
      for (int b = 0; b < B; ++b) isum[b] = msum[b] = _mm512_setzero_si512();
      for (int s = 0; s < 8; ++s) {
        const R16SubScales sc(x, s);
        for (int h = 0; h < 2; ++h) {
          __m512i q[4];
          for (int l = 0; l < 2; ++l) {
            const __m512i bytes = _mm512_loadu_si512(x.qs[4 * s + 2 * h + l]);
            q[2 * l] = _mm512_and_si512(bytes, low4);
            q[2 * l + 1] = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low4);
          }
          for (int b = 0; b < B; ++b) {
            const int8_t* aq = ab[b]->qs + 32 * s + 16 * h;
            __m512i dots = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[0], _mm512_set1_epi32(load_i32(aq)));
            for (int k = 1; k < 4; ++k) dots = _mm512_dpbusd_epi32(dots, q[k], _mm512_set1_epi32(load_i32(aq + 4 * k)));
            isum[b] = _mm512_dpwssd_epi32(isum[b], dots, sc.scale);
          }
        }
        for (int b = 0; b < B; ++b)
          msum[b] = _mm512_dpwssd_epi32(msum[b], sc.min_pairs, _mm512_set1_epi32(load_i32(ab[b]->bsums + 2 * s)));
      }
      const __m512 d = _mm512_cvtph_ps(load256(x.d)), dmin = _mm512_cvtph_ps(load256(x.dmin));
      for (int b = 0; b < B; ++b) {
        const __m512 ad = _mm512_set1_ps(ab[b]->d);
        acc[b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[b]), _mm512_mul_ps(d, ad), acc[b]);
        acc[b] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum[b]), _mm512_mul_ps(dmin, ad), acc[b]);
      }
    }
    for (int b = 0; b < B; ++b) _mm512_storeu_ps(c + b * ldc, acc[b]);
  }
}

template <int B>
void q4_k_r16_batch(int64_t nblocks, const block_q4_K_r16* g0, const block_q4_K_r16* g1, const uint8_t* a,
                    size_t arb, int64_t nb, float* c, int64_t ldc) {
  if constexpr (B > 1) {
    if (nb < B) return q4_k_r16_batch<B - 1>(nblocks, g0, g1, a, arb, nb, c, ldc);
  }
  q4_k_r16_groups<B>(nblocks, g0, g1, a, arb, c, ldc);
}

// The packed gemm's tile (KPacked in gemm_packed_avx512.h) from a group: KPacked passes the 16 row
// pointers of the tile, the first being the group's start, and the offset of super-block i in a
// Q4_K row (i * 144); the group's block i is 16 times further.
struct Q4_KR16Pack {
  using W = block_q4_K;
  static constexpr int kSub = 1;
  static void pack_block(const uint8_t* const* rows, size_t off, uint8_t* t) {
    using L = KLayout<1>;
    const auto& g = *reinterpret_cast<const block_q4_K_r16*>(rows[0] + off * kQ4KR16Rows);
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    auto* q = reinterpret_cast<__m512i*>(t + L::kQ);
    for (int line = 0; line < 32; ++line) {  // line 4s + l: elements 32s + 8l + (0..3 | 4..7)
      const __m512i bytes = _mm512_loadu_si512(g.qs[line]);
      _mm512_store_si512(q + 2 * line, _mm512_and_si512(bytes, low4));
      _mm512_store_si512(q + 2 * line + 1, _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low4));
    }
    const __m512 d = _mm512_cvtph_ps(load256(g.d)), dmin = _mm512_cvtph_ps(load256(g.dmin));
    for (int s = 0; s < 8; ++s) {
      const R16SubScales sc(g, s);
      _mm512_store_ps(t + L::kScales + 64 * s, _mm512_mul_ps(_mm512_cvtepi32_ps(sc.scale), d));
      _mm512_store_si512(t + L::kCorr + 64 * s, sc.min_pairs);
    }
    _mm512_store_ps(t + L::kCorrF, _mm512_sub_ps(_mm512_setzero_ps(), dmin));
  }
};

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic pop
#endif

void gemm_q4_k_r16(int64_t n, int64_t r0, int64_t r1, const void* w, size_t wrb, const void* a, size_t arb,
                   int64_t nb, float* c, int64_t ldc) {
  if (nb > kMatvecBatchMax) return gemm_packed_tiles<KPacked<Q4_KR16Pack>>(n, r0, r1, w, wrb, a, arb, nb, c, ldc);
  const auto* groups = static_cast<const block_q4_K_r16*>(w);
  const int64_t nblocks = n / QK_K;
  q4_k_r16_batch<kMatvecBatchMax>(nblocks, groups + r0 / kQ4KR16Rows * nblocks, groups + r1 / kQ4KR16Rows * nblocks,
                                  static_cast<const uint8_t*>(a), arb, nb, c + r0, ldc);
}

}  // namespace
}  // namespace lp::LP_ISA_NS
