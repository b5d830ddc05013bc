// Scalar half-precision (IEEE binary16) and bfloat16 conversions.
// These are the reference conversions; SIMD kernels use F16C / AVX-512 instructions instead.
// static: each translation unit (including the per-ISA ones built with other -m flags) keeps its
// own copy, so the linker can never pick an AVX-512-compiled copy for generic code.
#pragma once

#include <cstdint>
#include <cstring>

namespace lp {

// Raw storage types, so that a block struct's layout is the file's layout.
using fp16_t = uint16_t;
using bf16_t = uint16_t;

static inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

static inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

static inline float fp16_to_fp32(fp16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t mant = h & 0x3ff;
  if (exp == 0) {
    // Zero or subnormal: value = mant * 2^-24.
    float v = float(mant) * (1.0f / 16777216.0f);
    return bits_float(float_bits(v) | sign);
  }
  if (exp == 31) return bits_float(sign | 0x7f800000u | (mant << 13));  // inf / nan
  return bits_float(sign | ((exp + 112) << 23) | (mant << 13));
}

// Round to nearest even, with overflow to infinity and gradual underflow.
static inline fp16_t fp32_to_fp16(float f) {
  const uint32_t x = float_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000;
  const uint32_t absx = x & 0x7fffffff;
  if (absx > 0x7f800000u) return fp16_t(sign | 0x7e00);  // nan
  if (absx >= 0x477ff000u) return fp16_t(sign | 0x7c00);  // rounds to >= 65520: inf
  if (absx < 0x38800000u) {
    // Subnormal half (or zero): scale so that the half ulp (2^-24) is 1.0 and round.
    const float a = bits_float(absx) * 16777216.0f;
    const uint32_t m = uint32_t(__builtin_nearbyintf(a));  // default rounding is to-nearest-even
    return fp16_t(sign | m);
  }
  // Normal: drop 13 mantissa bits with round-to-nearest-even.
  const uint32_t rounded = absx + 0xfff + ((absx >> 13) & 1);
  return fp16_t(sign | ((rounded - 0x38000000u) >> 13));
}

static inline float bf16_to_fp32(bf16_t b) { return bits_float(uint32_t(b) << 16); }

static inline bf16_t fp32_to_bf16(float f) {
  const uint32_t x = float_bits(f);
  if ((x & 0x7fffffff) > 0x7f800000u) return bf16_t((x >> 16) | 0x40);  // quiet nan
  return bf16_t((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

}  // namespace lp
