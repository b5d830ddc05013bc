// Prompt-processing mat-mul with weights repacked on the fly (no load-time copy, no extra memory):
// the driver and the activation-side preparation shared by the avx512 and avx2 packed kernels
// (kernels/simd/gemm_packed_avx512.h, gemm_packed_avx2.h).
//
// A tile of kRows weight rows (16 for zmm, 8 for ymm: one row per int32 lane) x a chunk of K is
// unpacked into a small stack buffer in the layout the integer dot products want: one vector per
// 4 consecutive elements, lane i = the 4 unsigned quants of row i. Every activation row of the
// batch then sweeps over the tile: 4 activation bytes are broadcast from memory to all lanes, so
// one instruction multiplies them with 4 elements of every row, and one fma scales a whole block
// for all rows of the tile. The tile stays in L1 while the batch streams from L2; repacking costs
// a few percent because each tile serves every activation row of the call.
//
// A kernel K provides kRows, kSweep (activation rows per register tile), kMinBatch, kBlock, kChunk
// (blocks per K chunk), kActBlockBytes, kTileBytes, W (the weight block), Meta, and
//   pack(rows[kRows], first block, blocks, tile), prepare(a, arb, rows, first block, blocks, meta),
//   sweep<B>(tile, blocks, a, arb, meta, j0, c, ldc, valid rows, first chunk).
#pragma once

#include "kernels/simd/gemm_driver.h"

// GCC 12 reports its own AVX-512 intrinsics (the `__Y = __Y` undefined-vector idiom) as maybe
// uninitialized once they are inlined into these kernels.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace lp::LP_ISA_NS {
namespace {

constexpr int64_t kPackedActBlock = 64;  // activation rows per pass over the packed tiles

inline int32_t load_i32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Legacy 32-blocks against Q8_0: per activation row and block of the K chunk, the offset term
// -offset * sum(a) (offset = 1 << kShift: the weights are stored unsigned) and the float scale.
template <int kChunk>
struct ActMeta {
  int32_t off[kPackedActBlock][kChunk];
  float d[kPackedActBlock][kChunk];
};

// Block sums 8 at a time (one u8 x s8 dot against ones, then a reduction tree).
template <int kShift, int kChunk>
void prepare_q8_0(const uint8_t* a, size_t arb, int64_t rows, int64_t kb, int nblk, ActMeta<kChunk>& m) {
  const __m256i ones = _mm256_set1_epi8(1);
  for (int64_t j = 0; j < rows; ++j) {
    const auto* ab = reinterpret_cast<const block_q8_0*>(a + size_t(j) * arb) + kb;
    int i = 0;
    for (; i + 8 <= nblk; i += 8) {
      __m256i s[8];
      for (int k = 0; k < 8; ++k) s[k] = dot_u8s8(ones, load256(ab[i + k].qs));
      const __m256i h01 = _mm256_hadd_epi32(s[0], s[1]), h23 = _mm256_hadd_epi32(s[2], s[3]);
      const __m256i h45 = _mm256_hadd_epi32(s[4], s[5]), h67 = _mm256_hadd_epi32(s[6], s[7]);
      const __m256i q0 = _mm256_hadd_epi32(h01, h23), q1 = _mm256_hadd_epi32(h45, h67);
      const __m256i sums =
          _mm256_add_epi32(_mm256_permute2x128_si256(q0, q1, 0x20), _mm256_permute2x128_si256(q0, q1, 0x31));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(&m.off[j][i]),
                          _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sums, kShift)));
    }
    for (; i < nblk; ++i) m.off[j][i] = -(hsum_i32(dot_u8s8(ones, load256(ab[i].qs))) << kShift);
    for (i = 0; i < nblk; ++i) m.d[j][i] = half_to_float(ab[i].d);
  }
}

// The remainder of a batch (fewer than K::kSweep rows) through a smaller sweep.
template <class K, int B>
void sweep_tail(int rest, const uint8_t* tile, int nblk, const uint8_t* a, size_t arb,
                const typename K::Meta& m, int64_t j0, float* c, int64_t ldc, int valid, bool first) {
  if constexpr (B >= 1) {
    if (rest == B) {
      K::template sweep<B>(tile, nblk, a, arb, m, j0, c, ldc, valid, first);
    } else {
      sweep_tail<K, B - 1>(rest, tile, nblk, a, arb, m, j0, c, ldc, valid, first);
    }
  }
}

// gemm entry: K is a packed kernel; Small is the register-tiled kernel (and its tile shape) for
// batches below K::kMinBatch, where repacking does not pay for itself, and its mat-vec for batches
// up to Small's kSmallBatchMax (decode of one or a few sequences, bound by reading the weights).
// The packed path alone, for any batch: tiles of K::kRows weight rows, each packed once per K chunk
// and swept by every activation row.
template <class K>
void gemm_packed_tiles(int64_t n, int64_t r0, int64_t r1, const void* w, size_t wrb, const void* a, size_t arb,
                       int64_t nb, float* c, int64_t ldc) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  const size_t a_block_bytes = K::kActBlockBytes;
  const int64_t nblocks = n / K::kBlock;
  alignas(64) uint8_t tile[K::kTileBytes];
  alignas(64) typename K::Meta meta;
  for (int64_t jb = 0; jb < nb; jb += kPackedActBlock) {
    const int64_t je = jb + kPackedActBlock < nb ? jb + kPackedActBlock : nb;
    for (int64_t kb = 0; kb < nblocks; kb += K::kChunk) {
      const int nblk = int(kb + K::kChunk < nblocks ? K::kChunk : nblocks - kb);
      const uint8_t* a_chunk = ab + size_t(kb) * a_block_bytes;
      K::prepare(a_chunk + size_t(jb) * arb, arb, je - jb, 0, nblk, meta);
      for (int64_t r = r0; r < r1; r += K::kRows) {
        const int rows = int(r1 - r < K::kRows ? r1 - r : K::kRows);
        const uint8_t* row_ptr[K::kRows];
        for (int i = 0; i < K::kRows; ++i) row_ptr[i] = wb + size_t(r + (i < rows ? i : rows - 1)) * wrb;
        K::pack(row_ptr, kb, nblk, tile);
        int64_t j = jb;
        for (; j + K::kSweep <= je; j += K::kSweep) {
          K::template sweep<K::kSweep>(tile, nblk, a_chunk + size_t(j) * arb, arb, meta, j - jb,
                                       c + j * ldc + r, ldc, rows, kb == 0);
        }
        if (j < je) {
          sweep_tail<K, K::kSweep - 1>(int(je - j), tile, nblk, a_chunk + size_t(j) * arb, arb, meta, j - jb,
                                       c + j * ldc + r, ldc, rows, kb == 0);
        }
      }
    }
  }
}

template <class K, class Small, int R, int Bs>
void gemm_packed(int64_t n, int64_t r0, int64_t r1, const void* w, size_t wrb, const void* a, size_t arb,
                 int64_t nb, float* c, int64_t ldc) {
  if (nb < K::kMinBatch || nb <= small_batch_max<Small>()) {
    gemm_tiled<Small, R, Bs>(n, r0, r1, w, wrb, a, arb, nb, c, ldc);
    return;
  }
  gemm_packed_tiles<K>(n, r0, r1, w, wrb, a, arb, nb, c, ldc);
}

}  // namespace
}  // namespace lp::LP_ISA_NS

#pragma GCC diagnostic pop
