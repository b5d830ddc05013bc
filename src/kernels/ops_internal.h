// Helpers shared by ops.cpp and ops_attention.cpp (not part of the ops API). static inline: each
// translation unit keeps its own copy, compiled with its own flags.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "quant/fp16.h"

namespace lp::ops_detail {

// Independent partial results per loop step: without -ffast-math the compiler may not reorder a
// float reduction, but it vectorizes kLanes independent accumulators (4 SSE registers).
constexpr int kLanes = 16;

static inline float dot(const float* a, const float* b, int64_t n) {
  float part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) part[j] += a[i + j] * b[i + j];
  }
  float sum = 0;
  for (; i < n; ++i) sum += a[i] * b[i];
  for (int j = 0; j < kLanes; ++j) sum += part[j];
  return sum;
}

static inline float max_of(const float* x, int64_t n) {
  float part[kLanes];
  for (int j = 0; j < kLanes; ++j) part[j] = -INFINITY;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) part[j] = x[i + j] > part[j] ? x[i + j] : part[j];
  }
  float m = -INFINITY;
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  for (int j = 0; j < kLanes; ++j) m = part[j] > m ? part[j] : m;
  return m;
}

// exp(x) to ~2 ulp, branch-free so that loops calling it vectorize: x = n ln2 + r with
// |r| <= ln2/2, exp(r) by a degree-7 polynomial (Cephes expf coefficients), 2^n put into the
// exponent bits. Below -87 (where exp underflows past FLT_MIN) it returns 0, above 88.7 ~FLT_MAX.
static inline float exp_approx(float x) {
  // Clamp to [-87, 88.7] through integer masks: with float selects the compiler threads the
  // constant cases into branches and the loop no longer vectorizes.
  const uint32_t below = -uint32_t(x < -87.0f), above = -uint32_t(x > 88.7f);
  uint32_t xbits;
  std::memcpy(&xbits, &x, 4);
  xbits = (xbits & ~(below | above)) | (0xC2AE0000u & below) | (0x42B16666u & above);  // -87, 88.7
  float xc;
  std::memcpy(&xc, &xbits, 4);
  // Round xc * log2(e) to an integer by adding and subtracting 1.5 * 2^23.
  const float shifter = 12582912.0f;
  const float n = (xc * 1.44269504088896341f + shifter) - shifter;
  // r = xc - n ln2, with ln2 split in two (Cody-Waite) so that r stays accurate.
  float r = xc - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  uint32_t bits;
  std::memcpy(&bits, &y, 4);
  bits += uint32_t(int32_t(n)) << 23;
  // Selects through an integer mask: a float ?: would not be if-converted (the FP operations
  // feeding it may trap under the default -ftrapping-math), and the loop would not vectorize.
  bits &= -uint32_t(x >= -87.0f);
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

// IEEE half -> float for a row, branch-free (vectorizes with SSE2 integer ops):
// normal and inf/nan halves are rebiased by shifting the exponent+mantissa into place and
// multiplying by 2^-112 (which also maps half exponent 31 to float exponent 255); subnormal halves
// are built as 0.5 + m * 2^-24 with a magic exponent and corrected by subtracting 0.5.
static inline void f16_to_f32(const fp16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t w = uint32_t(x[i]) << 16;
    const uint32_t sign = w & 0x80000000u;
    const uint32_t two_w = w + w;  // exponent and mantissa, sign shifted out
    uint32_t nbits = (two_w >> 4) + (0xE0u << 23);
    float normal;
    std::memcpy(&normal, &nbits, 4);
    normal *= 0x1.0p-112f;
    uint32_t dbits = (two_w >> 17) | (126u << 23);
    float denormal;
    std::memcpy(&denormal, &dbits, 4);
    denormal -= 0.5f;
    uint32_t nb, db;
    std::memcpy(&nb, &normal, 4);
    std::memcpy(&db, &denormal, 4);
    const uint32_t is_subnormal = -uint32_t(two_w < (1u << 27));  // mask select, see exp_approx
    const uint32_t bits = sign | (db & is_subnormal) | (nb & ~is_subnormal);
    std::memcpy(&y[i], &bits, 4);
  }
}

// For tests: attention's inner loops. -1 follows the kernel tier (default), 0 portable, 1 AVX2
// (only on a CPU that has it).
void set_attention_simd(int mode);

}  // namespace lp::ops_detail

namespace lp {
class ThreadPool;
struct AttentionShape;
}  // namespace lp

namespace lp::ops_detail {

// AttentionPrecision::F16Accumulate (ops_attention_f16acc.cpp): per-thread scratch floats, and
// the pass itself, one (query row, head) work item at a time; attention() checks the arguments.
size_t attention_f16acc_scratch_floats(const AttentionShape& shape);
void attention_f16acc(const float* q, int64_t q_row_stride, const fp16_t* k, const fp16_t* v,
                      int64_t kv_row_stride, int nq, int p0, const AttentionShape& shape, float scale,
                      float* out, int64_t out_row_stride, float* scratch, size_t per_thread,
                      ThreadPool& pool);

}  // namespace lp::ops_detail
