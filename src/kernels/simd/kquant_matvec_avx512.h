// The Q4_K, Q5_K and Q6_K mat-vecs of the avx512 tier (R weight rows times B <= 8 Q8_K activation rows):
// decode's loops for K-quant models, and the small batches of the server's slots and speculative
// verification.
//
// 64 quants meet 64 activation bytes in one zmm vpdpbusd (4 products per int32 lane; |sum| <=
// 4 * 63 * 127, so the lane's low int16 is the sum) and one vpdpwssd applies the sub-blocks'
// scales, held in the low int16 of each dword (the high int16, the sum's sign, meets 0). The ymm
// loops (kquant_kernels.h) need 2 loads, 2 maddubs and 2 dpwssd for the same work. Measured
// (bench/kernels_matvec, Zen 4): one thread decodes Q4_K 11-15% faster (MatVec, 1 thread: the ymm
// loop is compute-bound there); a batch row costs the same as before (~13 cycles per super-block
// and row, MatVecBatchInCache): Zen 4 runs a zmm multiply as two 256-bit halves, so the
// multiply-port time, which bounds a batch, is unchanged.
//
// Unpacking is shared by the batch, and every activation row is accumulated exactly as for B = 1
// (same operations, same order), so a row's result does not depend on the batch it shares
// (tests/cpp/kernels_small_batch.cpp).
#pragma once

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VNNI__)
#error "kernels/simd/kquant_matvec_avx512.h needs AVX-512 F/BW + VNNI"
#endif

#include <type_traits>

#include "kernels/simd/kquant_kernels.h"

namespace lp::LP_ISA_NS {
namespace {

// gcc 12 warns about the deliberately uninitialised vectors inside its own _mm512_* intrinsics
// (GCC bug 105593, fixed in gcc 13; see q4_0_matvec_avx512.h).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

// One weight super-block unpacked for the loop below: quants[j] holds elements 64j .. 64j + 63
// (u8), scales[j] the scale of each dword lane's 4 elements in its low int16 (high int16 zero).

// Q4_K / Q5_K (W): 64 bytes of qs are 4 sub-blocks' nibbles (low nibbles: sub-blocks 4h and 4h+2,
// high nibbles: 4h+1 and 4h+3); two 128-bit lane shuffles put them in activation order. Q5_K's
// fifth bit of element l of sub-block g is bit g of qh[l]. The mins meet the activation's bsums.
template <class W>
struct K4ZmmBlock {
  using Block = W;
  __m512i quants[4], scales[4];
  __m256i mins16;  // each sub-block's min twice: one per bsum (16 activations)
  float d, dmin;

  explicit K4ZmmBlock(const W& x) {
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    for (int h = 0; h < 2; ++h) {
      const __m512i bytes = _mm512_loadu_si512(x.qs + 64 * h);
      const __m512i lo = _mm512_and_si512(bytes, low4);                         // 4h | 4h + 2
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low4);  // 4h + 1 | 4h + 3
      quants[2 * h] = _mm512_shuffle_i64x2(lo, hi, 0x44);
      quants[2 * h + 1] = _mm512_shuffle_i64x2(lo, hi, 0xee);
    }
    if constexpr (std::is_same_v<W, block_q5_K>) {
      // quants[j] holds sub-blocks 2j (low half) and 2j + 1: bits 2j and 2j + 1 of qh, moved to bit 4.
      const __m512i bit4 = _mm512_set1_epi8(0x10);
      const __m256i qh = load256(x.qh);
      const __m512i hbits = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 1), 1);
      quants[0] = _mm512_or_si512(quants[0], _mm512_and_si512(_mm512_slli_epi16(hbits, 4), bit4));
      quants[1] = _mm512_or_si512(quants[1], _mm512_and_si512(_mm512_slli_epi16(hbits, 2), bit4));
      quants[2] = _mm512_or_si512(quants[2], _mm512_and_si512(hbits, bit4));
      quants[3] = _mm512_or_si512(quants[3], _mm512_and_si512(_mm512_srli_epi16(hbits, 2), bit4));
    }
    const K4ScaleBytes sm = unpack_k4_scale_bytes(x.scales);
    const __m512i sc32 = _mm512_zextsi256_si512(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(sm.scales))));
    for (int j = 0; j < 4; ++j) {  // lanes 0-7: scale 2j, lanes 8-15: scale 2j + 1
      const __m512i index = _mm512_inserti64x4(_mm512_set1_epi32(2 * j), _mm256_set1_epi32(2 * j + 1), 1);
      scales[j] = _mm512_permutexvar_epi32(index, sc32);
    }
    const __m128i mins8 = _mm_cvtsi64_si128(int64_t(sm.mins));
    mins16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mins8, mins8));
    d = half_to_float(x.d);
    dmin = half_to_float(x.dmin);
  }

  // acc + this block times the activation block, given isum = sum_j scales[j] . dot(quants[j], a).
  __m512 accumulate(__m512i isum, const block_q8_K& a, __m512 acc) const {
    const __m256i min_dot = _mm256_madd_epi16(mins16, load256(a.bsums));
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * a.d), acc);
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(min_dot)), _mm512_set1_ps(-dmin * a.d), acc);
  }
};

// Q6_K: quants 0..63 (the -32 offset is taken out through the activation sums, as in
// kquant_kernels.h), a signed 8-bit scale per 16. Per 128-element half h, ql[64h .. 64h+63]
// holds elements l and l + 32 in its low nibbles, l + 64 and l + 96 in its high nibbles;
// qh[32h + l] holds their top two bits at bits 0-1, 2-3, 4-5 and 6-7.
struct Q6ZmmBlock {
  using Block = block_q6_K;
  __m512i quants[4], scales[4];
  __m256i scales16;  // the 16 scales, one per bsum
  float d;

  explicit Q6ZmmBlock(const block_q6_K& x) {
    const __m512i low4 = _mm512_set1_epi8(0x0f), top2 = _mm512_set1_epi8(0x30);
    for (int h = 0; h < 2; ++h) {
      const __m512i lo = _mm512_loadu_si512(x.ql + 64 * h);
      const __m256i qh = load256(x.qh + 32 * h);
      const __m512i hbits = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
      quants[2 * h] =
          _mm512_or_si512(_mm512_and_si512(lo, low4), _mm512_and_si512(_mm512_slli_epi16(hbits, 4), top2));
      quants[2 * h + 1] =
          _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(lo, 4), low4), _mm512_and_si512(hbits, top2));
    }
    const __m128i scales8 = load128(x.scales);
    for (int j = 0; j < 4; ++j) {  // dword lane m: scale 4j + m / 4, sign bits cleared from the high int16
      const __m128i index = _mm_add_epi8(_mm_set1_epi8(char(4 * j)),
                                         _mm_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3));
      scales[j] = _mm512_and_si512(_mm512_cvtepi8_epi32(_mm_shuffle_epi8(scales8, index)),
                                   _mm512_set1_epi32(0xffff));
    }
    scales16 = _mm256_cvtepi8_epi16(scales8);
    d = half_to_float(x.d);
  }

  __m512 accumulate(__m512i isum, const block_q8_K& a, __m512 acc) const {
    // - 32 * sum over the 16 sub-blocks of scale * activation sum (exact in int32).
    const __m256i offset = _mm256_madd_epi16(scales16, load256(a.bsums));
    isum = _mm512_sub_epi32(isum, _mm512_slli_epi32(_mm512_zextsi256_si512(offset), 5));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * a.d), acc);
  }
};

// R weight rows of U::Block times B Q8_K rows: each weight block unpacked once, then 2
// instructions per 64 quants and activation row.
template <class U, int R, int B, int kPrefetchAhead = 0>
void kquant_rows_zmm(int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb, float* c, int64_t ldc) {
  using W = typename U::Block;
  __m512 acc[R][B];
  for (int r = 0; r < R; ++r) {
    for (int b = 0; b < B; ++b) acc[r][b] = _mm512_setzero_ps();
  }
  const int64_t nblocks = n / QK_K;
  for (int64_t i = 0; i < nblocks; ++i) {
    for (int r = 0; r < R; ++r) {
      const W& x = reinterpret_cast<const W*>(w + size_t(r) * wrb)[i];
      if constexpr (kPrefetchAhead > 0) prefetch_ahead(&x, sizeof(W), size_t(kPrefetchAhead) * wrb);
      const U u(x);
      for (int b = 0; b < B; ++b) {
        const block_q8_K& ablk = reinterpret_cast<const block_q8_K*>(a + size_t(b) * arb)[i];
        __m512i isum = _mm512_setzero_si512();
        for (int j = 0; j < 4; ++j) {
          const __m512i dots =
              _mm512_dpbusd_epi32(_mm512_setzero_si512(), u.quants[j], _mm512_loadu_si512(ablk.qs + 64 * j));
          isum = _mm512_dpwssd_epi32(isum, dots, u.scales[j]);
        }
        acc[r][b] = u.accumulate(isum, ablk, acc[r][b]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int b = 0; b < B; ++b) c[b * ldc + r] = _mm512_reduce_add_ps(acc[r][b]);
  }
}

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic pop
#endif

// The kernel interface of kquant_kernels.h: decode's mat-vec for batches up to kMatvecBatchMax and
// the tiles of the packed gemm's small batches. kDecodeRows: weight rows per tile for one row.
template <class U, int kDecodeRows>
struct ZmmKQuantKernel : PrefetchingTiles<ZmmKQuantKernel<U, kDecodeRows>, kDecodeRows> {
  template <int R, int B, int kAhead>
  static void tile_prefetching(int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb, float* c,
                               int64_t ldc) {
    kquant_rows_zmm<U, R, B, kAhead>(n, w, wrb, a, arb, c, ldc);
  }
};

// Decode tiles: Q4_K / Q5_K 4 rows, Q6_K 2 (kquant_kernels.h's measured choices).
using Q4KZmmKernel = ZmmKQuantKernel<K4ZmmBlock<block_q4_K>, 4>;
using Q5KZmmKernel = ZmmKQuantKernel<K4ZmmBlock<block_q5_K>, 4>;
using Q6KZmmKernel = ZmmKQuantKernel<Q6ZmmBlock, 2>;

}  // namespace
}  // namespace lp::LP_ISA_NS
