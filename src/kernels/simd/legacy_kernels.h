// Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 weights against Q8_0 / Q8_1 activations (blocks of 32).
// One weight block unpacks into 32 bytes of quants in activation order; per (weight row,
// activation row) the block contributes dw * da * dot(q, a) (minus the offset, or plus m * s).
//   Q4_0: q - 8, Q5_0: q - 16 (q unsigned): dot(q, a) - offset * sum(a), the sum taken once per
//         activation block and shared by all R weight rows.
//   Q4_1 / Q5_1: dw * da * dot(q, a) + m * s, s = da * sum(a) stored in the Q8_1 block.
//   Q8_0: signed x signed via |w| * sign(a, w).
#pragma once

#include "kernels/simd/gemm_driver.h"

namespace lp::LP_ISA_NS {
namespace {

// Bit i of a little-endian uint32 -> 0x10 in byte i (the fifth bit of Q5 quants).
inline __m256i fifth_bits_32(const uint8_t* qh_bytes) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  const __m256i bytes = _mm256_shuffle_epi8(
      _mm256_set1_epi32(int32_t(qh)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000));
  const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit), _mm256_set1_epi8(0x10));
}

struct Q4_0Kind {
  using W = block_q4_0;
  using A = block_q8_0;
  static constexpr int kOffset = 8;
  static constexpr bool kMin = false, kSigned = false;
  static __m256i quants(const W& b) { return unpack_nibbles_32(b.qs); }
  static float min(const W&) { return 0; }
};
struct Q4_1Kind {
  using W = block_q4_1;
  using A = block_q8_1;
  static constexpr int kOffset = 0;
  static constexpr bool kMin = true, kSigned = false;
  static __m256i quants(const W& b) { return unpack_nibbles_32(b.qs); }
  static float min(const W& b) { return half_to_float(b.m); }
};
struct Q5_0Kind {
  using W = block_q5_0;
  using A = block_q8_0;
  static constexpr int kOffset = 16;
  static constexpr bool kMin = false, kSigned = false;
  static __m256i quants(const W& b) { return _mm256_or_si256(unpack_nibbles_32(b.qs), fifth_bits_32(b.qh)); }
  static float min(const W&) { return 0; }
};
struct Q5_1Kind {
  using W = block_q5_1;
  using A = block_q8_1;
  static constexpr int kOffset = 0;
  static constexpr bool kMin = true, kSigned = false;
  static __m256i quants(const W& b) { return _mm256_or_si256(unpack_nibbles_32(b.qs), fifth_bits_32(b.qh)); }
  static float min(const W& b) { return half_to_float(b.m); }
};
struct Q8_0Kind {
  using W = block_q8_0;
  using A = block_q8_0;
  static constexpr int kOffset = 0;
  static constexpr bool kMin = false, kSigned = true;
  static __m256i quants(const W& b) { return load256(b.qs); }
  static float min(const W&) { return 0; }
};

template <class T>
struct LegacyKernel : PrefetchingTiles<LegacyKernel<T>, 4> {
  using W = typename T::W;
  using A = typename T::A;

  // With kAhead > 0, every 8 blocks of each row also prefetch the same 8 blocks kAhead rows on.
  template <int R, int B, int kAhead>
  static void tile_prefetching(int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb,
                               float* c, int64_t ldc) {
    __m256 acc[R][B];
    float min_acc[R][B];
    for (int r = 0; r < R; ++r) {
      for (int b = 0; b < B; ++b) {
        acc[r][b] = _mm256_setzero_ps();
        min_acc[r][b] = 0;
      }
    }
    const int64_t nblocks = n / 32;
    for (int64_t i = 0; i < nblocks; ++i) {
      __m256i wq[R];
      __m256 wd[R];
      float wm[R];
      for (int r = 0; r < R; ++r) {
        const W& blk = reinterpret_cast<const W*>(w + size_t(r) * wrb)[i];
        if constexpr (kAhead > 0) {
          if (i % 8 == 0) prefetch_ahead(&blk, 8 * sizeof(W), size_t(kAhead) * wrb);
        }
        wq[r] = T::quants(blk);
        wd[r] = _mm256_set1_ps(half_to_float(blk.d));
        if constexpr (T::kMin) wm[r] = T::min(blk);
        if constexpr (T::kSigned) wq[r] = _mm256_abs_epi8(wq[r]);  // |w|; a takes w's sign below
      }
      for (int b = 0; b < B; ++b) {
        const A& ablk = reinterpret_cast<const A*>(a + size_t(b) * arb)[i];
        const __m256i aq = load256(ablk.qs);
        const __m256 ad = _mm256_set1_ps(half_to_float(ablk.d));
        float as = 0;
        if constexpr (T::kMin) as = half_to_float(ablk.s);
        // The offset term, once per activation block: -offset * sum(a) in the dot's lanes.
        [[maybe_unused]] __m256i corr;
        if constexpr (T::kOffset != 0) {
#if LP_SIMD_VNNI
          corr = _mm256_sub_epi32(_mm256_setzero_si256(), dot_u8s8(_mm256_set1_epi8(T::kOffset), aq));
#else
          corr = _mm256_maddubs_epi16(_mm256_set1_epi8(T::kOffset), aq);
#endif
        }
        for (int r = 0; r < R; ++r) {
          __m256i p;
          if constexpr (T::kSigned) {
            const W& blk = reinterpret_cast<const W*>(w + size_t(r) * wrb)[i];
            p = dot_u8s8(wq[r], _mm256_sign_epi8(aq, load256(blk.qs)));
          } else if constexpr (T::kOffset != 0) {
#if LP_SIMD_VNNI
            p = _mm256_dpbusd_epi32(corr, wq[r], aq);
#else
            p = _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(wq[r], aq), corr),
                                  _mm256_set1_epi16(1));
#endif
          } else {
            p = dot_u8s8(wq[r], aq);
          }
          acc[r][b] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(wd[r], ad), acc[r][b]);
          if constexpr (T::kMin) min_acc[r][b] += wm[r] * as;
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int b = 0; b < B; ++b) c[b * ldc + r] = hsum(acc[r][b]) + min_acc[r][b];
    }
  }
};

// Eight consecutive fp16 block scales, `stride` bytes apart, as floats: eight 16-bit loads into
// one vector and one conversion. (A vpgatherdd of the 32-bit words was the loop's bottleneck on
// Zen 4: the avx2 Q4_0 mat-vec took 30 us per 128 x 4096 in L2 with it, 16.6 without.)
inline __m256 gather_scales8(const void* first_scale, int stride) {
  const auto* p = static_cast<const uint8_t*>(first_scale);
  alignas(16) uint16_t h[8];
  for (int k = 0; k < 8; ++k) std::memcpy(&h[k], p + k * stride, 2);
  return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h)));
}

// The mat-vec of Q4_0 (R weight rows, B Q8_0 rows): decode's hottest loop. Per 8 blocks each
// activation row is rearranged once for all R rows into pairs of blocks -- [low halves of blocks
// 2p, 2p+1] and [high halves] -- with their -8 * sum(a) offsets and their scales, so each weight
// pair costs one 128-bit insert, two masks, and per activation row two dot products and one fma;
// the fp16 scales of 8 blocks are converted at once. Every activation row is accumulated
// exactly as for B = 1.
// With kAhead > 0, each row's 8 blocks also prefetch the same blocks kAhead rows on.
template <int R, int B, int kAhead>
void q4_0_rows(int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb, float* c, int64_t ldc) {
  const __m256i low4 = _mm256_set1_epi8(0x0f), eight = _mm256_set1_epi8(8);
  __m256 acc[R][B];
  for (int r = 0; r < R; ++r) {
    for (int b = 0; b < B; ++b) acc[r][b] = _mm256_setzero_ps();
  }
  const int64_t nblocks = n / QK4_0;
  int64_t i = 0;
  for (; i + 8 <= nblocks; i += 8) {
    __m256i act_lo[B][4], act_hi[B][4], corr[B][4];
    __m256 act_d[B];
    for (int b = 0; b < B; ++b) {
      const auto* ab = reinterpret_cast<const block_q8_0*>(a + size_t(b) * arb);
      for (int p = 0; p < 4; ++p) {
        const block_q8_0& a0 = ab[i + 2 * p];
        const block_q8_0& a1 = ab[i + 2 * p + 1];
        act_lo[b][p] = _mm256_inserti128_si256(_mm256_castsi128_si256(load128(a0.qs)), load128(a1.qs), 1);
        act_hi[b][p] =
            _mm256_inserti128_si256(_mm256_castsi128_si256(load128(a0.qs + 16)), load128(a1.qs + 16), 1);
#if LP_SIMD_VNNI
        corr[b][p] = _mm256_sub_epi32(_mm256_setzero_si256(),
                                      dot_u8s8_acc(dot_u8s8(eight, act_lo[b][p]), eight, act_hi[b][p]));
#else
        // 8 * (a_lo + a_hi) per int16 pair lane (|.| <= 4 * 8 * 127), subtracted before the pairs meet.
        corr[b][p] = _mm256_add_epi16(_mm256_maddubs_epi16(eight, act_lo[b][p]), _mm256_maddubs_epi16(eight, act_hi[b][p]));
#endif
      }
      act_d[b] = gather_scales8(&ab[i].d, sizeof(block_q8_0));
    }
    for (int r = 0; r < R; ++r) {
      const auto* x = reinterpret_cast<const block_q4_0*>(w + size_t(r) * wrb) + i;
      if constexpr (kAhead > 0) prefetch_ahead(x, 8 * sizeof(block_q4_0), size_t(kAhead) * wrb);
      const __m256 wd = gather_scales8(&x[0].d, sizeof(block_q4_0));
      __m256 d[B];
      for (int b = 0; b < B; ++b) d[b] = _mm256_mul_ps(wd, act_d[b]);
      for (int p = 0; p < 4; ++p) {
        const __m256i packed = _mm256_inserti128_si256(_mm256_castsi128_si256(load128(x[2 * p].qs)),
                                                       load128(x[2 * p + 1].qs), 1);
        const __m256i q_lo = _mm256_and_si256(packed, low4);
        const __m256i q_hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low4);
        // int32 lanes 0-3 hold block 2p, lanes 4-7 block 2p + 1.
        const __m256i pick =
            _mm256_setr_epi32(2 * p, 2 * p, 2 * p, 2 * p, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1);
        for (int b = 0; b < B; ++b) {
#if LP_SIMD_VNNI
          const __m256i dots = dot_u8s8_acc(dot_u8s8_acc(corr[b][p], q_lo, act_lo[b][p]), q_hi, act_hi[b][p]);
#else
          // Without VNNI the two halves' int16 pair sums and the offset add up before one vpmaddwd
          // (|.| <= 2 * 2 * 15 * 127 + 4 * 8 * 127 < 32768): 3 multiplies per block pair, not 4.
          const __m256i p16 = _mm256_sub_epi16(
              _mm256_add_epi16(_mm256_maddubs_epi16(q_lo, act_lo[b][p]), _mm256_maddubs_epi16(q_hi, act_hi[b][p])),
              corr[b][p]);
          const __m256i dots = _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
#endif
          acc[r][b] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dots), _mm256_permutevar8x32_ps(d[b], pick), acc[r][b]);
        }
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int b = 0; b < B; ++b) {
      float sum = hsum(acc[r][b]);
      if (i < nblocks) {  // the last n % 256 elements through the generic tile
        float rest;
        LegacyKernel<Q4_0Kind>::template tile<1, 1>(
            (nblocks - i) * QK4_0, w + size_t(r) * wrb + size_t(i) * sizeof(block_q4_0), 0,
            a + size_t(b) * arb + size_t(i) * sizeof(block_q8_0), 0, &rest, 1);
        sum += rest;
      }
      c[b * ldc + r] = sum;
    }
  }
}

struct Q4_0Kernel {
  template <int R, int B>
  static void tile(int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb, float* c,
                   int64_t ldc) {
    if constexpr (B == 1) {
      q4_0_rows<R, 1, 0>(n, w, wrb, a, arb, c, ldc);
    } else {
      LegacyKernel<Q4_0Kind>::template tile<R, B>(n, w, wrb, a, arb, c, ldc);
    }
  }

  // Decode: 2 rows at a time for one activation row, prefetching 4 rows on; with huge pages ~8%
  // faster than 4 rows prefetching 8 on (bench/kernels_matvec, avx2).
  static constexpr int kSmallBatchMax = kMatvecBatchMax;
  template <int R, int B, int kAhead>
  static void rows(int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb, float* c, int64_t ldc) {
    q4_0_rows<R, B, kAhead>(n, w, wrb, a, arb, c, ldc);
  }
  static void matvec(int64_t n, int64_t r0, int64_t r1, const uint8_t* w, size_t wrb, const uint8_t* a,
                     size_t arb, int64_t nb, float* c, int64_t ldc) {
    matvec_batch<Q4_0Kernel, 2, 4, kSmallBatchMax>(n, r0, r1, w, wrb, a, arb, nb, c, ldc);
  }
};

}  // namespace
}  // namespace lp::LP_ISA_NS
