// The Q4_0 mat-vec of the avx512 tier (weight rows [r0, r1) times one Q8_0 activation row):
// decode's hottest loop on Q4_0 models. Decode streams the weights from DRAM; the loop reaches the
// bandwidth only if its arithmetic is well ahead of the memory and enough lines are in flight.
//
// Per row, a group of eight 18-byte blocks (144 bytes) arrives in three unaligned zmm loads
// (bytes 0-63, 64-127 and 80-143). Two-source permutes pick the 16 packed bytes of 4 blocks into
// one zmm (one 128-bit lane per block) and the 8 fp16 scales; the nibbles meet the activation in
// vpdpbusd, which leaves 4 int32 lanes per block; two dword permutes and an add fold them into 2
// lanes per block for all 8 blocks, so one convert, one multiply (weight x activation scale) and
// one fma finish the group. The activation side is laid out once per call (Q4_0ActGroup) and
// shared by the rows of a tile.
//
// With AVX512-VBMI the permutes are byte permutes (vpermt2b, one uop); without it, word permutes
// (vpermt2w, three uops): every field of a block starts at an even byte, so both can pick them.
//
// Software prefetch (into L2) of the same bytes kAhead rows on, spread over the loop, keeps the
// next tiles' lines in flight: without it the hardware prefetcher alone leaves the loop at ~65%
// (bench/kernels_matvec; 256 B - 4 KiB distances, 2-4 tiles and the T0 hint measured no better).
#pragma once

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VNNI__)
#error "kernels/simd/q4_0_matvec_avx512.h needs AVX-512 F/BW + VNNI"
#endif

#include <vector>

#include "kernels/simd/legacy_kernels.h"

namespace lp::LP_ISA_NS {
namespace {

constexpr int kQ4_0GroupBlocks = 8;                                        // blocks per loop step
constexpr size_t kQ4_0GroupBytes = kQ4_0GroupBlocks * sizeof(block_q4_0);  // 144

#if defined(__AVX512VBMI__)
constexpr bool kQ4_0BytePermute = true;
#else
constexpr bool kQ4_0BytePermute = false;
#endif

// The activation of one group of 8 blocks, in the layout the loop wants.
struct Q4_0ActGroup {
  __m512i lo[2];    // elements 0-15 of blocks 4h .. 4h+3 (one 128-bit lane each)
  __m512i hi[2];    // elements 16-31
  __m512i corr[2];  // per int32 lane: -8 * the sum of the 8 activation bytes it meets
  __m512 d;         // block k's scale in lanes 2k and 2k + 1
};

// Permute indices. Each output byte names the byte of the 144-byte group it comes from; a source
// pair (zmm loaded at lo_base, zmm at hi_base) turns that into the permute's index.
struct Q4_0ZmmIndices {
  __m512i quants_0_3;      // from (z0, z1): the qs of blocks 0-3, one 128-bit lane each
  __m512i quants_4_7;      // from (z1, z2): the qs of blocks 4-7
  __m512i scales;          // from (z0, z1): d of block k in 16-bit words 2k and 2k + 1
  __m512i fold_a, fold_b;  // dword lanes: 2 of the 4 lanes per block, blocks 0-3 then 4-7

  static __m512i index(const int (&group_byte)[64], int lo_base, int hi_base) {
    alignas(64) uint8_t bytes[64];
    alignas(64) uint16_t words[32];
    for (int j = 0; j < 64; ++j) {
      const int b = group_byte[j];
      bytes[j] = uint8_t(b < lo_base + 64 ? b - lo_base : 64 + b - hi_base);
    }
    for (int j = 0; j < 32; ++j) words[j] = uint16_t(bytes[2 * j] / 2);  // fields start at even bytes
    return kQ4_0BytePermute ? _mm512_load_si512(bytes) : _mm512_load_si512(words);
  }

  Q4_0ZmmIndices() {
    constexpr int kB = sizeof(block_q4_0);  // 18: d at 0, qs at 2
    int q03[64], q47[64], sc[64];
    for (int j = 0; j < 64; ++j) {
      q03[j] = kB * (j / 16) + 2 + j % 16;
      q47[j] = kB * (4 + j / 16) + 2 + j % 16;
      sc[j] = j < 32 ? kB * (j / 4) + j % 2 : 0;  // upper half unused
    }
    quants_0_3 = index(q03, 0, 64);
    quants_4_7 = index(q47, 64, 80);
    scales = index(sc, 0, 64);
    alignas(64) int32_t fa[16], fb[16];
    for (int k = 0; k < 8; ++k) {
      const int base = k < 4 ? 4 * k : 16 + 4 * (k - 4);
      fa[2 * k] = base, fa[2 * k + 1] = base + 1;
      fb[2 * k] = base + 2, fb[2 * k + 1] = base + 3;
    }
    fold_a = _mm512_load_si512(fa);
    fold_b = _mm512_load_si512(fb);
  }
};

inline __m512i permute_pair(__m512i a, __m512i idx, __m512i b) {
#if defined(__AVX512VBMI__)
  return _mm512_permutex2var_epi8(a, idx, b);
#else
  return _mm512_permutex2var_epi16(a, idx, b);
#endif
}

inline void prepare_q4_0_act(const block_q8_0* ab, int64_t groups, Q4_0ActGroup* out) {
  const __m512i eight = _mm512_set1_epi8(8);
  for (int64_t g = 0; g < groups; ++g) {
    const block_q8_0* b = ab + g * kQ4_0GroupBlocks;
    for (int h = 0; h < 2; ++h) {
      // The lane index must be an immediate even without optimization (the sanitizer build).
      const block_q8_0* c = b + 4 * h;
      __m512i lo = _mm512_castsi128_si512(load128(c[0].qs));
      __m512i hi = _mm512_castsi128_si512(load128(c[0].qs + 16));
      lo = _mm512_inserti32x4(lo, load128(c[1].qs), 1);
      hi = _mm512_inserti32x4(hi, load128(c[1].qs + 16), 1);
      lo = _mm512_inserti32x4(lo, load128(c[2].qs), 2);
      hi = _mm512_inserti32x4(hi, load128(c[2].qs + 16), 2);
      lo = _mm512_inserti32x4(lo, load128(c[3].qs), 3);
      hi = _mm512_inserti32x4(hi, load128(c[3].qs + 16), 3);
      const __m512i sums =
          _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), eight, lo), eight, hi);
      out[g].lo[h] = lo;
      out[g].hi[h] = hi;
      out[g].corr[h] = _mm512_sub_epi32(_mm512_setzero_si512(), sums);
    }
    alignas(64) float d[16];
    for (int k = 0; k < 16; ++k) d[k] = half_to_float(b[k / 2].d);
    out[g].d = _mm512_load_ps(d);
  }
}

// gcc 12's avx512fintrin.h builds _mm512_castsi512_si256, _mm512_cvtph_ps, _mm512_cvtepi32_ps and
// _mm512_reduce_add_ps on a deliberately uninitialised vector and then warns about it once they are
// inlined here (-Wmaybe-uninitialized, GCC bug 105593, fixed in gcc 13). The zero-masked forms
// would silence it at the cost of a real uop per group, so the warning is switched off instead.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

// c[b * ldc + r] = the R rows at w, w + wrb, ... times the B prepared activation rows (act,
// act + act_stride, ...), over `groups` groups: the weight bytes are loaded and permuted once, the
// dot products and the fold run per activation row, each accumulated exactly as for B = 1. With
// kAhead > 0, the same bytes kAhead rows on are prefetched on the way.
template <int R, int B, int kAhead>
void q4_0_rows_zmm(int64_t groups, const uint8_t* w, size_t wrb, const Q4_0ActGroup* act, int64_t act_stride,
                   float* c, int64_t ldc) {
  static const Q4_0ZmmIndices idx;
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  __m512 acc[R][B];
  for (int r = 0; r < R; ++r) {
    for (int b = 0; b < B; ++b) acc[r][b] = _mm512_setzero_ps();
  }
  for (int64_t g = 0; g < groups; ++g) {
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const uint8_t* x = w + size_t(r) * wrb + size_t(g) * kQ4_0GroupBytes;
      const __m512i z0 = _mm512_loadu_si512(x), z1 = _mm512_loadu_si512(x + 64),
                    z2 = _mm512_loadu_si512(x + 80);
      if constexpr (kAhead > 0) {  // the same 144 bytes kAhead rows on: three prefetches (prefetch_ahead's
                                   // four, one per 64 bytes plus the last byte, measured 3-5% slower)
        const char* ahead = reinterpret_cast<const char*>(x + size_t(kAhead) * wrb);
        _mm_prefetch(ahead, _MM_HINT_T1);
        _mm_prefetch(ahead + 64, _MM_HINT_T1);
        _mm_prefetch(ahead + kQ4_0GroupBytes - 1, _MM_HINT_T1);
      }
      const __m512i packed[2] = {permute_pair(z0, idx.quants_0_3, z1), permute_pair(z1, idx.quants_4_7, z2)};
      __m512i q_lo[2], q_hi[2];
      for (int h = 0; h < 2; ++h) {
        q_lo[h] = _mm512_and_si512(packed[h], low4);
        q_hi[h] = _mm512_and_si512(_mm512_srli_epi16(packed[h], 4), low4);
      }
      const __m512 wd = _mm512_cvtph_ps(_mm512_castsi512_si256(permute_pair(z0, idx.scales, z1)));
#pragma GCC unroll 8
      for (int b = 0; b < B; ++b) {
        const Q4_0ActGroup& ag = act[b * act_stride + g];
        __m512i dots[2];
        for (int h = 0; h < 2; ++h)
          dots[h] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(ag.corr[h], q_lo[h], ag.lo[h]), q_hi[h], ag.hi[h]);
        const __m512i folded = _mm512_add_epi32(_mm512_permutex2var_epi32(dots[0], idx.fold_a, dots[1]),
                                                _mm512_permutex2var_epi32(dots[0], idx.fold_b, dots[1]));
        acc[r][b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(folded), _mm512_mul_ps(wd, ag.d), acc[r][b]);
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

// Q4_0 x Q8_0 for the avx512 tier: the shared register tiles for batches, and for batches of one
// to kSmallBatchMax the mat-vec above (gemm_packed calls matvec).
struct Q4_0KernelAvx512 {
  // Decode reads two neighbouring rows at a time, prefetching 4 rows on: close to one sequential
  // stream, which the hardware prefetcher follows best. With the weights on huge pages that runs at
  // 95-98% of the read bandwidth with 1 thread, against 84-86% for 8-row tiles and 1-row tiles
  // (bench/kernels_matvec, 2026-11-28). Batches take fewer rows per tile (small_batch_rows).
  static constexpr int kRows = 2, kAhead = 4;
  static constexpr int kSmallBatchMax = kMatvecBatchMax;

  template <int R, int B>
  static void tile(int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb, float* c,
                   int64_t ldc) {
    LegacyKernel<Q4_0Kind>::template tile<R, B>(n, w, wrb, a, arb, c, ldc);
  }

  // matvec_rows' kernel interface, with `a` the prepared activation rows (Q4_0ActGroup[n / 256]
  // each, arb bytes apart).
  template <int R, int B, int kAhead>
  static void rows(int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb, float* c, int64_t ldc) {
    q4_0_rows_zmm<R, B, kAhead>(n / (QK4_0 * kQ4_0GroupBlocks), w, wrb, reinterpret_cast<const Q4_0ActGroup*>(a),
                                int64_t(arb / sizeof(Q4_0ActGroup)), c, ldc);
  }

  static void matvec(int64_t n, int64_t r0, int64_t r1, const uint8_t* w, size_t wrb, const uint8_t* a,
                     size_t arb, int64_t nb, float* c, int64_t ldc) {
    thread_local std::vector<Q4_0ActGroup> act;  // grows to the widest batch once per thread
    const int64_t nblocks = n / QK4_0, groups = nblocks / kQ4_0GroupBlocks;
    if (act.size() < size_t(groups * nb)) act.resize(size_t(groups * nb));
    for (int64_t b = 0; b < nb; ++b)
      prepare_q4_0_act(reinterpret_cast<const block_q8_0*>(a + size_t(b) * arb), groups, act.data() + b * groups);
    matvec_batch<Q4_0KernelAvx512, kRows, kAhead, kSmallBatchMax>(
        n, r0, r1, w, wrb, reinterpret_cast<const uint8_t*>(act.data()), size_t(groups) * sizeof(Q4_0ActGroup), nb,
        c, ldc);
    const int64_t done = groups * kQ4_0GroupBlocks;
    if (done < nblocks) {  // the last n % 256 elements of every row through the shared tile
      for (int64_t b = 0; b < nb; ++b) {
        for (int64_t r = r0; r < r1; ++r) {
          float rest;
          LegacyKernel<Q4_0Kind>::template tile<1, 1>(
              (nblocks - done) * QK4_0, w + size_t(r) * wrb + size_t(done) * sizeof(block_q4_0), 0,
              a + size_t(b) * arb + size_t(done) * sizeof(block_q8_0), 0, &rest, 1);
          c[b * ldc + r] += rest;
        }
      }
    }
  }
};

}  // namespace
}  // namespace lp::LP_ISA_NS
