// The packed mat-mul kernels of the avx512 tier (AVX-512 F/BW + VNNI): 16-row tiles, one zmm
// lane per weight row, vpdpbusd with the 4 activation bytes broadcast from memory (64
// multiply-adds per instruction). The driver and the tile idea: kernels/simd/gemm_packed.h.
//
//   Legacy 32-blocks (Q4_0 and Q5_0 as unsigned q with an offset, Q8_0 as w + 128): each block's
//   int32 sum starts at the activation's -offset * sum(a) (ActMeta), and one fma per block and
//   activation row scales the 16 rows (weight scales x activation scale).
//   K-quants (Q4_K, Q5_K, Q6_K): per sub-block one int32 dot, converted and scaled by d * sc (a
//   float per row, precomputed in the tile); the mins (Q4_K/Q5_K) and Q6_K's -32 offset meet Q8_K's
//   bsums in vpdpwssd (int16 pairs per row in the tile); one fma per super-block applies the
//   activation's d.
#pragma once

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VNNI__)
#error "kernels/simd/gemm_packed_avx512.h needs AVX-512 F/BW + VNNI"
#endif

#include "kernels/simd/gemm_packed.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace lp::LP_ISA_NS {
namespace {

constexpr int kTileRows = 16;   // weight rows per packed tile: one per int32 lane of a zmm
constexpr int kSweepRows = 8;   // activation rows per register tile of the sweep
constexpr int kMinBatch16 = 2;  // measured: the packed path wins from a batch of 2 (bench/kernels_matmul)

// out[g] lane i = dword g of the 16 bytes at rows[i] + off (a 16 x 4 dword transpose: four rows
// per zmm, then two rounds of two-source permutes).
inline void transpose_16x16b(const uint8_t* const* rows, size_t off, __m512i out[4]) {
  __m512i z[4];
  for (int k = 0; k < 4; ++k) {
    __m512i v = _mm512_castsi128_si512(load128(rows[4 * k] + off));
    v = _mm512_inserti32x4(v, load128(rows[4 * k + 1] + off), 1);
    v = _mm512_inserti32x4(v, load128(rows[4 * k + 2] + off), 2);
    z[k] = _mm512_inserti32x4(v, load128(rows[4 * k + 3] + off), 3);
  }
  // Lanes 0-7: dword g0 of rows 0-7 (of the pair z[2m], z[2m+1]), lanes 8-15: dword g0 + 1.
  const __m512i pick01 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
  const __m512i pick23 = _mm512_setr_epi32(2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
  const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
  const __m512i hi = _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  const __m512i t0 = _mm512_permutex2var_epi32(z[0], pick01, z[1]);
  const __m512i t1 = _mm512_permutex2var_epi32(z[0], pick23, z[1]);
  const __m512i t2 = _mm512_permutex2var_epi32(z[2], pick01, z[3]);
  const __m512i t3 = _mm512_permutex2var_epi32(z[2], pick23, z[3]);
  out[0] = _mm512_permutex2var_epi32(t0, lo, t2);
  out[1] = _mm512_permutex2var_epi32(t0, hi, t2);
  out[2] = _mm512_permutex2var_epi32(t1, lo, t3);
  out[3] = _mm512_permutex2var_epi32(t1, hi, t3);
}

// 16 fp16 fields at rows[i] + off -> 16 floats.
inline __m512 gather_halves16(const uint8_t* const* rows, size_t off) {
  alignas(32) uint16_t h[kTileRows];
  for (int i = 0; i < kTileRows; ++i) std::memcpy(&h[i], rows[i] + off, 2);
  return _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(h)));
}

// c[b * ldc + 0..15] = acc[b] (first K chunk) or += acc[b]; rows past the tile's end are masked.
template <int B>
inline void store_tile(const __m512* acc, float* c, int64_t ldc, int valid, bool first) {
  const __mmask16 mask = __mmask16((1u << valid) - 1);
  for (int b = 0; b < B; ++b) {
    float* dst = c + b * ldc;
    __m512 v = acc[b];
    if (!first) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, dst));
    _mm512_mask_storeu_ps(dst, mask, v);
  }
}

// ---------------------------------------------------------------------------------------------
// Legacy 32-blocks against Q8_0.

struct Q4_0Pack {
  using W = block_q4_0;
  static constexpr int kOffsetShift = 3;  // q - 8
  // 8 zmm of quants (elements 4g..4g+3 in group g) and 16 float scales per block.
  static void pack_block(const uint8_t* const* rows, size_t off, __m512i* q, float* scales) {
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    __m512i raw[4];
    transpose_16x16b(rows, off + 2, raw);
    // qs[j] holds element j (low nibble) and j + 16 (high nibble).
    for (int g = 0; g < 4; ++g) {
      _mm512_store_si512(q + g, _mm512_and_si512(raw[g], low4));
      _mm512_store_si512(q + 4 + g, _mm512_and_si512(_mm512_srli_epi32(raw[g], 4), low4));
    }
    _mm512_store_ps(scales, gather_halves16(rows, off));
  }
};

struct Q8_0Pack {
  using W = block_q8_0;
  static constexpr int kOffsetShift = 7;  // stored as w + 128 (unsigned for vpdpbusd)
  static void pack_block(const uint8_t* const* rows, size_t off, __m512i* q, float* scales) {
    const __m512i bias = _mm512_set1_epi8(char(0x80));
    __m512i raw[4];
    for (int h = 0; h < 2; ++h) {
      transpose_16x16b(rows, off + 2 + 16 * h, raw);
      for (int g = 0; g < 4; ++g) _mm512_store_si512(q + 4 * h + g, _mm512_xor_si512(raw[g], bias));
    }
    _mm512_store_ps(scales, gather_halves16(rows, off));
  }
};

struct Q5_0Pack {
  using W = block_q5_0;
  static constexpr int kOffsetShift = 4;  // q - 16
  static void pack_block(const uint8_t* const* rows, size_t off, __m512i* q, float* scales) {
    const __m512i low4 = _mm512_set1_epi8(0x0f), bit4 = _mm512_set1_epi8(0x10);
    __m512i raw[4];
    transpose_16x16b(rows, off + 6, raw);
    // qh (little-endian uint32) bit e is the fifth bit of element e.
    alignas(64) uint32_t qh[kTileRows];
    for (int i = 0; i < kTileRows; ++i) std::memcpy(&qh[i], rows[i] + off + 2, 4);
    const __m512i hv = _mm512_load_si512(qh);
    // pshufb indexes within 128-bit lanes: byte 4k of dword k.
    const __m512i dword_base = _mm512_set4_epi32(0x0c0c0c0c, 0x08080808, 0x04040404, 0);
    // Byte b of group g needs bit 4g + b: replicate the qh byte holding it into all four bytes,
    // then test each byte's own bit.
    for (int g = 0; g < 8; ++g) {
      const __m512i rep = _mm512_shuffle_epi8(hv, _mm512_add_epi8(dword_base, _mm512_set1_epi8(char(g / 2))));
      const __m512i bits = _mm512_set1_epi32(int32_t(0x08040201u << (4 * (g % 2))));
      const __mmask64 set = _mm512_test_epi8_mask(rep, bits);
      const __m512i nib =
          g < 4 ? _mm512_and_si512(raw[g], low4) : _mm512_and_si512(_mm512_srli_epi32(raw[g - 4], 4), low4);
      _mm512_store_si512(q + g, _mm512_or_si512(nib, _mm512_maskz_mov_epi8(set, bit4)));
    }
    _mm512_store_ps(scales, gather_halves16(rows, off));
  }
};

// Q4_1 / Q5_1 quants (unsigned, no offset: the min term comes from Q8_1's stored sum instead):
// nibbles at kQs, and for Q5_1 the fifth bits (little-endian uint32, bit e for element e) at kQh.
template <class Wt, size_t kQs, int kQh>
struct MinPack {
  using W = Wt;
  static void pack_block(const uint8_t* const* rows, size_t off, __m512i* q, float* scales, float* mins) {
    const __m512i low4 = _mm512_set1_epi8(0x0f), bit4 = _mm512_set1_epi8(0x10);
    __m512i raw[4];
    transpose_16x16b(rows, off + kQs, raw);
    [[maybe_unused]] __m512i hv;
    if constexpr (kQh >= 0) {
      alignas(64) uint32_t qh[kTileRows];
      for (int i = 0; i < kTileRows; ++i) std::memcpy(&qh[i], rows[i] + off + size_t(kQh), 4);
      hv = _mm512_load_si512(qh);
    }
    const __m512i dword_base = _mm512_set4_epi32(0x0c0c0c0c, 0x08080808, 0x04040404, 0);
    for (int g = 0; g < 8; ++g) {
      __m512i v =
          g < 4 ? _mm512_and_si512(raw[g], low4) : _mm512_and_si512(_mm512_srli_epi32(raw[g - 4], 4), low4);
      if constexpr (kQh >= 0) {  // as Q5_0Pack: byte b of group g takes qh bit 4g + b
        const __m512i rep =
            _mm512_shuffle_epi8(hv, _mm512_add_epi8(dword_base, _mm512_set1_epi8(char(g / 2))));
        const __m512i bits = _mm512_set1_epi32(int32_t(0x08040201u << (4 * (g % 2))));
        v = _mm512_or_si512(v, _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(rep, bits), bit4));
      }
      _mm512_store_si512(q + g, v);
    }
    _mm512_store_ps(scales, gather_halves16(rows, off));
    _mm512_store_ps(mins, gather_halves16(rows, off + 2));
  }
};
using Q4_1Pack = MinPack<block_q4_1, offsetof(block_q4_1, qs), -1>;
using Q5_1Pack = MinPack<block_q5_1, offsetof(block_q5_1, qs), int(offsetof(block_q5_1, qh))>;

// Q4_1 / Q5_1 against Q8_1: dw * da * dot(q, a) + m * s, s = da * sum(a) stored in the Q8_1 block.
template <class P>
struct LegacyMinPacked {
  using W = typename P::W;
  static constexpr int kBlock = 32;
  static constexpr size_t kActBlockBytes = sizeof(block_q8_1);
  static constexpr int kChunk = 32;               // blocks per K chunk: a 20 KiB tile
  static constexpr size_t kBlockBytes = 10 * 64;  // 8 zmm of quants, 16 scales, 16 mins
  static constexpr size_t kTileBytes = kChunk * kBlockBytes;
  static constexpr int kRows = kTileRows, kSweep = kSweepRows, kMinBatch = kMinBatch16;
  struct Meta {
    float d[kPackedActBlock][kChunk];
    float s[kPackedActBlock][kChunk];
  };

  static void pack(const uint8_t* const* rows, int64_t kb, int nblk, uint8_t* tile) {
    for (int i = 0; i < nblk; ++i) {
      uint8_t* t = tile + size_t(i) * kBlockBytes;
      P::pack_block(rows, size_t(kb + i) * sizeof(W), reinterpret_cast<__m512i*>(t),
                    reinterpret_cast<float*>(t + 512), reinterpret_cast<float*>(t + 576));
    }
  }
  static void prepare(const uint8_t* a, size_t arb, int64_t rows, int64_t kb, int nblk, Meta& m) {
    for (int64_t j = 0; j < rows; ++j) {
      const auto* ab = reinterpret_cast<const block_q8_1*>(a + size_t(j) * arb) + kb;
      for (int i = 0; i < nblk; ++i) {
        m.d[j][i] = half_to_float(ab[i].d);
        m.s[j][i] = half_to_float(ab[i].s);
      }
    }
  }

  template <int B>
  static void sweep(const uint8_t* tile, int nblk, const uint8_t* a, size_t arb, const Meta& m, int64_t j0,
                    float* c, int64_t ldc, int valid, bool first) {
    __m512 acc[B];
    for (int b = 0; b < B; ++b) acc[b] = _mm512_setzero_ps();
    for (int i = 0; i < nblk; ++i) {
      const auto* t = reinterpret_cast<const __m512i*>(tile + size_t(i) * kBlockBytes);
      __m512i q[8];
      for (int g = 0; g < 8; ++g) q[g] = _mm512_load_si512(t + g);
      const __m512 ws = _mm512_load_ps(reinterpret_cast<const float*>(t + 8));
      const __m512 wm = _mm512_load_ps(reinterpret_cast<const float*>(t + 9));
      for (int b = 0; b < B; ++b) {
        const int8_t* aq = reinterpret_cast<const block_q8_1*>(a + size_t(b) * arb)[i].qs;
        __m512i s = _mm512_setzero_si512();
        for (int g = 0; g < 8; ++g) s = _mm512_dpbusd_epi32(s, q[g], _mm512_set1_epi32(load_i32(aq + 4 * g)));
        acc[b] =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(ws, _mm512_set1_ps(m.d[j0 + b][i])), acc[b]);
        acc[b] = _mm512_fmadd_ps(wm, _mm512_set1_ps(m.s[j0 + b][i]), acc[b]);
      }
    }
    store_tile<B>(acc, c, ldc, valid, first);
  }
};

template <class P>
struct LegacyPacked {
  using W = typename P::W;
  static constexpr int kBlock = 32;
  static constexpr size_t kActBlockBytes = sizeof(block_q8_0);
  static constexpr int kChunk = 32;              // blocks per K chunk: an 18 KiB tile
  static constexpr size_t kBlockBytes = 9 * 64;  // 8 zmm of quants + 16 scales
  static constexpr size_t kTileBytes = kChunk * kBlockBytes;
  using Meta = ActMeta<kChunk>;
  static constexpr int kRows = kTileRows, kSweep = kSweepRows, kMinBatch = kMinBatch16;

  static void pack(const uint8_t* const* rows, int64_t kb, int nblk, uint8_t* tile) {
    for (int i = 0; i < nblk; ++i) {
      uint8_t* t = tile + size_t(i) * kBlockBytes;
      P::pack_block(rows, size_t(kb + i) * sizeof(W), reinterpret_cast<__m512i*>(t),
                    reinterpret_cast<float*>(t + 512));
    }
  }

  static void prepare(const uint8_t* a, size_t arb, int64_t rows, int64_t kb, int nblk, Meta& m) {
    prepare_q8_0<P::kOffsetShift>(a, arb, rows, kb, nblk, m);
  }

  template <int B>
  static void sweep(const uint8_t* tile, int nblk, const uint8_t* a, size_t arb, const Meta& m, int64_t j0,
                    float* c, int64_t ldc, int valid, bool first) {
    __m512 acc[B];
    for (int b = 0; b < B; ++b) acc[b] = _mm512_setzero_ps();
    for (int i = 0; i < nblk; ++i) {
      const auto* t = reinterpret_cast<const __m512i*>(tile + size_t(i) * kBlockBytes);
      __m512i q[8];
      for (int g = 0; g < 8; ++g) q[g] = _mm512_load_si512(t + g);
      const __m512 ws = _mm512_load_ps(reinterpret_cast<const float*>(t + 8));
      for (int b = 0; b < B; ++b) {
        const int8_t* aq = reinterpret_cast<const block_q8_0*>(a + size_t(b) * arb)[i].qs;
        __m512i s = _mm512_set1_epi32(m.off[j0 + b][i]);
        for (int g = 0; g < 8; ++g) s = _mm512_dpbusd_epi32(s, q[g], _mm512_set1_epi32(load_i32(aq + 4 * g)));
        acc[b] =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(ws, _mm512_set1_ps(m.d[j0 + b][i])), acc[b]);
      }
    }
    store_tile<B>(acc, c, ldc, valid, first);
  }
};

// ---------------------------------------------------------------------------------------------
// K-quants against Q8_K. Tile layout per super-block: 64 zmm of quants, kSub * 8 zmm of float
// scales (d * sc per row; kSub = 1 for 32-element sub-blocks, 2 for 16), 8 zmm of int16 pairs
// for the bsums correction, one zmm of its float factor (-dmin, or -32 d for Q6_K).

template <int kSub>
struct KLayout {
  static constexpr size_t kQ = 0, kScales = 64 * 64, kCorr = kScales + 8 * kSub * 64, kCorrF = kCorr + 8 * 64;
  static constexpr size_t kBytes = kCorrF + 64;
};

// Q4_K / Q5_K scale block: rows' 16 header bytes transposed (d | dmin << 16, then the 12 packed
// six-bit scale/min bytes). Writes d * sc[j], (min[j], min[j]) pairs and -dmin.
inline void pack_k4_scales(const __m512i hdr[4], uint8_t* t) {
  using L = KLayout<1>;
  const __m512 d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(hdr[0]));
  const __m512 dmin = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(hdr[0], 16)));
  const __m512i m3f = _mm512_set1_epi8(0x3f), m0f = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
  const __m512i u0 = hdr[1], u1 = hdr[2], u2 = hdr[3];
  const __m512i sc_lo = _mm512_and_si512(u0, m3f), mn_lo = _mm512_and_si512(u1, m3f);
  const __m512i sc_hi =
      _mm512_or_si512(_mm512_and_si512(u2, m0f), _mm512_and_si512(_mm512_srli_epi32(u0, 2), m30));
  const __m512i mn_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u2, 4), m0f),
                                        _mm512_and_si512(_mm512_srli_epi32(u1, 2), m30));
  const __m512i ff = _mm512_set1_epi32(0xff);
  for (int j = 0; j < 8; ++j) {
    const int sh = 8 * (j % 4);
    const __m512i sc = _mm512_and_si512(_mm512_srli_epi32(j < 4 ? sc_lo : sc_hi, sh), ff);
    const __m512i mn = _mm512_and_si512(_mm512_srli_epi32(j < 4 ? mn_lo : mn_hi, sh), ff);
    _mm512_store_ps(t + L::kScales + 64 * j, _mm512_mul_ps(_mm512_cvtepi32_ps(sc), d));
    _mm512_store_si512(t + L::kCorr + 64 * j, _mm512_or_si512(mn, _mm512_slli_epi32(mn, 16)));
  }
  _mm512_store_ps(t + L::kCorrF, _mm512_sub_ps(_mm512_setzero_ps(), dmin));
}

// Q4_K (and Q5_K's low nibbles): qs byte 32k + l holds element 64k + l (low nibble) and 64k + 32 + l
// (high), so raw dword p = 8k + m gives groups 16k + m and 16k + 8 + m.
inline void pack_k4_quants(const uint8_t* const* rows, size_t qs_off, __m512i* q) {
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  for (int c = 0; c < 8; ++c) {
    __m512i raw[4];
    transpose_16x16b(rows, qs_off + 16 * c, raw);
    for (int g = 0; g < 4; ++g) {
      const int p = 4 * c + g, k = p / 8, m = p % 8;
      q[16 * k + m] = _mm512_and_si512(raw[g], low4);
      q[16 * k + 8 + m] = _mm512_and_si512(_mm512_srli_epi32(raw[g], 4), low4);
    }
  }
}

struct Q4_KPack {
  using W = block_q4_K;
  static constexpr int kSub = 1;
  static void pack_block(const uint8_t* const* rows, size_t off, uint8_t* t) {
    pack_k4_quants(rows, off + offsetof(block_q4_K, qs), reinterpret_cast<__m512i*>(t));
    __m512i hdr[4];
    transpose_16x16b(rows, off, hdr);
    pack_k4_scales(hdr, t);
  }
};

struct Q5_KPack {
  using W = block_q5_K;
  static constexpr int kSub = 1;
  static void pack_block(const uint8_t* const* rows, size_t off, uint8_t* t) {
    auto* q = reinterpret_cast<__m512i*>(t);
    pack_k4_quants(rows, off + offsetof(block_q5_K, qs), q);
    // qh byte l bit g is the fifth bit of element 32g + l: group D (= 8g + l / 4) takes qh dword
    // D % 8, bit g of each byte, moved to bit 4.
    __m512i qh[8];
    transpose_16x16b(rows, off + offsetof(block_q5_K, qh), qh);
    transpose_16x16b(rows, off + offsetof(block_q5_K, qh) + 16, qh + 4);
    const __m512i bit4 = _mm512_set1_epi8(0x10);
    for (int D = 0; D < 64; ++D) {
      const int g = D / 8;
      const __m512i h = qh[D % 8];
      const __m512i moved = g <= 4 ? _mm512_slli_epi32(h, 4 - g) : _mm512_srli_epi32(h, g - 4);
      q[D] = _mm512_ternarylogic_epi32(q[D], moved, bit4, 0xf8);  // q | (moved & bit4)
    }
    __m512i hdr[4];
    transpose_16x16b(rows, off, hdr);
    pack_k4_scales(hdr, t);
  }
};

struct Q6_KPack {
  using W = block_q6_K;
  static constexpr int kSub = 2;
  static void pack_block(const uint8_t* const* rows, size_t off, uint8_t* t) {
    using L = KLayout<2>;
    auto* q = reinterpret_cast<__m512i*>(t);
    const __m512i low4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    // ql byte 64h + l: element 128h + l (low nibble), 128h + 64 + l (high); byte 64h + 32 + l:
    // 128h + 32 + l, 128h + 96 + l. Raw dword p = 16h + pp.
    for (int c = 0; c < 8; ++c) {
      __m512i raw[4];
      transpose_16x16b(rows, off + offsetof(block_q6_K, ql) + 16 * c, raw);
      for (int g = 0; g < 4; ++g) {
        const int p = 4 * c + g, h = p / 16, pp = p % 16;
        const int lo_group = pp < 8 ? 32 * h + pp : 32 * h + 8 + (pp - 8);
        q[lo_group] = _mm512_and_si512(raw[g], low4);
        q[lo_group + 16] = _mm512_and_si512(_mm512_srli_epi32(raw[g], 4), low4);
      }
    }
    // qh byte 32h + l, bits 2t..2t+1: the top two bits of element 128h + 32t + l, i.e. group
    // 32h + 8t + l / 4 from raw dword s = 8h + l / 4.
    for (int c = 0; c < 4; ++c) {
      __m512i raw[4];
      transpose_16x16b(rows, off + offsetof(block_q6_K, qh) + 16 * c, raw);
      for (int g = 0; g < 4; ++g) {
        const int s = 4 * c + g, h = s / 8, m = s % 8;
        for (int tb = 0; tb < 4; ++tb) {
          const int D = 32 * h + 8 * tb + m;
          const __m512i moved =
              tb <= 2 ? _mm512_slli_epi32(raw[g], 4 - 2 * tb) : _mm512_srli_epi32(raw[g], 2);
          q[D] = _mm512_ternarylogic_epi32(q[D], moved, m30, 0xf8);
        }
      }
    }
    // 16 signed scales: dword k of the transposed scale bytes holds sc[4k..4k+3].
    __m512i sc[4];
    transpose_16x16b(rows, off + offsetof(block_q6_K, scales), sc);
    const __m512 d = gather_halves16(rows, off + offsetof(block_q6_K, d));
    for (int k = 0; k < 4; ++k) {
      for (int b = 0; b < 4; ++b) {
        const __m512i v = _mm512_srai_epi32(_mm512_slli_epi32(sc[k], 24 - 8 * b), 24);
        _mm512_store_ps(t + L::kScales + 64 * (4 * k + b), _mm512_mul_ps(_mm512_cvtepi32_ps(v), d));
      }
      // int16 pairs (sc[4k], sc[4k+1]) and (sc[4k+2], sc[4k+3]) for bsums pairs 2k and 2k + 1.
      const __m512i even = _mm512_srai_epi16(_mm512_slli_epi16(sc[k], 8), 8);  // words: sc0, sc2
      const __m512i odd = _mm512_srai_epi16(sc[k], 8);                         // words: sc1, sc3
      _mm512_store_si512(t + L::kCorr + 64 * (2 * k),
                         _mm512_mask_blend_epi16(0xaaaaaaaa, even, _mm512_slli_epi32(odd, 16)));
      _mm512_store_si512(t + L::kCorr + 64 * (2 * k + 1),
                         _mm512_mask_blend_epi16(0xaaaaaaaa, _mm512_srli_epi32(even, 16), odd));
    }
    _mm512_store_ps(t + L::kCorrF, _mm512_mul_ps(d, _mm512_set1_ps(-32.0f)));
  }
};

// Q2_K / Q3_K quants: qs byte 32h + l, bits 2j..2j+1, is element 128h + 32j + l, i.e. group
// 32h + 8j + m of raw dword p = 8h + m.
inline void pack_k2_quants(const uint8_t* const* rows, size_t qs_off, __m512i* q) {
  const __m512i three = _mm512_set1_epi8(3);
  for (int c = 0; c < 4; ++c) {
    __m512i raw[4];
    transpose_16x16b(rows, qs_off + 16 * c, raw);
    for (int g = 0; g < 4; ++g) {
      const int p = 4 * c + g, h = p / 8, m = p % 8;
      for (int j = 0; j < 4; ++j)
        q[32 * h + 8 * j + m] = _mm512_and_si512(_mm512_srli_epi32(raw[g], 2 * j), three);
    }
  }
}

// 16-element sub-blocks: v[k] holds the signed scale bytes 4k..4k+3 of each row. d * sc as floats.
inline void store_k16_scales(const __m512i v[4], __m512 d, uint8_t* t) {
  for (int k = 0; k < 4; ++k) {
    for (int b = 0; b < 4; ++b) {
      const __m512i x = _mm512_srai_epi32(_mm512_slli_epi32(v[k], 24 - 8 * b), 24);
      _mm512_store_ps(t + KLayout<2>::kScales + 64 * (4 * k + b), _mm512_mul_ps(_mm512_cvtepi32_ps(x), d));
    }
  }
}

// The bsums correction factors: int16 pairs (v[2p], v[2p + 1]) of signed bytes, for bsums pair p.
inline void store_k16_corr(const __m512i v[4], uint8_t* t) {
  for (int k = 0; k < 4; ++k) {
    const __m512i even = _mm512_srai_epi16(_mm512_slli_epi16(v[k], 8), 8);  // words: byte 0, byte 2
    const __m512i odd = _mm512_srai_epi16(v[k], 8);                         // words: byte 1, byte 3
    _mm512_store_si512(t + KLayout<2>::kCorr + 64 * (2 * k),
                       _mm512_mask_blend_epi16(0xaaaaaaaa, even, _mm512_slli_epi32(odd, 16)));
    _mm512_store_si512(t + KLayout<2>::kCorr + 64 * (2 * k + 1),
                       _mm512_mask_blend_epi16(0xaaaaaaaa, _mm512_srli_epi32(even, 16), odd));
  }
}

struct Q2_KPack {
  using W = block_q2_K;
  static constexpr int kSub = 2;
  static void pack_block(const uint8_t* const* rows, size_t off, uint8_t* t) {
    using L = KLayout<2>;
    pack_k2_quants(rows, off + offsetof(block_q2_K, qs), reinterpret_cast<__m512i*>(t));
    // scales[i]: low nibble the scale, high nibble the min of sub-block i (both unsigned).
    __m512i raw[4];
    transpose_16x16b(rows, off + offsetof(block_q2_K, scales), raw);
    const __m512 d = gather_halves16(rows, off + offsetof(block_q2_K, d));
    const __m512 dmin = gather_halves16(rows, off + offsetof(block_q2_K, dmin));
    const __m512i m0f = _mm512_set1_epi8(0x0f);
    __m512i sc[4], mn[4];
    for (int k = 0; k < 4; ++k) {
      sc[k] = _mm512_and_si512(raw[k], m0f);
      mn[k] = _mm512_and_si512(_mm512_srli_epi32(raw[k], 4), m0f);
    }
    store_k16_scales(sc, d, t);
    store_k16_corr(mn, t);
    _mm512_store_ps(t + L::kCorrF, _mm512_sub_ps(_mm512_setzero_ps(), dmin));
  }
};

struct Q3_KPack {
  using W = block_q3_K;
  static constexpr int kSub = 2;
  static void pack_block(const uint8_t* const* rows, size_t off, uint8_t* t) {
    auto* q = reinterpret_cast<__m512i*>(t);
    pack_k2_quants(rows, off + offsetof(block_q3_K, qs), q);
    // hmask byte l, bit 4h + j: set means q + 4 (the stored value is q - 4) for element
    // 128h + 32j + l, group 32h + 8j + l / 4 from hmask dword l / 4.
    __m512i hm[8];
    transpose_16x16b(rows, off + offsetof(block_q3_K, hmask), hm);
    transpose_16x16b(rows, off + offsetof(block_q3_K, hmask) + 16, hm + 4);
    const __m512i four = _mm512_set1_epi8(4);
    for (int D = 0; D < 64; ++D) {
      const int h = D / 32, j = (D % 32) / 8, bit = 4 * h + j;
      const __m512i x = hm[D % 8];
      const __m512i moved = bit <= 2 ? _mm512_slli_epi32(x, 2 - bit) : _mm512_srli_epi32(x, bit - 2);
      q[D] = _mm512_ternarylogic_epi32(q[D], moved, four, 0xf8);  // q | (moved & 4)
    }
    // 16 six-bit scales (stored + 32): low nibbles from bytes 0-7, top two bits from bytes 8-11.
    // The 16 bytes ending at the scales' end keep the read inside the block.
    __m512i w[4];
    transpose_16x16b(rows, off + offsetof(block_q3_K, scales) - 4, w);  // w[1..3]: the 12 bytes
    const __m512i m0f = _mm512_set1_epi8(0x0f), m03 = _mm512_set1_epi8(0x03), bias = _mm512_set1_epi8(32);
    __m512i sc[4];
    sc[0] = _mm512_or_si512(_mm512_and_si512(w[1], m0f), _mm512_slli_epi32(_mm512_and_si512(w[3], m03), 4));
    sc[1] = _mm512_or_si512(_mm512_and_si512(w[2], m0f),
                            _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(w[3], 2), m03), 4));
    sc[2] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(w[1], 4), m0f),
                            _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(w[3], 4), m03), 4));
    sc[3] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(w[2], 4), m0f),
                            _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(w[3], 6), m03), 4));
    for (int k = 0; k < 4; ++k) sc[k] = _mm512_sub_epi8(sc[k], bias);
    const __m512 d = gather_halves16(rows, off + offsetof(block_q3_K, d));
    store_k16_scales(sc, d, t);
    store_k16_corr(sc, t);
    _mm512_store_ps(t + KLayout<2>::kCorrF, _mm512_mul_ps(d, _mm512_set1_ps(-4.0f)));
  }
};

template <class P>
struct KPacked {
  using W = typename P::W;
  using L = KLayout<P::kSub>;
  static constexpr int kBlock = QK_K;
  static constexpr size_t kActBlockBytes = sizeof(block_q8_K);
  static constexpr int kChunk = 4;  // super-blocks per K chunk: a 21-23 KiB tile
  static constexpr size_t kBlockBytes = L::kBytes;
  static constexpr size_t kTileBytes = kChunk * kBlockBytes;
  struct Meta {};
  static constexpr int kRows = kTileRows, kSweep = kSweepRows, kMinBatch = kMinBatch16;

  static void pack(const uint8_t* const* rows, int64_t kb, int nblk, uint8_t* tile) {
    for (int i = 0; i < nblk; ++i)
      P::pack_block(rows, size_t(kb + i) * sizeof(W), tile + size_t(i) * kBlockBytes);
  }
  static void prepare(const uint8_t*, size_t, int64_t, int64_t, int, Meta&) {}

  template <int B>
  static void sweep(const uint8_t* tile, int nblk, const uint8_t* a, size_t arb, const Meta&, int64_t,
                    float* c, int64_t ldc, int valid, bool first) {
    __m512 acc[B];
    for (int b = 0; b < B; ++b) acc[b] = _mm512_setzero_ps();
    for (int i = 0; i < nblk; ++i) {
      const uint8_t* t = tile + size_t(i) * kBlockBytes;
      const block_q8_K* ab[B];
      for (int b = 0; b < B; ++b) ab[b] = reinterpret_cast<const block_q8_K*>(a + size_t(b) * arb) + i;
      __m512 part[B];
      {
        // The bsums correction: sum over the 8 bsums pairs of (corr, corr') . (bsum, bsum').
        __m512i corr[8];
        for (int p = 0; p < 8; ++p) corr[p] = _mm512_load_si512(t + L::kCorr + 64 * p);
        const __m512 cf = _mm512_load_ps(reinterpret_cast<const float*>(t + L::kCorrF));
        for (int b = 0; b < B; ++b) {
          __m512i s = _mm512_setzero_si512();
          for (int p = 0; p < 8; ++p)
            s = _mm512_dpwssd_epi32(s, corr[p], _mm512_set1_epi32(load_i32(ab[b]->bsums + 2 * p)));
          part[b] = _mm512_mul_ps(_mm512_cvtepi32_ps(s), cf);
        }
      }
      for (int j = 0; j < 8; ++j) {  // 32 elements: 8 groups of 4
        __m512i q[8];
        for (int g = 0; g < 8; ++g) q[g] = _mm512_load_si512(t + L::kQ + 64 * (8 * j + g));
        if constexpr (P::kSub == 1) {
          const __m512 sc = _mm512_load_ps(reinterpret_cast<const float*>(t + L::kScales + 64 * j));
          for (int b = 0; b < B; ++b) {
            const int8_t* aq = ab[b]->qs + 32 * j;
            __m512i s = _mm512_setzero_si512();
            for (int g = 0; g < 8; ++g)
              s = _mm512_dpbusd_epi32(s, q[g], _mm512_set1_epi32(load_i32(aq + 4 * g)));
            part[b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), sc, part[b]);
          }
        } else {
          const __m512 sc0 = _mm512_load_ps(reinterpret_cast<const float*>(t + L::kScales + 64 * (2 * j)));
          const __m512 sc1 =
              _mm512_load_ps(reinterpret_cast<const float*>(t + L::kScales + 64 * (2 * j + 1)));
          for (int b = 0; b < B; ++b) {
            const int8_t* aq = ab[b]->qs + 32 * j;
            __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
            for (int g = 0; g < 4; ++g) {
              s0 = _mm512_dpbusd_epi32(s0, q[g], _mm512_set1_epi32(load_i32(aq + 4 * g)));
              s1 = _mm512_dpbusd_epi32(s1, q[4 + g], _mm512_set1_epi32(load_i32(aq + 16 + 4 * g)));
            }
            part[b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s0), sc0, part[b]);
            part[b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s1), sc1, part[b]);
          }
        }
      }
      for (int b = 0; b < B; ++b) acc[b] = _mm512_fmadd_ps(part[b], _mm512_set1_ps(ab[b]->d), acc[b]);
    }
    store_tile<B>(acc, c, ldc, valid, first);
  }
};

}  // namespace
}  // namespace lp::LP_ISA_NS

#pragma GCC diagnostic pop
