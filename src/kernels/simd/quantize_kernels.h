// Activation quantizers, byte-identical to the ref tier's (kernels/ref/quantize_act.cpp) and to
// llama.cpp's x86 ones (Q8_0/Q8_1: q = round(x * (127 / amax)); Q8_K: d = 1 / (127 / amax)): the same
// absmax, the same IEEE division and reciprocal, round-to-nearest-even (vcvtps2dq under the default
// MXCSR, as lrintf), the same clamp to -127..127 and the same fp16 rounding (vcvtps2ph, RNE).
#pragma once

#include "kernels/simd/simd_base.h"

namespace lp::LP_ISA_NS {
namespace {

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// Largest |x| over 32 floats.
inline float absmax32(const float* x) {
  __m256 m = _mm256_max_ps(abs_ps(_mm256_loadu_ps(x)), abs_ps(_mm256_loadu_ps(x + 8)));
  m = _mm256_max_ps(m, _mm256_max_ps(abs_ps(_mm256_loadu_ps(x + 16)), abs_ps(_mm256_loadu_ps(x + 24))));
  return hmax(m);
}

// 32 floats * id, rounded and clamped to -127..127, packed in element order.
inline __m256i quantize32(const float* x, float id) {
  const __m256 scale = _mm256_set1_ps(id), lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
  __m256i q[4];
  for (int k = 0; k < 4; ++k) {
    const __m256 v = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), scale), lo), hi);
    q[k] = _mm256_cvtps_epi32(v);
  }
  // packs interleave 128-bit lanes: restore element order with one dword permute.
  const __m256i p16a = _mm256_packs_epi32(q[0], q[1]), p16b = _mm256_packs_epi32(q[2], q[3]);
  const __m256i p8 = _mm256_packs_epi16(p16a, p16b);
  return _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// The fp16 value a reader sees, saturated at the largest finite half as quant::store_half does.
inline float store_half(float d, fp16_t* out) {
  d = d > 65504.0f ? 65504.0f : d;
  *out = fp16_t(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
  return half_to_float(*out);
}

void quantize_row_q8_0(const float* x, void* y, int64_t n) {
  auto* out = static_cast<block_q8_0*>(y);
  for (int64_t b = 0; b < n / QK8_0; ++b, x += QK8_0) {
    const float amax = absmax32(x);
    const float d = amax / 127.0f;
    store_half(d, &out[b].d);
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[b].qs), quantize32(x, id));
  }
}

void quantize_row_q8_1(const float* x, void* y, int64_t n) {
  auto* out = static_cast<block_q8_1*>(y);
  for (int64_t b = 0; b < n / QK8_1; ++b, x += QK8_1) {
    const float amax = absmax32(x);
    const float d = amax / 127.0f;
    store_half(d, &out[b].d);
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    const __m256i q = quantize32(x, id);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[b].qs), q);
    const int32_t sum = hsum_i32(_mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1)));
    out[b].s = fp16_t(_cvtss_sh(d * float(sum), _MM_FROUND_TO_NEAREST_INT));
  }
}

void quantize_row_q8_k(const float* x, void* y, int64_t n) {
  auto* out = static_cast<block_q8_K*>(y);
  for (int64_t b = 0; b < n / QK_K; ++b, x += QK_K) {
    float amax = 0;
    for (int g = 0; g < 8; ++g) {
      const float m = absmax32(x + 32 * g);
      amax = m > amax ? m : amax;
    }
    const float id = amax > 0 ? 127.0f / amax : 0.0f;
    const float d = amax > 0 ? 1.0f / id : 0.0f;
    out[b].d = d;
    for (int g = 0; g < 8; ++g) {
      const __m256i q = quantize32(x + 32 * g, id);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[b].qs + 32 * g), q);
      // Sums of each 16: maddubs pairs, then madd pairs into 8 lanes of 4, then pairs of lanes.
      const __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
      const __m256i s = _mm256_hadd_epi32(s32, s32);  // lanes: [s0+s1, s2+s3, .., | s4+s5, s6+s7, ..]
      const __m256i s2 = _mm256_hadd_epi32(s, s);     // lane 0: sum of 16 (low 128), lane 4: next 16
      out[b].bsums[2 * g] = int16_t(_mm256_extract_epi32(s2, 0));
      out[b].bsums[2 * g + 1] = int16_t(_mm256_extract_epi32(s2, 4));
    }
  }
}

void quantize_row_f32(const float* x, void* y, int64_t n) { std::memcpy(y, x, size_t(n) * sizeof(float)); }

void quantize_row_f16(const float* x, void* y, int64_t n) {
  auto* out = static_cast<fp16_t*>(y);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < n; ++i) out[i] = fp32_to_fp16(x[i]);
}

// bf16 = the float's top half, rounded to nearest even; NaN stays a quiet NaN (as fp32_to_bf16).
// Integer arithmetic rather than vcvtneps2bf16, which flushes denormal inputs to zero.
void quantize_row_bf16(const float* x, void* y, int64_t n) {
  auto* out = static_cast<bf16_t*>(y);
  int64_t i = 0;
  const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff);
  const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
  for (; i + 8 <= n; i += 8) {
    const __m256i v = _mm256_castps_si256(_mm256_loadu_ps(x + i));
    const __m256i rounded =
        _mm256_srli_epi32(_mm256_add_epi32(v, _mm256_add_epi32(bias, _mm256_and_si256(_mm256_srli_epi32(v, 16), one))), 16);
    const __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(v, abs_mask), inf);
    const __m256i nan = _mm256_or_si256(_mm256_srli_epi32(v, 16), _mm256_set1_epi32(0x40));
    const __m256i r = _mm256_blendv_epi8(rounded, nan, is_nan);
    // 8 x 32-bit -> 8 x 16-bit (values < 65536, so unsigned saturation keeps them).
    const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), packed);
  }
  for (; i < n; ++i) out[i] = fp32_to_bf16(x[i]);
}

}  // namespace
}  // namespace lp::LP_ISA_NS
