// Q2_K, Q3_K, Q4_K, Q5_K and Q6_K weights against Q8_K activations (super-blocks of 256).
// Every type unpacks one super-block into the same form, so one dot loop serves them all:
//   q[g]    8 groups of 32 unsigned quants in activation order (elements 32g .. 32g+31),
//   sc[g]   the int16 scale of each maddubs pair lane: lanes 0-7 hold the scale of elements
//           32g..32g+15, lanes 8-15 that of 32g+16..32g+31 (equal for the 32-element sub-blocks),
//   corr    16 int16 factors for Q8_K's bsums (sums of each 16 activations), and
//   d, dcorr: block result = da * (d * sum_g dot(q[g] * sc[g], a[g]) + dcorr * sum_k corr[k] * bsums[k]).
// The correction carries the mins (Q2_K/Q4_K/Q5_K: corr = min, dcorr = -dmin) or the constant
// quant offset (Q3_K: q - 4, corr = scale, dcorr = -4d; Q6_K: q - 32, dcorr = -32d).
#pragma once

#include <type_traits>

#include "kernels/simd/gemm_driver.h"

namespace lp::LP_ISA_NS {
namespace {

struct KUnpacked {
  __m256i q[8];
  __m256i sc[8];
  __m256i corr;
  float d;
  float dcorr;
};

// pshufb masks that spread 16 scale bytes to the scale-per-lane layout of group g:
// bytes 0-7 <- scale 2g, bytes 8-15 <- scale 2g + 1 (16-element sub-blocks).
inline __m128i pair_scale_mask(int g) {
  const int64_t lo = 0x0101010101010101LL * (2 * g), hi = 0x0101010101010101LL * (2 * g + 1);
  return _mm_set_epi64x(hi, lo);
}

// Sub-blocks of 16: scale bytes (signed) -> sc[g] for the 8 groups.
inline void spread_pair_scales(__m128i scale_bytes, __m256i sc[8]) {
  for (int g = 0; g < 8; ++g) sc[g] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scale_bytes, pair_scale_mask(g)));
}

// Sub-blocks of 32: 8 scale bytes (in the low half of scale_bytes) -> sc[g].
inline void spread_single_scales(__m128i scale_bytes, __m256i sc[8]) {
  for (int g = 0; g < 8; ++g)
    sc[g] = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(scale_bytes, _mm_set1_epi8(char(g))));
}

// Q4_K / Q5_K: 8 six-bit scales and mins from 12 bytes, one per byte in sub-block order. Words:
// u0 = bytes 0-3 (scales 0-3, top bits of scales 4-7), u1 = bytes 4-7 (mins 0-3, top bits of
// mins 4-7), u2 = bytes 8-11 (low nibbles: scales 4-7; high nibbles: mins 4-7).
struct K4ScaleBytes {
  uint64_t scales, mins;
};
inline K4ScaleBytes unpack_k4_scale_bytes(const uint8_t* packed) {
  uint32_t u[3];
  std::memcpy(u, packed, 12);
  const uint32_t sc_lo = u[0] & 0x3f3f3f3f, mn_lo = u[1] & 0x3f3f3f3f;
  const uint32_t sc_hi = (u[2] & 0x0f0f0f0f) | ((u[0] >> 2) & 0x30303030);
  const uint32_t mn_hi = ((u[2] >> 4) & 0x0f0f0f0f) | ((u[1] >> 2) & 0x30303030);
  return {uint64_t(sc_lo) | (uint64_t(sc_hi) << 32), uint64_t(mn_lo) | (uint64_t(mn_hi) << 32)};
}

inline void unpack_k4_scales(const uint8_t* packed, __m128i* scales, __m128i* mins) {
  const K4ScaleBytes sm = unpack_k4_scale_bytes(packed);
  *scales = _mm_cvtsi64_si128(int64_t(sm.scales));
  *mins = _mm_cvtsi64_si128(int64_t(sm.mins));
}

inline void unpack_q4_k(const block_q4_K& x, KUnpacked& u) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  for (int k = 0; k < 4; ++k) {
    const __m256i bytes = load256(x.qs + 32 * k);
    u.q[2 * k] = _mm256_and_si256(bytes, low4);
    u.q[2 * k + 1] = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4);
  }
  __m128i scales, mins;
  unpack_k4_scales(x.scales, &scales, &mins);
  spread_single_scales(scales, u.sc);
  // Each min applies to two bsums (two groups of 16).
  u.corr = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mins, mins));
  u.d = half_to_float(x.d);
  u.dcorr = -half_to_float(x.dmin);
}

inline void unpack_q5_k(const block_q5_K& x, KUnpacked& u) {
  const __m256i low4 = _mm256_set1_epi8(0x0f), bit4 = _mm256_set1_epi8(0x10);
  const __m256i hb = load256(x.qh);
  for (int k = 0; k < 4; ++k) {
    const __m256i bytes = load256(x.qs + 32 * k);
    // Group g takes bit g of qh[l] as its fifth bit: move it to bit 4.
    const int g0 = 2 * k, g1 = 2 * k + 1;
    const __m256i h0 = g0 <= 4 ? _mm256_slli_epi16(hb, 4 - g0) : _mm256_srli_epi16(hb, g0 - 4);
    const __m256i h1 = g1 <= 4 ? _mm256_slli_epi16(hb, 4 - g1) : _mm256_srli_epi16(hb, g1 - 4);
    u.q[g0] = _mm256_or_si256(_mm256_and_si256(bytes, low4), _mm256_and_si256(h0, bit4));
    u.q[g1] =
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4), _mm256_and_si256(h1, bit4));
  }
  __m128i scales, mins;
  unpack_k4_scales(x.scales, &scales, &mins);
  spread_single_scales(scales, u.sc);
  u.corr = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mins, mins));
  u.d = half_to_float(x.d);
  u.dcorr = -half_to_float(x.dmin);
}

inline void unpack_q6_k(const block_q6_K& x, KUnpacked& u) {
  const __m256i low4 = _mm256_set1_epi8(0x0f), two = _mm256_set1_epi8(0x30);
  for (int h = 0; h < 2; ++h) {
    const __m256i l0 = load256(x.ql + 64 * h), l1 = load256(x.ql + 64 * h + 32);
    const __m256i hb = load256(x.qh + 32 * h);
    // Group 4h + p: low nibble of ql[l] (p=0), ql[l+32] (p=1), high nibbles (p=2, 3); bits 2p..2p+1
    // of qh[l] on top.
    u.q[4 * h + 0] =
        _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), two));
    u.q[4 * h + 1] =
        _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), two));
    u.q[4 * h + 2] =
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_and_si256(hb, two));
    u.q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                                     _mm256_and_si256(_mm256_srli_epi16(hb, 2), two));
  }
  const __m128i scales = load128(x.scales);
  spread_pair_scales(scales, u.sc);
  u.corr = _mm256_cvtepi8_epi16(scales);
  u.d = half_to_float(x.d);
  u.dcorr = -32.0f * u.d;
}

inline void unpack_q2_k(const block_q2_K& x, KUnpacked& u) {
  const __m256i three = _mm256_set1_epi8(3);
  for (int h = 0; h < 2; ++h) {
    const __m256i bytes = load256(x.qs + 32 * h);
    u.q[4 * h + 0] = _mm256_and_si256(bytes, three);
    u.q[4 * h + 1] = _mm256_and_si256(_mm256_srli_epi16(bytes, 2), three);
    u.q[4 * h + 2] = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), three);
    u.q[4 * h + 3] = _mm256_and_si256(_mm256_srli_epi16(bytes, 6), three);
  }
  const __m128i packed = load128(x.scales);
  spread_pair_scales(_mm_and_si128(packed, _mm_set1_epi8(0x0f)), u.sc);
  u.corr = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f)));
  u.d = half_to_float(x.d);
  u.dcorr = -half_to_float(x.dmin);
}

inline void unpack_q3_k(const block_q3_K& x, KUnpacked& u) {
  const __m256i three = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
  const __m256i hm = load256(x.hmask);
  for (int h = 0; h < 2; ++h) {
    const __m256i bytes = load256(x.qs + 32 * h);
    for (int j = 0; j < 4; ++j) {
      const int bit = 4 * h + j;  // hmask bit of this group: set means "no -4", i.e. q + 4
      const __m256i low2 = _mm256_and_si256(_mm256_srli_epi16(bytes, 2 * j), three);
      const __m256i high = bit <= 2 ? _mm256_slli_epi16(hm, 2 - bit) : _mm256_srli_epi16(hm, bit - 2);
      u.q[4 * h + j] = _mm256_or_si256(low2, _mm256_and_si256(high, four));
    }
  }
  // 16 six-bit scales (stored + 32): low nibbles from bytes 0-7, top two bits from bytes 8-11.
  uint32_t w[3];
  std::memcpy(w, x.scales, 12);
  const uint32_t s0 = (w[0] & 0x0f0f0f0f) | ((w[2] & 0x03030303) << 4);
  const uint32_t s1 = (w[1] & 0x0f0f0f0f) | (((w[2] >> 2) & 0x03030303) << 4);
  const uint32_t s2 = ((w[0] >> 4) & 0x0f0f0f0f) | (((w[2] >> 4) & 0x03030303) << 4);
  const uint32_t s3 = ((w[1] >> 4) & 0x0f0f0f0f) | (((w[2] >> 6) & 0x03030303) << 4);
  const __m128i scales =
      _mm_sub_epi8(_mm_set_epi32(int32_t(s3), int32_t(s2), int32_t(s1), int32_t(s0)), _mm_set1_epi8(32));
  spread_pair_scales(scales, u.sc);
  u.corr = _mm256_cvtepi8_epi16(scales);
  u.d = half_to_float(x.d);
  u.dcorr = -4.0f * u.d;
}

// sum_g dot(q[g], a[g]) * sc[g] in int32 lanes. maddubs pairs stay below 2 * 63 * 127.
inline __m256i k_group_dots(const KUnpacked& u, const int8_t* aq) {
  __m256i sum = _mm256_setzero_si256();
  for (int g = 0; g < 8; ++g) {
    const __m256i p16 = _mm256_maddubs_epi16(u.q[g], load256(aq + 32 * g));
#if LP_SIMD_VNNI
    sum = _mm256_dpwssd_epi32(sum, p16, u.sc[g]);
#else
    sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p16, u.sc[g]));
#endif
  }
  return sum;
}

// Decode's rows per tile. Q6_K reads two neighbouring rows at once: with weights on huge pages it
// then runs at ~98% of the read bandwidth instead of ~91% (bench/kernels_matvec, 11008x4096 and
// 32000x4096, 1 thread). Q2_K and Q3_K are bound by their unpacking: two rows make them ~15% slower.
template <class W>
constexpr int kKQuantDecodeRows = std::is_same_v<W, block_q6_K> ? 2 : 1;

template <class W, void (*Unpack)(const W&, KUnpacked&)>
struct KQuantKernel : PrefetchingTiles<KQuantKernel<W, Unpack>, kKQuantDecodeRows<W>> {
  // With kPrefetchAhead > 0, each block of each row also prefetches the block that many rows on.
  template <int R, int B, int kPrefetchAhead>
  static void tile_prefetching(int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb,
                               float* c, int64_t ldc) {
    __m256 acc[R][B];
    for (int r = 0; r < R; ++r) {
      for (int b = 0; b < B; ++b) acc[r][b] = _mm256_setzero_ps();
    }
    const int64_t nblocks = n / QK_K;
    for (int64_t i = 0; i < nblocks; ++i) {
      KUnpacked u[R];
      for (int r = 0; r < R; ++r) {
        const W& x = reinterpret_cast<const W*>(w + size_t(r) * wrb)[i];
        if constexpr (kPrefetchAhead > 0) prefetch_ahead(&x, sizeof(W), size_t(kPrefetchAhead) * wrb);
        Unpack(x, u[r]);
      }
      for (int b = 0; b < B; ++b) {
        const block_q8_K& ablk = reinterpret_cast<const block_q8_K*>(a + size_t(b) * arb)[i];
        const __m256i bsums = load256(ablk.bsums);
        for (int r = 0; r < R; ++r) {
          const __m256i dots = k_group_dots(u[r], ablk.qs);
          const __m256i corr = _mm256_madd_epi16(u[r].corr, bsums);
          acc[r][b] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dots), _mm256_set1_ps(u[r].d * ablk.d), acc[r][b]);
          acc[r][b] =
              _mm256_fmadd_ps(_mm256_cvtepi32_ps(corr), _mm256_set1_ps(u[r].dcorr * ablk.d), acc[r][b]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int b = 0; b < B; ++b) c[b * ldc + r] = hsum(acc[r][b]);
    }
  }
};

// The mat-vec of Q4_K / Q5_K (R weight rows, B Q8_K rows), decode's hottest loop for K-quant
// models: no unpacked copy of the block; each sub-block scale is doubled into both halves of a
// dword on the stack and broadcast from memory (a load, not a shuffle), and the mins meet the
// bsums pair sums (shared by all R rows) in one 8-lane multiply-add. Each 32 quants are unpacked
// once and meet the B activation rows in turn; every activation row is accumulated exactly as
// for B = 1. With kPrefetchAhead > 0, the same block of the row kPrefetchAhead rows on is
// prefetched into L2 on the way (decode streams the weights from DRAM; see
// kernels/simd/q4_0_matvec_avx512.h).
template <class W, bool kFifthBit, int R, int B, int kPrefetchAhead = 0>
void k4_rows(int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb, float* c, int64_t ldc) {
  const __m256i low4 = _mm256_set1_epi8(0x0f), bit4 = _mm256_set1_epi8(0x10);
  __m256 acc[R][B];
  __m128 acc_min[R][B];
  for (int r = 0; r < R; ++r) {
    for (int b = 0; b < B; ++b) {
      acc[r][b] = _mm256_setzero_ps();
      acc_min[r][b] = _mm_setzero_ps();
    }
  }
  alignas(32) uint32_t scale_words[8];
  const int64_t nblocks = n / QK_K;
  for (int64_t i = 0; i < nblocks; ++i) {
    const block_q8_K* ablk[B];
    __m128i pair_sums[B];
    for (int b = 0; b < B; ++b) {
      ablk[b] = reinterpret_cast<const block_q8_K*>(a + size_t(b) * arb) + i;
      // bsums[2j] + bsums[2j + 1]: the activation sum of sub-block j (fits int16: 32 * 127).
      const __m256i pairs32 = _mm256_madd_epi16(load256(ablk[b]->bsums), _mm256_set1_epi16(1));
      pair_sums[b] = _mm_packs_epi32(_mm256_castsi256_si128(pairs32), _mm256_extracti128_si256(pairs32, 1));
    }
    for (int r = 0; r < R; ++r) {
      const W& x = reinterpret_cast<const W*>(w + size_t(r) * wrb)[i];
      if constexpr (kPrefetchAhead > 0) prefetch_ahead(&x, sizeof(W), size_t(kPrefetchAhead) * wrb);
      const K4ScaleBytes sm = unpack_k4_scale_bytes(x.scales);
      const __m256i sc32 = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(sm.scales)));
      _mm256_store_si256(reinterpret_cast<__m256i*>(scale_words),
                         _mm256_or_si256(sc32, _mm256_slli_epi32(sc32, 16)));
      [[maybe_unused]] __m256i hb;
      if constexpr (kFifthBit) hb = load256(x.qh);
      __m256i isum[B];
      for (int b = 0; b < B; ++b) isum[b] = _mm256_setzero_si256();
      for (int k = 0; k < 4; ++k) {
        const __m256i bytes = load256(x.qs + 32 * k);
        __m256i q0 = _mm256_and_si256(bytes, low4);
        __m256i q1 = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4);
        if constexpr (kFifthBit) {
          const int g0 = 2 * k, g1 = 2 * k + 1;
          const __m256i h0 = g0 <= 4 ? _mm256_slli_epi16(hb, 4 - g0) : _mm256_srli_epi16(hb, g0 - 4);
          const __m256i h1 = g1 <= 4 ? _mm256_slli_epi16(hb, 4 - g1) : _mm256_srli_epi16(hb, g1 - 4);
          q0 = _mm256_or_si256(q0, _mm256_and_si256(h0, bit4));
          q1 = _mm256_or_si256(q1, _mm256_and_si256(h1, bit4));
        }
        const __m256i s0 = _mm256_set1_epi32(int32_t(scale_words[2 * k]));
        const __m256i s1 = _mm256_set1_epi32(int32_t(scale_words[2 * k + 1]));
        for (int b = 0; b < B; ++b) {
          const __m256i p0 = _mm256_maddubs_epi16(q0, load256(ablk[b]->qs + 64 * k));
          const __m256i p1 = _mm256_maddubs_epi16(q1, load256(ablk[b]->qs + 64 * k + 32));
#if LP_SIMD_VNNI
          isum[b] = _mm256_dpwssd_epi32(_mm256_dpwssd_epi32(isum[b], p0, s0), p1, s1);
#else
          isum[b] =
              _mm256_add_epi32(isum[b], _mm256_add_epi32(_mm256_madd_epi16(p0, s0), _mm256_madd_epi16(p1, s1)));
#endif
        }
      }
      const __m128i mins16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(int64_t(sm.mins)));
      const float wd = half_to_float(x.d), wdmin = half_to_float(x.dmin);
      for (int b = 0; b < B; ++b) {
        const __m128i min_dot = _mm_madd_epi16(mins16, pair_sums[b]);
        const float d = wd * ablk[b]->d, dmin = wdmin * ablk[b]->d;
        acc[r][b] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[b]), _mm256_set1_ps(d), acc[r][b]);
        acc_min[r][b] = _mm_fmadd_ps(_mm_cvtepi32_ps(min_dot), _mm_set1_ps(-dmin), acc_min[r][b]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int b = 0; b < B; ++b) {
      __m128 m = acc_min[r][b];
      m = _mm_add_ps(m, _mm_movehl_ps(m, m));
      m = _mm_add_ss(m, _mm_movehdup_ps(m));
      c[b * ldc + r] = hsum(acc[r][b]) + _mm_cvtss_f32(m);
    }
  }
}

template <class W, void (*Unpack)(const W&, KUnpacked&), bool kFifthBit>
struct K4Kernel {
  // Decode: 4 rows at a time for one activation row (1, 2 and 4 measured: 4 best), fewer for
  // batches (small_batch_rows), prefetching 8 rows on (~18 KiB at 4096 columns).
  static constexpr int kSmallBatchMax = kMatvecBatchMax;
  template <int R, int B, int kAhead>
  static void rows(int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb, float* c, int64_t ldc) {
    k4_rows<W, kFifthBit, R, B, kAhead>(n, w, wrb, a, arb, c, ldc);
  }
  static void matvec(int64_t n, int64_t r0, int64_t r1, const uint8_t* w, size_t wrb, const uint8_t* a,
                     size_t arb, int64_t nb, float* c, int64_t ldc) {
    matvec_batch<K4Kernel, 4, 8, kSmallBatchMax>(n, r0, r1, w, wrb, a, arb, nb, c, ldc);
  }

  template <int R, int B>
  static void tile(int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb, float* c,
                   int64_t ldc) {
    if constexpr (B == 1) {
      k4_rows<W, kFifthBit, R, 1>(n, w, wrb, a, arb, c, ldc);
    } else {
      KQuantKernel<W, Unpack>::template tile<R, B>(n, w, wrb, a, arb, c, ldc);
    }
  }
};

using Q2KKernel = KQuantKernel<block_q2_K, unpack_q2_k>;
using Q3KKernel = KQuantKernel<block_q3_K, unpack_q3_k>;
using Q4KKernel = K4Kernel<block_q4_K, unpack_q4_k, false>;
using Q5KKernel = K4Kernel<block_q5_K, unpack_q5_k, true>;
using Q6KKernel = KQuantKernel<block_q6_K, unpack_q6_k>;

}  // namespace
}  // namespace lp::LP_ISA_NS
