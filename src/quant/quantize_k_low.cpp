// Reference quantize / dequantize of Q2_K, Q3_K and Q6_K (256-element super-blocks of 16
// sub-blocks of 16 elements; sub-block of element e is e / 16).
//
// Layout facts (GGUF / ggml block formats; fp16 fields little-endian):
//   2-bit planes (Q2_K qs, Q3_K qs): the block is two halves of 128 elements; in half h, byte
//     qs[32h + l] holds elements 128h + 32s + l at bits 2s..2s+1 (s = 0..3, l = 0..31).
//   Q2_K {u8 scales[16]; u8 qs[64]; f16 d; f16 dmin}
//        scales[j] = sc | mn << 4 (4-bit scale in the low nibble, 4-bit min in the high one).
//        x = d * sc * q - dmin * mn, q in 0..3.
//   Q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}
//        q = (2-bit value from qs) - (hmask bit set ? 0 : 4), so q in -4..3; the hmask bit of
//        element e is bit (e / 32) of hmask[e % 32]. 16 6-bit scales stored biased (+32),
//        packed as described at pack_scales_q3_K (quantize_rows.h). x = d * (sc - 32) * q.
//   Q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}
//        q in 0..63, x = d * scales[e / 16] * (q - 32). In half h (elements 128h..128h+127,
//        ql base 64h, qh base 32h), for l = 0..31:
//          element 128h + l      : low 4 bits = ql[64h + l] & 15,      high 2 = qh[32h + l] bits 0..1
//          element 128h + 32 + l : low 4 bits = ql[64h + 32 + l] & 15, high 2 = qh[32h + l] bits 2..3
//          element 128h + 64 + l : low 4 bits = ql[64h + l] >> 4,      high 2 = qh[32h + l] bits 4..5
//          element 128h + 96 + l : low 4 bits = ql[64h + 32 + l] >> 4, high 2 = qh[32h + l] bits 6..7
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

void pack_2bit_planes(const uint8_t q[256], uint8_t qs[64]) {
  std::memset(qs, 0, 64);
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, s = (e % 128) / 32, l = e % 32;
    qs[32 * h + l] |= uint8_t((q[e] & 3) << (2 * s));
  }
}

void unpack_2bit_planes(const uint8_t qs[64], uint8_t q[256]) {
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, s = (e % 128) / 32, l = e % 32;
    q[e] = (qs[32 * h + l] >> (2 * s)) & 3;
  }
}

// The signed value of largest magnitude among v[0..n).
float signed_absmax(const float* v, int n) {
  float amax = 0.0f, value = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(v[i]) > amax) {
      amax = std::fabs(v[i]);
      value = v[i];
    }
  }
  return value;
}

// Quantize 16 signed sub-block scales to integers in -lo..hi against one super-block scale d
// (the largest-magnitude scale maps to -lo). Returns d as stored.
float quantize_signed_scales(const float s[16], int lo, int hi, fp16_t* d_out, int out[16]) {
  const float d = store_half_away(signed_absmax(s, 16) / float(-lo), d_out);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  for (int j = 0; j < 16; ++j) out[j] = std::clamp(nearest_int(s[j] * id), -lo, hi);
  return d;
}

}  // namespace

void pack_scales_q3_K(const uint8_t biased[16], uint8_t packed[12]) {
  std::memset(packed, 0, 12);
  for (int j = 0; j < 16; ++j) {
    const uint8_t v = biased[j] & 63;
    if (j < 8) {
      packed[j] |= v & 0x0f;
    } else {
      packed[j - 8] |= uint8_t((v & 0x0f) << 4);
    }
    packed[8 + j % 4] |= uint8_t((v >> 4) << (2 * (j / 4)));
  }
}

void unpack_scales_q3_K(const uint8_t packed[12], uint8_t biased[16]) {
  for (int j = 0; j < 16; ++j) {
    const uint8_t low = j < 8 ? (packed[j] & 0x0f) : (packed[j - 8] >> 4);
    const uint8_t high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
    biased[j] = uint8_t(low | (high << 4));
  }
}

void quantize_q2_K(const float* x, block_q2_K* y, int64_t n) {
  for (int64_t b = 0; b < n / QK_K; ++b, x += QK_K) {
    AffineFit fits[16];
    float max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < 16; ++j) {
      fits[j] = fit_affine(x + 16 * j, 16, 3);
      max_scale = std::max(max_scale, fits[j].scale);
      max_min = std::max(max_min, fits[j].min);
    }
    const float d = store_half_away(max_scale / 15.0f, &y[b].d);
    const float dmin = store_half_away(max_min / 15.0f, &y[b].dmin);
    uint8_t q[256];
    for (int j = 0; j < 16; ++j) {
      const int sc = d > 0 ? std::clamp(nearest_int(fits[j].scale / d), 0, 15) : 0;
      const int mn = dmin > 0 ? std::clamp(nearest_int(fits[j].min / dmin), 0, 15) : 0;
      y[b].scales[j] = uint8_t(sc | (mn << 4));
      const float scale = d * float(sc), min = dmin * float(mn);
      const float inv = scale > 0 ? 1.0f / scale : 0.0f;
      for (int i = 16 * j; i < 16 * j + 16; ++i) {
        q[i] = uint8_t(std::clamp(nearest_int((x[i] + min) * inv), 0, 3));
      }
    }
    pack_2bit_planes(q, y[b].qs);
  }
}

void dequantize_q2_K(const block_q2_K* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / QK_K; ++b, y += QK_K) {
    const float d = fp16_to_fp32(x[b].d), dmin = fp16_to_fp32(x[b].dmin);
    uint8_t q[256];
    unpack_2bit_planes(x[b].qs, q);
    for (int e = 0; e < 256; ++e) {
      const uint8_t sm = x[b].scales[e / 16];
      y[e] = d * float(sm & 0x0f) * float(q[e]) - dmin * float(sm >> 4);
    }
  }
}

void quantize_q3_K(const float* x, block_q3_K* y, int64_t n) {
  for (int64_t b = 0; b < n / QK_K; ++b, x += QK_K) {
    float s[16];
    for (int j = 0; j < 16; ++j) s[j] = fit_symmetric(x + 16 * j, 16, 4, 3);
    int sc[16];
    const float d = quantize_signed_scales(s, 32, 31, &y[b].d, sc);
    uint8_t biased[16], low[256];
    std::memset(y[b].hmask, 0, sizeof(y[b].hmask));
    for (int j = 0; j < 16; ++j) {
      biased[j] = uint8_t(sc[j] + 32);
      const float scale = d * float(sc[j]);
      const float inv = scale != 0 ? 1.0f / scale : 0.0f;
      for (int e = 16 * j; e < 16 * j + 16; ++e) {
        const int q = std::clamp(nearest_int(x[e] * inv), -4, 3) + 4;  // 0..7
        low[e] = uint8_t(q & 3);
        y[b].hmask[e % 32] |= uint8_t((q >> 2) << (e / 32));
      }
    }
    pack_scales_q3_K(biased, y[b].scales);
    pack_2bit_planes(low, y[b].qs);
  }
}

void dequantize_q3_K(const block_q3_K* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / QK_K; ++b, y += QK_K) {
    const float d = fp16_to_fp32(x[b].d);
    uint8_t biased[16], low[256];
    unpack_scales_q3_K(x[b].scales, biased);
    unpack_2bit_planes(x[b].qs, low);
    for (int e = 0; e < 256; ++e) {
      const bool high = (x[b].hmask[e % 32] >> (e / 32)) & 1;
      const int q = int(low[e]) - (high ? 0 : 4);
      y[e] = d * float(int(biased[e / 16]) - 32) * float(q);
    }
  }
}

void quantize_q6_K(const float* x, block_q6_K* y, int64_t n) {
  for (int64_t b = 0; b < n / QK_K; ++b, x += QK_K) {
    float s[16];
    for (int j = 0; j < 16; ++j) s[j] = fit_symmetric(x + 16 * j, 16, 32, 31);
    int sc[16];
    const float d = quantize_signed_scales(s, 128, 127, &y[b].d, sc);
    uint8_t q[256];
    for (int j = 0; j < 16; ++j) {
      y[b].scales[j] = int8_t(sc[j]);
      const float scale = d * float(sc[j]);
      const float inv = scale != 0 ? 1.0f / scale : 0.0f;
      for (int e = 16 * j; e < 16 * j + 16; ++e) {
        q[e] = uint8_t(std::clamp(nearest_int(x[e] * inv), -32, 31) + 32);
      }
    }
    for (int h = 0; h < 2; ++h) {
      const uint8_t* half_q = q + 128 * h;
      uint8_t* ql = y[b].ql + 64 * h;
      uint8_t* qh = y[b].qh + 32 * h;
      for (int l = 0; l < 32; ++l) {
        ql[l] = uint8_t((half_q[l] & 0x0f) | ((half_q[64 + l] & 0x0f) << 4));
        ql[32 + l] = uint8_t((half_q[32 + l] & 0x0f) | ((half_q[96 + l] & 0x0f) << 4));
        qh[l] = uint8_t((half_q[l] >> 4) | ((half_q[32 + l] >> 4) << 2) | ((half_q[64 + l] >> 4) << 4) |
                        ((half_q[96 + l] >> 4) << 6));
      }
    }
  }
}

void dequantize_q6_K(const block_q6_K* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / QK_K; ++b, y += QK_K) {
    const float d = fp16_to_fp32(x[b].d);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = x[b].ql + 64 * h;
      const uint8_t* qh = x[b].qh + 32 * h;
      float* out = y + 128 * h;
      const int8_t* sc = x[b].scales + 8 * h;
      for (int l = 0; l < 32; ++l) {
        const int q0 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q1 = ((ql[32 + l] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q3 = ((ql[32 + l] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        out[l] = d * float(sc[l / 16]) * float(q0);
        out[32 + l] = d * float(sc[2 + l / 16]) * float(q1);
        out[64 + l] = d * float(sc[4 + l / 16]) * float(q2);
        out[96 + l] = d * float(sc[6 + l / 16]) * float(q3);
      }
    }
  }
}

}  // namespace lp::quant
