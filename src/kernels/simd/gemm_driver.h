// The tiling of a mat-mul, shared by every quantized and float kernel of the SIMD tiers.
// A kernel K provides `template <int R, int B> static void tile(n, w, w_row_bytes, a, a_row_bytes,
// c, ldc)`: R weight rows times B activation rows, each weight block unpacked once and used
// against all B activation rows held in registers. The driver walks [r0, r1) x [0, nb) in cache
// blocks (a block of weight rows and a block of activation rows both stay in L2 while their tiles
// run), then in register tiles, with smaller tiles for the remainders.
#pragma once

#include "kernels/simd/simd_base.h"

namespace lp::LP_ISA_NS {
namespace {

constexpr int64_t kGemmRowBlock = 64;  // weight rows per cache block
constexpr int64_t kGemmActBlock = 64;  // activation rows per cache block
constexpr int64_t kPrefetchMaxBatch = 4;  // batches this small are bound by reading the weights
constexpr int64_t kPrefetchTiles = 1;     // row tiles ahead to prefetch (1, 2 and 4 measured the same)

// Software prefetch of [p, p + bytes) into L2, one cache line at a time.
inline void prefetch_bytes(const uint8_t* p, size_t bytes) {
  for (size_t off = 0; off < bytes; off += 64) _mm_prefetch(reinterpret_cast<const char*>(p + off), _MM_HINT_T1);
}

template <class K, int R, int B>
void gemm_tail_cols(int rest, int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb, float* c,
                    int64_t ldc) {
  if constexpr (B >= 1) {
    if (rest == B) {
      K::template tile<R, B>(n, w, wrb, a, arb, c, ldc);
    } else {
      gemm_tail_cols<K, R, B - 1>(rest, n, w, wrb, a, arb, c, ldc);
    }
  }
}

template <class K, int R, int B>
void gemm_cols(int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb, int64_t j0, int64_t j1,
               float* c, int64_t ldc) {
  int64_t j = j0;
  for (; j + B <= j1; j += B) K::template tile<R, B>(n, w, wrb, a + size_t(j) * arb, arb, c + j * ldc, ldc);
  if (j < j1) gemm_tail_cols<K, R, B - 1>(int(j1 - j), n, w, wrb, a + size_t(j) * arb, arb, c + j * ldc, ldc);
}

template <class K, int R, int B>
void gemm_tiled(int64_t n, int64_t r0, int64_t r1, const void* w, size_t wrb, const void* a, size_t arb, int64_t nb,
                float* c, int64_t ldc) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  for (int64_t rb = r0; rb < r1; rb += kGemmRowBlock) {
    const int64_t re = rb + kGemmRowBlock < r1 ? rb + kGemmRowBlock : r1;
    for (int64_t jb = 0; jb < nb; jb += kGemmActBlock) {
      const int64_t je = jb + kGemmActBlock < nb ? jb + kGemmActBlock : nb;
      int64_t r = rb;
      for (; r + R <= re; r += R) {
        // Small batches (decode) stream weights from DRAM: ask for the next tile's rows now, so that
        // their loads overlap this tile's arithmetic instead of waiting on the hardware prefetcher.
        if (nb <= kPrefetchMaxBatch && r + (kPrefetchTiles + 1) * R <= r1) {
          prefetch_bytes(wb + size_t(r + kPrefetchTiles * R) * wrb, size_t(R) * wrb);
        }
        gemm_cols<K, R, B>(n, wb + size_t(r) * wrb, wrb, ab, arb, jb, je, c + r, ldc);
      }
      for (; r < re; ++r) gemm_cols<K, 1, B>(n, wb + size_t(r) * wrb, wrb, ab, arb, jb, je, c + r, ldc);
    }
  }
}

template <class K>
float vec_dot_tile(int64_t n, const void* w, const void* a) {
  float out;
  K::template tile<1, 1>(n, static_cast<const uint8_t*>(w), 0, static_cast<const uint8_t*>(a), 0, &out, 1);
  return out;
}

}  // namespace
}  // namespace lp::LP_ISA_NS
