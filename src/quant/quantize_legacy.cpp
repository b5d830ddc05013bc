// Reference quantize / dequantize of the legacy 32-element block types Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0 and Q8_1.
//
// Layout facts (GGUF / ggml block formats; all multi-byte fields little-endian):
//   Q4_0  {f16 d; u8 qs[16]}        x = d * (q - 8),  q in 0..15.
//   Q4_1  {f16 d; f16 m; u8 qs[16]} x = d * q + m,    q in 0..15.
//         qs[j] low nibble = element j, high nibble = element j + 16 (j = 0..15).
//   Q5_0  {f16 d; u8 qh[4]; u8 qs[16]}        x = d * (q - 16), q in 0..31.
//   Q5_1  {f16 d; f16 m; u8 qh[4]; u8 qs[16]} x = d * q + m,    q in 0..31.
//         The low 4 bits of q are placed as in Q4_0 (qs[j]: element j low, j + 16 high nibble);
//         bit 4 of element e (e = 0..31) is bit e of qh read as a little-endian uint32, i.e.
//         bit (e % 8) of qh[e / 8].
//   Q8_0  {f16 d; i8 qs[32]}        x = d * q.
//   Q8_1  {f16 d; f16 s; i8 qs[32]} x = d * q, s = d * sum(q) (the activation type of Q4_1/Q5_1:
//         their dot product needs sum(activation) to apply the block minimum m).
//
// Quantizers quantize with the fp16-rounded scale actually stored, so the stored scale and the
// quants agree exactly.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/fp16.h"
#include "quant/quantize_rows.h"
#include "quant/rounding.h"

namespace lp::quant {
namespace {

// The element of largest magnitude, with its sign.
float signed_absmax(const float* x, int n) {
  float amax = 0.0f, value = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      value = x[j];
    }
  }
  return value;
}

float absmax(const float* x, int n) {
  float amax = 0.0f;
  for (int j = 0; j < n; ++j) amax = std::max(amax, std::fabs(x[j]));
  return amax;
}

// Stores d as fp16 (saturating at the largest finite half, so a huge input never produces an
// infinite scale or minimum) and returns the value a reader will see.
float store_half(float d, fp16_t* out) {
  *out = fp32_to_fp16(std::clamp(d, -65504.0f, 65504.0f));
  return fp16_to_fp32(*out);
}

float inverse_or_zero(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

// Symmetric 2^bits-level quantization: the element of largest magnitude maps exactly to -2^(bits-1)
// (using the sign lets the dominant side use the full negative range). Writes q in 0..2^bits-1.
float quantize_symmetric(const float* x, int bits, uint8_t* q, fp16_t* d_out) {
  const int half = 1 << (bits - 1);
  const float d = store_half(signed_absmax(x, 32) / float(-half), d_out);
  const float id = inverse_or_zero(d);
  for (int j = 0; j < 32; ++j) q[j] = uint8_t(std::clamp(nearest_int(x[j] * id) + half, 0, 2 * half - 1));
  return d;
}

// Asymmetric quantization over [min, max]: x = d * q + m with q in 0..2^bits-1.
void quantize_affine(const float* x, int bits, uint8_t* q, fp16_t* d_out, fp16_t* m_out) {
  const int qmax = (1 << bits) - 1;
  float lo = x[0], hi = x[0];
  for (int j = 1; j < 32; ++j) {
    lo = std::min(lo, x[j]);
    hi = std::max(hi, x[j]);
  }
  const float d = store_half((hi - lo) / float(qmax), d_out);
  const float m = store_half(lo, m_out);
  const float id = inverse_or_zero(d);
  for (int j = 0; j < 32; ++j) q[j] = uint8_t(std::clamp(nearest_int((x[j] - m) * id), 0, qmax));
}

// qs[j] = element j in the low nibble, element j + 16 in the high nibble.
void pack_nibbles(const uint8_t* q, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = uint8_t((q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4));
}

// Bit e of the little-endian uint32 in qh = bit 4 of element e.
void pack_high_bits(const uint8_t* q, uint8_t* qh) {
  std::memset(qh, 0, 4);
  for (int e = 0; e < 32; ++e) qh[e / 8] |= uint8_t(((q[e] >> 4) & 1) << (e % 8));
}

// Inverse of pack_nibbles (+ pack_high_bits when qh is given).
void unpack_quants(const uint8_t* qs, const uint8_t* qh, uint8_t* q) {
  for (int j = 0; j < 16; ++j) {
    q[j] = qs[j] & 0x0f;
    q[j + 16] = qs[j] >> 4;
  }
  if (qh) {
    for (int e = 0; e < 32; ++e) q[e] |= uint8_t(((qh[e / 8] >> (e % 8)) & 1) << 4);
  }
}

// Q8_0 / Q8_1 share the quants: d = absmax / 127, q = round(x / d) in -127..127.
// The quants divide by the unrounded d (only the stored scale is fp16), as llama.cpp does: the
// activations both engines feed the integer dot products are then the same bytes, which the
// parity tests against llama.cpp need. Returns the unrounded d (Q8_1's sum uses it).
float quantize_int8(const float* x, int8_t* qs, fp16_t* d_out) {
  const float d = absmax(x, 32) / 127.0f;
  store_half(d, d_out);
  const float id = inverse_or_zero(d);
  for (int j = 0; j < 32; ++j) qs[j] = int8_t(std::clamp(nearest_int(x[j] * id), -127, 127));
  return d;
}

}  // namespace

void quantize_q4_0(const float* x, block_q4_0* y, int64_t n) {
  for (int64_t b = 0; b < n / QK4_0; ++b, x += QK4_0) {
    uint8_t q[32];
    quantize_symmetric(x, 4, q, &y[b].d);
    pack_nibbles(q, y[b].qs);
  }
}

void dequantize_q4_0(const block_q4_0* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / QK4_0; ++b, y += QK4_0) {
    uint8_t q[32];
    unpack_quants(x[b].qs, nullptr, q);
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < 32; ++j) y[j] = d * float(int(q[j]) - 8);
  }
}

void quantize_q4_1(const float* x, block_q4_1* y, int64_t n) {
  for (int64_t b = 0; b < n / QK4_1; ++b, x += QK4_1) {
    uint8_t q[32];
    quantize_affine(x, 4, q, &y[b].d, &y[b].m);
    pack_nibbles(q, y[b].qs);
  }
}

void dequantize_q4_1(const block_q4_1* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / QK4_1; ++b, y += QK4_1) {
    uint8_t q[32];
    unpack_quants(x[b].qs, nullptr, q);
    const float d = fp16_to_fp32(x[b].d), m = fp16_to_fp32(x[b].m);
    for (int j = 0; j < 32; ++j) y[j] = d * float(q[j]) + m;
  }
}

void quantize_q5_0(const float* x, block_q5_0* y, int64_t n) {
  for (int64_t b = 0; b < n / QK5_0; ++b, x += QK5_0) {
    uint8_t q[32];
    quantize_symmetric(x, 5, q, &y[b].d);
    pack_nibbles(q, y[b].qs);
    pack_high_bits(q, y[b].qh);
  }
}

void dequantize_q5_0(const block_q5_0* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / QK5_0; ++b, y += QK5_0) {
    uint8_t q[32];
    unpack_quants(x[b].qs, x[b].qh, q);
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < 32; ++j) y[j] = d * float(int(q[j]) - 16);
  }
}

void quantize_q5_1(const float* x, block_q5_1* y, int64_t n) {
  for (int64_t b = 0; b < n / QK5_1; ++b, x += QK5_1) {
    uint8_t q[32];
    quantize_affine(x, 5, q, &y[b].d, &y[b].m);
    pack_nibbles(q, y[b].qs);
    pack_high_bits(q, y[b].qh);
  }
}

void dequantize_q5_1(const block_q5_1* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / QK5_1; ++b, y += QK5_1) {
    uint8_t q[32];
    unpack_quants(x[b].qs, x[b].qh, q);
    const float d = fp16_to_fp32(x[b].d), m = fp16_to_fp32(x[b].m);
    for (int j = 0; j < 32; ++j) y[j] = d * float(q[j]) + m;
  }
}

void quantize_q8_0(const float* x, block_q8_0* y, int64_t n) {
  for (int64_t b = 0; b < n / QK8_0; ++b, x += QK8_0) quantize_int8(x, y[b].qs, &y[b].d);
}

void dequantize_q8_0(const block_q8_0* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / QK8_0; ++b, y += QK8_0) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < 32; ++j) y[j] = d * float(x[b].qs[j]);
  }
}

void quantize_q8_1(const float* x, block_q8_1* y, int64_t n) {
  for (int64_t b = 0; b < n / QK8_1; ++b, x += QK8_1) {
    const float d = quantize_int8(x, y[b].qs, &y[b].d);
    int sum = 0;
    for (int j = 0; j < 32; ++j) sum += y[b].qs[j];
    y[b].s = fp32_to_fp16(d * float(sum));
  }
}

void dequantize_q8_1(const block_q8_1* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / QK8_1; ++b, y += QK8_1) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < 32; ++j) y[j] = d * float(x[b].qs[j]);
  }
}

}  // namespace lp::quant
