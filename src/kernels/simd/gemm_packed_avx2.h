// The packed mat-mul kernels of the avx2 tier (no VNNI assumed): 8-row tiles, one ymm lane per
// weight row. Per 4 elements, vpmaddubsw multiplies the tile's unsigned quants with the 4
// activation bytes broadcast to all lanes (int16 pair sums); several of those are added in int16
// while they cannot overflow (Q4: 8, Q5: 4, Q6: 2 -- |pair| <= 2 * qmax * 128), then vpmaddwd
// widens them to int32, for the K-quants multiplying by the sub-block scale at the same time, so
// the whole super-block stays in int32. The driver and the tile idea: kernels/simd/gemm_packed.h.
//   Q4_0: each block's int32 sum starts at -8 * sum(a) (ActMeta), one fma per block scales it.
//   Q4_K / Q5_K / Q6_K: int32 sum of scale x dot per super-block, plus the bsums correction (mins,
//   or Q6_K's -32 offset) in vpmaddwd; two fmas per super-block apply d and the activation's d.
//   Q5_0: as Q4_0 with the fifth bit, offset 16, widened every 4 groups.
//   Q8_0: |w| x sign(a, w), each group widened to int32 on its own (pairs reach 2 * 128 * 127).
#pragma once

#include "kernels/simd/gemm_packed.h"

namespace lp::LP_ISA_NS {
namespace {

constexpr int kTileRows8 = 8;   // weight rows per packed tile: one per int32 lane of a ymm
constexpr int kSweepRows4 = 4;  // activation rows per register tile of the sweep
constexpr int kMinBatch8 = 4;   // measured: below 4 rows Q5_K/Q6_K are faster register-tiled

// out[g] lane i = dword g of the 16 bytes at rows[i] + off (8 x 4 dword transpose).
inline void transpose_8x16b(const uint8_t* const* rows, size_t off, __m256i out[4]) {
  __m256i y[4];  // y[k] = [row k | row k + 4]
  for (int k = 0; k < 4; ++k) {
    y[k] = _mm256_inserti128_si256(_mm256_castsi128_si256(load128(rows[k] + off)), load128(rows[k + 4] + off),
                                   1);
  }
  const __m256i t0 = _mm256_unpacklo_epi32(y[0], y[1]), t1 = _mm256_unpackhi_epi32(y[0], y[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(y[2], y[3]), t3 = _mm256_unpackhi_epi32(y[2], y[3]);
  out[0] = _mm256_unpacklo_epi64(t0, t2);
  out[1] = _mm256_unpackhi_epi64(t0, t2);
  out[2] = _mm256_unpacklo_epi64(t1, t3);
  out[3] = _mm256_unpackhi_epi64(t1, t3);
}

// 8 fp16 fields at rows[i] + off -> 8 floats.
inline __m256 gather_halves8(const uint8_t* const* rows, size_t off) {
  alignas(16) uint16_t h[kTileRows8];
  for (int i = 0; i < kTileRows8; ++i) std::memcpy(&h[i], rows[i] + off, 2);
  return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h)));
}

// c[b * ldc + 0..7] = acc[b] (first K chunk) or += acc[b], only the tile's valid rows.
template <int B>
inline void store_tile8(const __m256* acc, float* c, int64_t ldc, int valid, bool first) {
  for (int b = 0; b < B; ++b) {
    float* dst = c + b * ldc;
    if (valid == kTileRows8) {
      _mm256_storeu_ps(dst, first ? acc[b] : _mm256_add_ps(acc[b], _mm256_loadu_ps(dst)));
    } else {
      alignas(32) float v[kTileRows8];
      _mm256_store_ps(v, acc[b]);
      for (int i = 0; i < valid; ++i) dst[i] = first ? v[i] : dst[i] + v[i];
    }
  }
}

inline __m256i bcast_i32(const void* p) { return _mm256_set1_epi32(load_i32(p)); }

// ---------------------------------------------------------------------------------------------
// Q4_0 against Q8_0: 8 ymm of quants (elements 4g..4g+3 in group g) and 8 float scales per block.
struct Q4_0PackedAvx2 {
  using W = block_q4_0;
  static constexpr int kBlock = 32;
  static constexpr size_t kActBlockBytes = sizeof(block_q8_0);
  static constexpr int kChunk = 32;              // blocks per K chunk: a 9 KiB tile
  static constexpr size_t kBlockBytes = 9 * 32;  // 8 ymm of quants + 8 scales
  static constexpr size_t kTileBytes = kChunk * kBlockBytes;
  static constexpr int kRows = kTileRows8, kSweep = kSweepRows4, kMinBatch = kMinBatch8;
  using Meta = ActMeta<kChunk>;

  static void pack(const uint8_t* const* rows, int64_t kb, int nblk, uint8_t* tile) {
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    for (int i = 0; i < nblk; ++i) {
      const size_t off = size_t(kb + i) * sizeof(W);
      auto* q = reinterpret_cast<__m256i*>(tile + size_t(i) * kBlockBytes);
      __m256i raw[4];
      transpose_8x16b(rows, off + 2, raw);
      // qs[j] holds element j (low nibble) and j + 16 (high nibble).
      for (int g = 0; g < 4; ++g) {
        _mm256_store_si256(q + g, _mm256_and_si256(raw[g], low4));
        _mm256_store_si256(q + 4 + g, _mm256_and_si256(_mm256_srli_epi32(raw[g], 4), low4));
      }
      _mm256_store_ps(reinterpret_cast<float*>(q + 8), gather_halves8(rows, off));
    }
  }
  static void prepare(const uint8_t* a, size_t arb, int64_t rows, int64_t kb, int nblk, Meta& m) {
    prepare_q8_0<3>(a, arb, rows, kb, nblk, m);
  }

  template <int B>
  static void sweep(const uint8_t* tile, int nblk, const uint8_t* a, size_t arb, const Meta& m, int64_t j0,
                    float* c, int64_t ldc, int valid, bool first) {
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256 acc[B];
    for (int b = 0; b < B; ++b) acc[b] = _mm256_setzero_ps();
    for (int i = 0; i < nblk; ++i) {
      const auto* t = reinterpret_cast<const __m256i*>(tile + size_t(i) * kBlockBytes);
      const __m256 ws = _mm256_load_ps(reinterpret_cast<const float*>(t + 8));
      for (int b = 0; b < B; ++b) {
        const int8_t* aq = reinterpret_cast<const block_q8_0*>(a + size_t(b) * arb)[i].qs;
        // 8 pair sums of at most 2 * 15 * 128 each: the int16 total stays below 32767.
        __m256i p = _mm256_maddubs_epi16(_mm256_load_si256(t), bcast_i32(aq));
        for (int g = 1; g < 8; ++g)
          p = _mm256_add_epi16(p, _mm256_maddubs_epi16(_mm256_load_si256(t + g), bcast_i32(aq + 4 * g)));
        const __m256i s = _mm256_add_epi32(_mm256_madd_epi16(p, ones16), _mm256_set1_epi32(m.off[j0 + b][i]));
        acc[b] =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(ws, _mm256_set1_ps(m.d[j0 + b][i])), acc[b]);
      }
    }
    store_tile8<B>(acc, c, ldc, valid, first);
  }
};

// Q5_0 against Q8_0: as Q4_0 with the fifth bit (qh bit e of element e) or'ed in, offset 16, and
// the int16 pair sums widened every 4 groups (pairs reach 2 * 31 * 128).
struct Q5_0PackedAvx2 {
  using W = block_q5_0;
  static constexpr int kBlock = 32;
  static constexpr size_t kActBlockBytes = sizeof(block_q8_0);
  static constexpr int kChunk = 32;
  static constexpr size_t kBlockBytes = 9 * 32;  // 8 ymm of quants + 8 scales
  static constexpr size_t kTileBytes = kChunk * kBlockBytes;
  static constexpr int kRows = kTileRows8, kSweep = kSweepRows4, kMinBatch = kMinBatch8;
  using Meta = ActMeta<kChunk>;

  static void pack(const uint8_t* const* rows, int64_t kb, int nblk, uint8_t* tile) {
    const __m256i low4 = _mm256_set1_epi8(0x0f), bit4 = _mm256_set1_epi8(0x10);
    // pshufb indexes within 128-bit lanes: byte 4k of dword k.
    const __m256i dword_base =
        _mm256_set_epi32(0x0c0c0c0c, 0x08080808, 0x04040404, 0, 0x0c0c0c0c, 0x08080808, 0x04040404, 0);
    for (int i = 0; i < nblk; ++i) {
      const size_t off = size_t(kb + i) * sizeof(W);
      auto* q = reinterpret_cast<__m256i*>(tile + size_t(i) * kBlockBytes);
      __m256i raw[4];
      transpose_8x16b(rows, off + offsetof(block_q5_0, qs), raw);
      alignas(32) uint32_t qh[kTileRows8];
      for (int r = 0; r < kTileRows8; ++r) std::memcpy(&qh[r], rows[r] + off + offsetof(block_q5_0, qh), 4);
      const __m256i hv = _mm256_load_si256(reinterpret_cast<const __m256i*>(qh));
      for (int g = 0; g < 8; ++g) {
        // Byte b of group g takes bit 4g + b: the qh byte g / 2, bit b + 4 (g % 2).
        const __m256i rep =
            _mm256_shuffle_epi8(hv, _mm256_add_epi8(dword_base, _mm256_set1_epi8(char(g / 2))));
        const __m256i bits = _mm256_set1_epi32(int32_t(0x08040201u << (4 * (g % 2))));
        const __m256i high = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(rep, bits), bits), bit4);
        const __m256i nib =
            g < 4 ? _mm256_and_si256(raw[g], low4) : _mm256_and_si256(_mm256_srli_epi32(raw[g - 4], 4), low4);
        _mm256_store_si256(q + g, _mm256_or_si256(nib, high));
      }
      _mm256_store_ps(reinterpret_cast<float*>(q + 8), gather_halves8(rows, off));
    }
  }
  static void prepare(const uint8_t* a, size_t arb, int64_t rows, int64_t kb, int nblk, Meta& m) {
    prepare_q8_0<4>(a, arb, rows, kb, nblk, m);
  }

  template <int B>
  static void sweep(const uint8_t* tile, int nblk, const uint8_t* a, size_t arb, const Meta& m, int64_t j0,
                    float* c, int64_t ldc, int valid, bool first) {
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256 acc[B];
    for (int b = 0; b < B; ++b) acc[b] = _mm256_setzero_ps();
    for (int i = 0; i < nblk; ++i) {
      const auto* t = reinterpret_cast<const __m256i*>(tile + size_t(i) * kBlockBytes);
      const __m256 ws = _mm256_load_ps(reinterpret_cast<const float*>(t + 8));
      for (int b = 0; b < B; ++b) {
        const int8_t* aq = reinterpret_cast<const block_q8_0*>(a + size_t(b) * arb)[i].qs;
        __m256i s = _mm256_set1_epi32(m.off[j0 + b][i]);
        for (int h = 0; h < 2; ++h) {
          __m256i p = _mm256_maddubs_epi16(_mm256_load_si256(t + 4 * h), bcast_i32(aq + 16 * h));
          for (int g = 1; g < 4; ++g) {
            p = _mm256_add_epi16(
                p, _mm256_maddubs_epi16(_mm256_load_si256(t + 4 * h + g), bcast_i32(aq + 16 * h + 4 * g)));
          }
          s = _mm256_add_epi32(s, _mm256_madd_epi16(p, ones16));
        }
        acc[b] =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(ws, _mm256_set1_ps(m.d[j0 + b][i])), acc[b]);
      }
    }
    store_tile8<B>(acc, c, ldc, valid, first);
  }
};

// Q8_0 against Q8_0, signed x signed: vpmaddubsw needs one unsigned side, so the tile holds |w|
// and w, and each broadcast activation dword takes w's sign (|w| * sign(a, w) = w * a). A pair sum
// reaches 2 * 128 * 127, so every group is widened to int32 on its own.
struct Q8_0PackedAvx2 {
  using W = block_q8_0;
  static constexpr int kBlock = 32;
  static constexpr size_t kActBlockBytes = sizeof(block_q8_0);
  static constexpr int kChunk = 32;               // blocks per K chunk: a 17 KiB tile
  static constexpr size_t kBlockBytes = 17 * 32;  // 8 ymm |w|, 8 ymm w, 8 scales
  static constexpr size_t kTileBytes = kChunk * kBlockBytes;
  static constexpr int kRows = kTileRows8, kSweep = kSweepRows4, kMinBatch = kMinBatch8;
  using Meta = ActMeta<kChunk>;  // only the scales are used (no offset)

  static void pack(const uint8_t* const* rows, int64_t kb, int nblk, uint8_t* tile) {
    for (int i = 0; i < nblk; ++i) {
      const size_t off = size_t(kb + i) * sizeof(W);
      auto* q = reinterpret_cast<__m256i*>(tile + size_t(i) * kBlockBytes);
      for (int h = 0; h < 2; ++h) {
        __m256i raw[4];
        transpose_8x16b(rows, off + 2 + 16 * h, raw);
        for (int g = 0; g < 4; ++g) {
          _mm256_store_si256(q + 4 * h + g, _mm256_abs_epi8(raw[g]));
          _mm256_store_si256(q + 8 + 4 * h + g, raw[g]);
        }
      }
      _mm256_store_ps(reinterpret_cast<float*>(q + 16), gather_halves8(rows, off));
    }
  }
  static void prepare(const uint8_t* a, size_t arb, int64_t rows, int64_t kb, int nblk, Meta& m) {
    prepare_q8_0<0>(a, arb, rows, kb, nblk, m);
  }

  template <int B>
  static void sweep(const uint8_t* tile, int nblk, const uint8_t* a, size_t arb, const Meta& m, int64_t j0,
                    float* c, int64_t ldc, int valid, bool first) {
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256 acc[B];
    for (int b = 0; b < B; ++b) acc[b] = _mm256_setzero_ps();
    for (int i = 0; i < nblk; ++i) {
      const auto* t = reinterpret_cast<const __m256i*>(tile + size_t(i) * kBlockBytes);
      const __m256 ws = _mm256_load_ps(reinterpret_cast<const float*>(t + 16));
      for (int b = 0; b < B; ++b) {
        const int8_t* aq = reinterpret_cast<const block_q8_0*>(a + size_t(b) * arb)[i].qs;
        __m256i s = _mm256_setzero_si256();
        for (int g = 0; g < 8; ++g) {
          const __m256i signed_a = _mm256_sign_epi8(bcast_i32(aq + 4 * g), _mm256_load_si256(t + 8 + g));
          s = _mm256_add_epi32(
              s, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_load_si256(t + g), signed_a), ones16));
        }
        acc[b] =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(ws, _mm256_set1_ps(m.d[j0 + b][i])), acc[b]);
      }
    }
    store_tile8<B>(acc, c, ldc, valid, first);
  }
};

// ---------------------------------------------------------------------------------------------
// K-quants against Q8_K. Tile layout per super-block: 64 ymm of quants, 8 * kSub ymm of int16
// scale pairs (sc, sc) per row (kSub = 1: 32-element sub-blocks, 2: 16), 8 ymm of int16 pairs for
// the bsums correction, d and the correction factor (-dmin, or -32 d) as floats.
template <int kSub>
struct KLayout8 {
  static constexpr size_t kQ = 0, kScales = 64 * 32, kCorr = kScales + 8 * kSub * 32, kD = kCorr + 8 * 32;
  static constexpr size_t kCorrF = kD + 32, kBytes = kCorrF + 32;
};

inline __m256i pair16(__m256i v) { return _mm256_or_si256(v, _mm256_slli_epi32(v, 16)); }

// Q4_K / Q5_K: hdr = rows' 16 header bytes transposed (d | dmin << 16, then the 12 packed
// six-bit scale/min bytes).
inline void pack_k4_scales8(const uint8_t* const* rows, size_t off, uint8_t* t) {
  using L = KLayout8<1>;
  __m256i hdr[4];
  transpose_8x16b(rows, off, hdr);
  const __m256i m3f = _mm256_set1_epi8(0x3f), m0f = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
  const __m256i u0 = hdr[1], u1 = hdr[2], u2 = hdr[3];
  const __m256i sc_lo = _mm256_and_si256(u0, m3f), mn_lo = _mm256_and_si256(u1, m3f);
  const __m256i sc_hi =
      _mm256_or_si256(_mm256_and_si256(u2, m0f), _mm256_and_si256(_mm256_srli_epi32(u0, 2), m30));
  const __m256i mn_hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(u2, 4), m0f),
                                        _mm256_and_si256(_mm256_srli_epi32(u1, 2), m30));
  const __m256i ff = _mm256_set1_epi32(0xff);
  for (int j = 0; j < 8; ++j) {
    const __m128i sh = _mm_cvtsi32_si128(8 * (j % 4));
    const __m256i sc = _mm256_and_si256(_mm256_srl_epi32(j < 4 ? sc_lo : sc_hi, sh), ff);
    const __m256i mn = _mm256_and_si256(_mm256_srl_epi32(j < 4 ? mn_lo : mn_hi, sh), ff);
    _mm256_store_si256(reinterpret_cast<__m256i*>(t + L::kScales + 32 * j), pair16(sc));
    _mm256_store_si256(reinterpret_cast<__m256i*>(t + L::kCorr + 32 * j), pair16(mn));
  }
  _mm256_store_ps(reinterpret_cast<float*>(t + L::kD), gather_halves8(rows, off));
  _mm256_store_ps(reinterpret_cast<float*>(t + L::kCorrF),
                  _mm256_sub_ps(_mm256_setzero_ps(), gather_halves8(rows, off + 2)));
}

// qs byte 32k + l holds element 64k + l (low nibble) and 64k + 32 + l (high): raw dword
// p = 8k + m gives groups 16k + m and 16k + 8 + m.
inline void pack_k4_quants8(const uint8_t* const* rows, size_t qs_off, __m256i* q) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  for (int c = 0; c < 8; ++c) {
    __m256i raw[4];
    transpose_8x16b(rows, qs_off + 16 * c, raw);
    for (int g = 0; g < 4; ++g) {
      const int p = 4 * c + g, k = p / 8, m = p % 8;
      q[16 * k + m] = _mm256_and_si256(raw[g], low4);
      q[16 * k + 8 + m] = _mm256_and_si256(_mm256_srli_epi32(raw[g], 4), low4);
    }
  }
}

struct Q4_KPack8 {
  using W = block_q4_K;
  static constexpr int kSub = 1, kSumGroups = 8;  // q <= 15
  static void pack_block(const uint8_t* const* rows, size_t off, uint8_t* t) {
    pack_k4_quants8(rows, off + offsetof(block_q4_K, qs), reinterpret_cast<__m256i*>(t));
    pack_k4_scales8(rows, off, t);
  }
};

struct Q5_KPack8 {
  using W = block_q5_K;
  static constexpr int kSub = 1, kSumGroups = 4;  // q <= 31
  static void pack_block(const uint8_t* const* rows, size_t off, uint8_t* t) {
    auto* q = reinterpret_cast<__m256i*>(t);
    pack_k4_quants8(rows, off + offsetof(block_q5_K, qs), q);
    // qh byte l bit g is the fifth bit of element 32g + l: group D takes qh dword D % 8, bit D / 8.
    __m256i qh[8];
    transpose_8x16b(rows, off + offsetof(block_q5_K, qh), qh);
    transpose_8x16b(rows, off + offsetof(block_q5_K, qh) + 16, qh + 4);
    const __m256i bit4 = _mm256_set1_epi8(0x10);
    for (int D = 0; D < 64; ++D) {
      const int g = D / 8;
      const __m256i h = qh[D % 8];
      const __m256i moved = g <= 4 ? _mm256_sll_epi32(h, _mm_cvtsi32_si128(4 - g))
                                   : _mm256_srl_epi32(h, _mm_cvtsi32_si128(g - 4));
      q[D] = _mm256_or_si256(q[D], _mm256_and_si256(moved, bit4));
    }
    pack_k4_scales8(rows, off, t);
  }
};

struct Q6_KPack8 {
  using W = block_q6_K;
  static constexpr int kSub = 2, kSumGroups = 2;  // q <= 63
  static void pack_block(const uint8_t* const* rows, size_t off, uint8_t* t) {
    using L = KLayout8<2>;
    auto* q = reinterpret_cast<__m256i*>(t);
    const __m256i low4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
    // ql byte 64h + l: elements 128h + l (low nibble) and 128h + 64 + l (high); byte 64h + 32 + l:
    // 128h + 32 + l and 128h + 96 + l.
    for (int c = 0; c < 8; ++c) {
      __m256i raw[4];
      transpose_8x16b(rows, off + offsetof(block_q6_K, ql) + 16 * c, raw);
      for (int g = 0; g < 4; ++g) {
        const int p = 4 * c + g, h = p / 16, pp = p % 16;
        const int lo_group = pp < 8 ? 32 * h + pp : 32 * h + 8 + (pp - 8);
        q[lo_group] = _mm256_and_si256(raw[g], low4);
        q[lo_group + 16] = _mm256_and_si256(_mm256_srli_epi32(raw[g], 4), low4);
      }
    }
    // qh byte 32h + l, bits 2t..2t+1: the top bits of element 128h + 32t + l (group 32h + 8t + l/4).
    for (int c = 0; c < 4; ++c) {
      __m256i raw[4];
      transpose_8x16b(rows, off + offsetof(block_q6_K, qh) + 16 * c, raw);
      for (int g = 0; g < 4; ++g) {
        const int s = 4 * c + g, h = s / 8, m = s % 8;
        for (int tb = 0; tb < 4; ++tb) {
          const int D = 32 * h + 8 * tb + m;
          const __m256i moved = tb <= 2 ? _mm256_sll_epi32(raw[g], _mm_cvtsi32_si128(4 - 2 * tb))
                                        : _mm256_srli_epi32(raw[g], 2);
          q[D] = _mm256_or_si256(q[D], _mm256_and_si256(moved, m30));
        }
      }
    }
    __m256i sc[4];  // dword k: sc[4k..4k+3]
    transpose_8x16b(rows, off + offsetof(block_q6_K, scales), sc);
    for (int k = 0; k < 4; ++k) {
      for (int b = 0; b < 4; ++b) {
        const __m256i v = _mm256_srai_epi32(_mm256_sll_epi32(sc[k], _mm_cvtsi32_si128(24 - 8 * b)), 24);
        _mm256_store_si256(
            reinterpret_cast<__m256i*>(t + L::kScales + 32 * (4 * k + b)),
            _mm256_or_si256(_mm256_and_si256(v, _mm256_set1_epi32(0xffff)), _mm256_slli_epi32(v, 16)));
      }
      const __m256i even = _mm256_srai_epi16(_mm256_slli_epi16(sc[k], 8), 8);  // words: sc0, sc2
      const __m256i odd = _mm256_srai_epi16(sc[k], 8);                         // words: sc1, sc3
      _mm256_store_si256(reinterpret_cast<__m256i*>(t + L::kCorr + 32 * (2 * k)),
                         _mm256_blend_epi16(even, _mm256_slli_epi32(odd, 16), 0xaa));
      _mm256_store_si256(reinterpret_cast<__m256i*>(t + L::kCorr + 32 * (2 * k + 1)),
                         _mm256_blend_epi16(_mm256_srli_epi32(even, 16), odd, 0xaa));
    }
    const __m256 d = gather_halves8(rows, off + offsetof(block_q6_K, d));
    _mm256_store_ps(reinterpret_cast<float*>(t + L::kD), d);
    _mm256_store_ps(reinterpret_cast<float*>(t + L::kCorrF), _mm256_mul_ps(d, _mm256_set1_ps(-32.0f)));
  }
};

template <class P>
struct KPackedAvx2 {
  using W = typename P::W;
  using L = KLayout8<P::kSub>;
  static constexpr int kBlock = QK_K;
  static constexpr size_t kActBlockBytes = sizeof(block_q8_K);
  static constexpr int kChunk = 4;  // super-blocks per K chunk: an 11-12 KiB tile
  static constexpr size_t kBlockBytes = L::kBytes;
  static constexpr size_t kTileBytes = kChunk * kBlockBytes;
  static constexpr int kRows = kTileRows8, kSweep = kSweepRows4, kMinBatch = kMinBatch8;
  struct Meta {};

  static void pack(const uint8_t* const* rows, int64_t kb, int nblk, uint8_t* tile) {
    for (int i = 0; i < nblk; ++i)
      P::pack_block(rows, size_t(kb + i) * sizeof(W), tile + size_t(i) * kBlockBytes);
  }
  static void prepare(const uint8_t*, size_t, int64_t, int64_t, int, Meta&) {}

  template <int B>
  static void sweep(const uint8_t* tile, int nblk, const uint8_t* a, size_t arb, const Meta&, int64_t,
                    float* c, int64_t ldc, int valid, bool first) {
    __m256 acc[B];
    for (int b = 0; b < B; ++b) acc[b] = _mm256_setzero_ps();
    for (int i = 0; i < nblk; ++i) {
      const uint8_t* t = tile + size_t(i) * kBlockBytes;
      const auto* tq = reinterpret_cast<const __m256i*>(t + L::kQ);
      const auto* tsc = reinterpret_cast<const __m256i*>(t + L::kScales);
      const auto* tcorr = reinterpret_cast<const __m256i*>(t + L::kCorr);
      for (int b = 0; b < B; ++b) {
        const block_q8_K& ab = reinterpret_cast<const block_q8_K*>(a + size_t(b) * arb)[i];
        __m256i isum = _mm256_setzero_si256();
        for (int g0 = 0; g0 < 64; g0 += P::kSumGroups) {
          // kSumGroups pair sums of at most 2 * qmax * 128 each stay below 32767 in int16.
          __m256i p = _mm256_maddubs_epi16(_mm256_load_si256(tq + g0), bcast_i32(ab.qs + 4 * g0));
          for (int g = g0 + 1; g < g0 + P::kSumGroups; ++g) {
            p = _mm256_add_epi16(p,
                                 _mm256_maddubs_epi16(_mm256_load_si256(tq + g), bcast_i32(ab.qs + 4 * g)));
          }
          const int sub = g0 / (8 / P::kSub);  // 8 / kSub groups of 4 elements per sub-block
          isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, _mm256_load_si256(tsc + sub)));
        }
        __m256i csum = _mm256_madd_epi16(_mm256_load_si256(tcorr), bcast_i32(ab.bsums));
        for (int p = 1; p < 8; ++p)
          csum = _mm256_add_epi32(
              csum, _mm256_madd_epi16(_mm256_load_si256(tcorr + p), bcast_i32(ab.bsums + 2 * p)));
        const __m256 da = _mm256_set1_ps(ab.d);
        acc[b] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum),
                                 _mm256_mul_ps(_mm256_load_ps(reinterpret_cast<const float*>(t + L::kD)), da),
                                 acc[b]);
        acc[b] = _mm256_fmadd_ps(
            _mm256_cvtepi32_ps(csum),
            _mm256_mul_ps(_mm256_load_ps(reinterpret_cast<const float*>(t + L::kCorrF)), da), acc[b]);
      }
    }
    store_tile8<B>(acc, c, ldc, valid, first);
  }
};

}  // namespace
}  // namespace lp::LP_ISA_NS
