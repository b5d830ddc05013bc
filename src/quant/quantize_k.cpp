// Reference quantize / dequantize of Q4_K, Q5_K and Q8_K (256-element super-blocks).
//
// Layout facts (GGUF / ggml block formats; fp16 fields little-endian):
//   Q4_K {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}
//        8 sub-blocks of 32 elements, each with a 6-bit scale sc and a 6-bit min mn, packed in
//        scales[12] as described at pack_scale_min_k4 (quantize_rows.h).
//        x = d * sc * q - dmin * mn, q in 0..15.
//        Quants go in 64-element chunks c = 0..3: qs[32c + l] low nibble = element 64c + l,
//        high nibble = element 64c + 32 + l (l = 0..31).
//   Q5_K {f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}
//        As Q4_K with q in 0..31: qs holds the low 4 bits exactly as in Q4_K, and bit 4 of
//        element e is bit (e / 32) of qh[e % 32].
//   Q8_K {f32 d; i8 qs[256]; i16 bsums[16]}
//        x = d * q; bsums[g] = sum of qs[16g .. 16g + 15] (used by the K-quant dot products to
//        apply the sub-block minimums without touching the quants).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/fp16.h"
#include "quant/quantize_rows.h"
#include "quant/rounding.h"
#include "quant/scale_fit.h"

namespace lp::quant {
namespace {

// Stores a super-block scale as fp16 rounded away from zero, so that no sub-block scale divided
// by it exceeds the integer range (matters when d falls among the fp16 subnormals).
float store_half_away(float d, fp16_t* out) {
  fp16_t h = fp32_to_fp16(d);
  if (std::fabs(fp16_to_fp32(h)) < std::fabs(d) && (h & 0x7fff) < 0x7bff) ++h;  // next magnitude
  *out = h;
  return fp16_to_fp32(h);
}

// Shared by Q4_K and Q5_K: fit 8 sub-blocks of 32 with q in 0..nmax, quantize their scales and
// mins to 6 bits against the super-block d / dmin, then quantize x with the stored values.
void quantize_k4_superblock(const float* x, int nmax, fp16_t* d_out, fp16_t* dmin_out,
                            uint8_t packed_scales[12], uint8_t q[256]) {
  AffineFit fits[8];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < 8; ++j) {
    fits[j] = fit_affine(x + 32 * j, 32, nmax);
    max_scale = std::max(max_scale, fits[j].scale);
    max_min = std::max(max_min, fits[j].min);
  }
  const float d = store_half_away(max_scale / 63.0f, d_out);
  const float dmin = store_half_away(max_min / 63.0f, dmin_out);
  uint8_t sc[8], mn[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = d > 0 ? uint8_t(std::clamp(nearest_int(fits[j].scale / d), 0, 63)) : 0;
    mn[j] = dmin > 0 ? uint8_t(std::clamp(nearest_int(fits[j].min / dmin), 0, 63)) : 0;
    const float scale = d * float(sc[j]), min = dmin * float(mn[j]);
    const float inv = scale > 0 ? 1.0f / scale : 0.0f;
    for (int i = 0; i < 32; ++i) {
      q[32 * j + i] = uint8_t(std::clamp(nearest_int((x[32 * j + i] + min) * inv), 0, nmax));
    }
  }
  pack_scale_min_k4(sc, mn, packed_scales);
}

void dequantize_k4_superblock(float d, float dmin, const uint8_t packed_scales[12], const uint8_t q[256],
                              float* y) {
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, mn;
    unpack_scale_min_k4(packed_scales, j, &sc, &mn);
    const float scale = d * float(sc), min = dmin * float(mn);
    for (int i = 0; i < 32; ++i) y[32 * j + i] = scale * float(q[32 * j + i]) - min;
  }
}

}  // namespace

void pack_k4_nibbles(const uint8_t q[256], uint8_t qs[128]) {
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      qs[32 * c + l] = uint8_t((q[64 * c + l] & 0x0f) | ((q[64 * c + 32 + l] & 0x0f) << 4));
    }
  }
}

void unpack_k4_nibbles(const uint8_t qs[128], uint8_t q[256]) {
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      q[64 * c + l] = qs[32 * c + l] & 0x0f;
      q[64 * c + 32 + l] = qs[32 * c + l] >> 4;
    }
  }
}

void pack_scale_min_k4(const uint8_t scale[8], const uint8_t min[8], uint8_t packed[12]) {
  for (int j = 0; j < 4; ++j) {
    packed[j] = uint8_t((scale[j] & 63) | ((scale[j + 4] >> 4) << 6));
    packed[j + 4] = uint8_t((min[j] & 63) | ((min[j + 4] >> 4) << 6));
    packed[j + 8] = uint8_t((scale[j + 4] & 0x0f) | ((min[j + 4] & 0x0f) << 4));
  }
}

void unpack_scale_min_k4(const uint8_t packed[12], int j, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = packed[j] & 63;
    *min = packed[j + 4] & 63;
  } else {
    *scale = uint8_t((packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4));
    *min = uint8_t((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
  }
}

void quantize_q4_K(const float* x, block_q4_K* y, int64_t n) {
  for (int64_t b = 0; b < n / QK_K; ++b, x += QK_K) {
    uint8_t q[256];
    quantize_k4_superblock(x, 15, &y[b].d, &y[b].dmin, y[b].scales, q);
    pack_k4_nibbles(q, y[b].qs);
  }
}

void dequantize_q4_K(const block_q4_K* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / QK_K; ++b, y += QK_K) {
    uint8_t q[256];
    unpack_k4_nibbles(x[b].qs, q);
    dequantize_k4_superblock(fp16_to_fp32(x[b].d), fp16_to_fp32(x[b].dmin), x[b].scales, q, y);
  }
}

void quantize_q5_K(const float* x, block_q5_K* y, int64_t n) {
  for (int64_t b = 0; b < n / QK_K; ++b, x += QK_K) {
    uint8_t q[256];
    quantize_k4_superblock(x, 31, &y[b].d, &y[b].dmin, y[b].scales, q);
    pack_k4_nibbles(q, y[b].qs);
    std::memset(y[b].qh, 0, sizeof(y[b].qh));
    for (int e = 0; e < 256; ++e) y[b].qh[e % 32] |= uint8_t(((q[e] >> 4) & 1) << (e / 32));
  }
}

void dequantize_q5_K(const block_q5_K* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / QK_K; ++b, y += QK_K) {
    uint8_t q[256];
    unpack_k4_nibbles(x[b].qs, q);
    for (int e = 0; e < 256; ++e) q[e] |= uint8_t(((x[b].qh[e % 32] >> (e / 32)) & 1) << 4);
    dequantize_k4_superblock(fp16_to_fp32(x[b].d), fp16_to_fp32(x[b].dmin), x[b].scales, q, y);
  }
}

void quantize_q8_K(const float* x, block_q8_K* y, int64_t n) {
  for (int64_t b = 0; b < n / QK_K; ++b, x += QK_K) {
    float amax = 0.0f;
    for (int i = 0; i < QK_K; ++i) amax = std::max(amax, std::fabs(x[i]));
    // q in -127..127 (never -128), so a kernel may negate quants without overflow. Q8_K only
    // ever holds activations: id = 127 / amax and d = 1 / id, llama.cpp's Q8_K arithmetic (its
    // quants are ours negated when the largest element is positive, which gives the same d * q),
    // so both engines feed the same integers to the K-quant dot products.
    const float id = amax > 0 ? 127.0f / amax : 0.0f;
    const float d = amax > 0 ? 1.0f / id : 0.0f;
    y[b].d = d;
    for (int g = 0; g < QK_K / 16; ++g) {
      int sum = 0;
      for (int i = 16 * g; i < 16 * g + 16; ++i) {
        y[b].qs[i] = int8_t(std::clamp(nearest_int(x[i] * id), -127, 127));
        sum += y[b].qs[i];
      }
      y[b].bsums[g] = int16_t(sum);
    }
  }
}

void dequantize_q8_K(const block_q8_K* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / QK_K; ++b, y += QK_K) {
    for (int i = 0; i < QK_K; ++i) y[i] = x[b].d * float(x[b].qs[i]);
  }
}

}  // namespace lp::quant
