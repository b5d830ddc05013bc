// Building blocks shared by the avx2/ and avx512/ kernel tiers. Included only by their translation
// units, which are compiled with their own -m flags: everything here has internal linkage (an
// anonymous namespace inside lp::LP_ISA_NS), so no copy compiled for one ISA can ever be picked by
// the linker for code of another (see kernels/tiers.h). The predefined __AVX512*__ macros select
// instructions: 256-bit integer dot products use VNNI (vpdpbusd) when the tier has it.
#pragma once

#ifndef LP_ISA_NS
#error "define LP_ISA_NS (avx2 or avx512) before including kernels/simd headers"
#endif

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/kernel_table.h"
#include "quant/blocks.h"
#include "quant/fp16.h"

#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
#define LP_SIMD_VNNI 1
#else
#define LP_SIMD_VNNI 0
#endif

namespace lp::LP_ISA_NS {
namespace {

// One fp16 scale field -> float with the F16C instruction (the scalar fp16_to_fp32 is ~10 ops).
inline float half_to_float(fp16_t h) { return _cvtsh_ss(h); }

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// Sums of 4 adjacent products u8 * s8 into 8 int32 lanes. Without VNNI the int16 pair sums of
// vpmaddubsw saturate above 32767: every caller keeps u * |s| * 2 below that (u <= 128, |s| <= 127).
inline __m256i dot_u8s8(__m256i u, __m256i s) {
#if LP_SIMD_VNNI
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

// acc + dot_u8s8(u, s).
inline __m256i dot_u8s8_acc(__m256i acc, __m256i u, __m256i s) {
#if LP_SIMD_VNNI
  return _mm256_dpbusd_epi32(acc, u, s);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

// 16 packed bytes -> 32 values 0..15: low nibbles in bytes 0-15, high nibbles in 16-31 (the
// legacy Q4 element order: qs[j] holds elements j and j + 16).
inline __m256i unpack_nibbles_32(const uint8_t* qs) {
  const __m128i x = load128(qs);
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(x, 4), x);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

}  // namespace
}  // namespace lp::LP_ISA_NS
