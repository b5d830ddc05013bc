// The tiling of a mat-mul, shared by every quantized and float kernel of the SIMD tiers.
// A kernel K provides `template <int R, int B> static void tile(n, w, w_row_bytes, a, a_row_bytes,
// c, ldc)`: R weight rows times B activation rows, each weight block unpacked once and used
// against all B activation rows held in registers. The driver walks [r0, r1) x [0, nb) in cache
// blocks (a block of weight rows and a block of activation rows both stay in L2 while their tiles
// run), then in register tiles, with smaller tiles for the remainders. A kernel may also provide
// `matvec(n, r0, r1, w, wrb, a, arb, nb, c, ldc)` and `kSmallBatchMax`, which run instead for
// batches of 1 .. kSmallBatchMax (decode, several sequences at once; see matvec_rows).
#pragma once

#include "kernels/simd/simd_base.h"

namespace lp::LP_ISA_NS {
namespace {

constexpr int64_t kGemmRowBlock = 64;     // weight rows per cache block
constexpr int64_t kGemmActBlock = 64;     // activation rows per cache block
constexpr int64_t kPrefetchMaxBatch = 4;  // batches this small are bound by reading the weights
constexpr int64_t kPrefetchTiles = 1;     // row tiles ahead to prefetch (1, 2 and 4 measured the same)

// Software prefetch of [p, p + bytes) into L2, one cache line at a time.
inline void prefetch_bytes(const uint8_t* p, size_t bytes) {
  for (size_t off = 0; off < bytes; off += 64)
    _mm_prefetch(reinterpret_cast<const char*>(p + off), _MM_HINT_T1);
}

// Prefetch into L2 the `bytes` bytes at p + distance, one cache line at a time (decode: the same
// bytes a few rows on, spread over the loop that reads p).
inline void prefetch_ahead(const void* p, size_t bytes, size_t distance) {
  const char* ahead = static_cast<const char*>(p) + distance;
  for (size_t off = 0; off < bytes; off += 64) _mm_prefetch(ahead + off, _MM_HINT_T1);
  _mm_prefetch(ahead + bytes - 1, _MM_HINT_T1);
}

// Decode's mat-vec over weight rows [r0, r1) for a kernel K with
// `template <int R, int B, int kAhead> rows(n, w, wrb, a, arb, c, ldc)` (R weight rows times B
// activation rows, each weight block unpacked once for all B; the rows kAhead on prefetched on the
// way): tiles of R rows, prefetching kAhead rows on but never past r1 -- those rows are another
// work item's, maybe another core's, and lines fetched here would only crowd this core's L2 --
// with the first kAhead rows prefetched up front. On 7B shapes this beats prefetching each next
// tile in one burst before computing (the gemm_tiled path) by 9-24% (bench/kernels_matvec): a
// burst of prefetches waits for fill buffers.
// `rows` must accumulate each activation row exactly as it does for B = 1 (same operations in the
// same order; the tile's R only changes which rows run together): a row's result is then
// bit-identical alone or in a small batch (speculative verification, several server slots).
template <class K, int R, int kAhead, int B = 1>
void matvec_rows(int64_t n, int64_t r0, int64_t r1, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb,
                 float* c, int64_t ldc) {
  const int64_t first = r1 - r0 < kAhead ? r1 - r0 : kAhead;
  prefetch_bytes(w + size_t(r0) * wrb, size_t(first) * wrb);
  int64_t r = r0;
  for (; r + R + kAhead <= r1; r += R)
    K::template rows<R, B, kAhead>(n, w + size_t(r) * wrb, wrb, a, arb, c + r, ldc);
  for (; r + R <= r1; r += R) K::template rows<R, B, 0>(n, w + size_t(r) * wrb, wrb, a, arb, c + r, ldc);
  for (; r < r1; ++r) K::template rows<1, B, 0>(n, w + size_t(r) * wrb, wrb, a, arb, c + r, ldc);
}

// Weight rows per tile for a batch of B when a batch of one runs R: R * B accumulators stay about
// constant (registers), down to one row.
constexpr int small_batch_rows(int R, int B) { return R / B > 1 ? R / B : 1; }

// matvec_rows for a batch 1 <= nb <= kMax known only at run time.
template <class K, int R, int kAhead, int kMax>
void matvec_batch(int64_t n, int64_t r0, int64_t r1, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb,
                  int64_t nb, float* c, int64_t ldc) {
  if constexpr (kMax > 1) {
    if (nb < kMax) return matvec_batch<K, R, kAhead, kMax - 1>(n, r0, r1, w, wrb, a, arb, nb, c, ldc);
  }
  matvec_rows<K, small_batch_rows(R, kMax), kAhead, kMax>(n, r0, r1, w, wrb, a, arb, c, ldc);
}

// Batches up to this run as decode's mat-vec (each weight block unpacked once for the batch)
// instead of the packed gemm, for every kernel that has one (bench/kernels_matmul, batches 1-8).
constexpr int kMatvecBatchMax = 8;

// The largest batch K runs through its mat-vec (0: none).
template <class K>
constexpr int64_t small_batch_max() {
  if constexpr (requires { K::kSmallBatchMax; }) {
    return K::kSmallBatchMax;
  } else {
    return 0;
  }
}

// The entry points of a kernel K whose one implementation is
// `template <int R, int B, int kAhead> tile_prefetching(n, w, wrb, a, arb, c, ldc)` (kAhead > 0:
// prefetch the rows kAhead on while reading; each activation row accumulated the same way for
// every B): the gemm tile (no prefetch), and decode's mat-vec for batches up to kMatvecBatchMax in
// tiles of kMatvecRows rows (fewer for larger batches) prefetching 8 rows on. Derive K from it (CRTP).
template <class K, int kMatvecRows>
struct PrefetchingTiles {
  static constexpr int kSmallBatchMax = kMatvecBatchMax;
  template <int R, int B>
  static void tile(int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb, float* c,
                   int64_t ldc) {
    K::template tile_prefetching<R, B, 0>(n, w, wrb, a, arb, c, ldc);
  }
  template <int R, int B, int kAhead>
  static void rows(int64_t n, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb, float* c, int64_t ldc) {
    K::template tile_prefetching<R, B, kAhead>(n, w, wrb, a, arb, c, ldc);
  }
  static void matvec(int64_t n, int64_t r0, int64_t r1, const uint8_t* w, size_t wrb, const uint8_t* a,
                     size_t arb, int64_t nb, float* c, int64_t ldc) {
    matvec_batch<K, kMatvecRows, 8, kSmallBatchMax>(n, r0, r1, w, wrb, a, arb, nb, c, ldc);
  }
};

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
void gemm_tiled(int64_t n, int64_t r0, int64_t r1, const void* w, size_t wrb, const void* a, size_t arb,
                int64_t nb, float* c, int64_t ldc) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  if constexpr (small_batch_max<K>() > 0) {  // a kernel with its own mat-vec for decode
    if (nb >= 1 && nb <= small_batch_max<K>()) {
      K::matvec(n, r0, r1, wb, wrb, ab, arb, nb, c, ldc);
      return;
    }
  }
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
