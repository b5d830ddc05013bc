// Element-wise forward-pass ops and RoPE. Built without -m flags: the loops are written so that
// the compiler vectorizes them with SSE2 (independent partial sums instead of one serial float
// reduction, branch-free selects, a polynomial exp instead of the libm call).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>

#include "kernels/ops.h"
#include "kernels/ops_internal.h"
#include "llamaprof/error.h"

namespace lp {

void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    // The mean square in double (float squares, summed in order), then rounded to float: this is
    // llama.cpp's arithmetic, so both engines scale a row by the same float. The sum costs little
    // next to the mat-muls, and a last-bit difference here can flip the 8-bit rounding of the
    // quantized activations that the next mat-muls read.
    double sum_sq = 0.0;
    for (int64_t i = 0; i < n; ++i) sum_sq += double(xr[i] * xr[i]);
    const float mean_sq = float(sum_sq / double(n));
    const float inv = 1.0f / std::sqrt(mean_sq + eps);
    for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * inv * w[i];
  }
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  const float m = ops_detail::max_of(x, n);
  float sum = 0;
  {
    constexpr int kLanes = ops_detail::kLanes;
    float part[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
      for (int j = 0; j < kLanes; ++j) {
        x[i + j] = ops_detail::exp_approx(x[i + j] - m);
        part[j] += x[i + j];
      }
    }
    for (; i < n; ++i) {
      x[i] = ops_detail::exp_approx(x[i] - m);
      sum += x[i];
    }
    for (int j = 0; j < kLanes; ++j) sum += part[j];
  }
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

namespace {

// exp(x) for SiLU, rounded the way llama.cpp's CPU SIMD SiLU rounds it (the approximation of Arm's
// optimized-routines expf: 2^n by the exponent, exp of the remainder b = x - n ln2 by a degree-5
// polynomial in Estrin form, every step one fused multiply-add; max error ~1.5 ulp). The gate of
// the feed-forward block goes through it, and its output is quantized to 8 bits for the down
// projection, where a last-bit difference flips a rounding now and then; so we use the very same
// steps instead of our own exp. |n| > 192: 0 below, infinity above.
static inline float exp_for_silu(float x) {
  const float shift = 0x1.8p23f;
  const float n = std::fma(x, 0x1.715476p+0f, shift) - shift;  // round(x / ln2)
  const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x));
  const float u = b * b;
  const float j = std::fma(std::fma(std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                                    std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                           u, std::fma(0x1.ffffecp-1f, b, 1.0f));
  if (n >= -125.0f && n <= 127.0f) {  // j * 2^n is normal (j < 2): add n to the exponent, exactly
    uint32_t bits;
    std::memcpy(&bits, &j, 4);
    bits += uint32_t(int32_t(n)) << 23;
    float r;
    std::memcpy(&r, &bits, 4);
    return r;
  }
  if (std::fabs(n) > 192.0f) return n <= 0.0f ? 0.0f : INFINITY;
  return std::ldexp(j, int(n));  // exact scaling by 2^n (rounded once if the result is subnormal)
}

static inline void silu_mul_rows(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + exp_for_silu(-g)) * up[i];
  }
}

#if defined(__x86_64__)
// Same arithmetic; the target lets std::fma be one instruction instead of a libm call.
__attribute__((target("avx2,fma"))) void silu_mul_fma(const float* gate, const float* up, float* out, int64_t n) {
  silu_mul_rows(gate, up, out, n);
}
#endif

}  // namespace

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
#if defined(__x86_64__)
  static const bool has_fma = __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2");
  if (has_fma) {
    silu_mul_fma(gate, up, out, n);
    return;
  }
#endif
  silu_mul_rows(gate, up, out, n);
}

namespace {

// GELU (tanh form) of every F16 value, as F16: llama.cpp's CPU table (ggml_table_gelu_f16), built
// the same way, on first use. Its compiler contracts 1 + 0.044715 x^2 into one fused multiply-add
// (one of the 65536 entries differs otherwise: tests/cpp/kernels_ggml_activations.cpp).
const fp16_t* gelu_f16_table() {
  static const std::unique_ptr<fp16_t[]> table = [] {
    auto t = std::make_unique<fp16_t[]>(65536);
    for (uint32_t i = 0; i < 65536; ++i) {
      const float x = fp16_to_fp32(fp16_t(i));
      const float inner = std::fma(0.044715f * x, x, 1.0f);
      const float y = 0.5f * x * (1.0f + std::tanh(0.79788456080286535587989211986876f * x * inner));
      t[i] = fp32_to_fp16(y);
    }
    return t;
  }();
  return table.get();
}

}  // namespace

void gelu_tanh_mul(const float* gate, const float* up, float* out, int64_t n) {
  const fp16_t* table = gelu_f16_table();
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    if (g <= -10.0f) {
      out[i] = 0.0f;
    } else if (g >= 10.0f) {
      out[i] = g * up[i];
    } else {
      out[i] = fp16_to_fp32(table[fp32_to_fp16(g)]) * up[i];
    }
  }
}

void softcap(float* x, int64_t n, float cap) {
  // Three steps as llama.cpp's graph: scale by 1/cap, tanh, scale by cap.
  const float inv = 1.0f / cap;
  for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i] * inv) * cap;
}

void add(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void convert_f32_to_f16(const float* x, fp16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

void convert_f16_to_f32(const fp16_t* x, float* y, int64_t n) { ops_detail::f16_to_f32(x, y, n); }

namespace {

// Rotates the first 2 * half dimensions of each head of a row (see rope()). Each output is one
// fused multiply-add over the other product, rounded once, as llama.cpp's CPU build computes it
// (its compiler contracts a * c - b * s into fma(a, c, -(b * s)) and a * s + b * c into
// fma(a, s, b * c)): the rotated K and Q then carry the same last bits in both engines, and
// the 8-bit activation rounding downstream sees the same values.
static inline void rotate_row(float* row, int n_head, int head_dim, int half, RopeLayout layout,
                              const float* cos_t, const float* sin_t) {
  for (int h = 0; h < n_head; ++h) {
    float* v = row + int64_t(h) * head_dim;
    if (layout == RopeLayout::Normal) {
      for (int k = 0; k < half; ++k) {
        const float a = v[2 * k], b = v[2 * k + 1];
        v[2 * k] = std::fma(a, cos_t[k], -(b * sin_t[k]));
        v[2 * k + 1] = std::fma(a, sin_t[k], b * cos_t[k]);
      }
    } else {
      for (int k = 0; k < half; ++k) {
        const float a = v[k], b = v[k + half];
        v[k] = std::fma(a, cos_t[k], -(b * sin_t[k]));
        v[k + half] = std::fma(a, sin_t[k], b * cos_t[k]);
      }
    }
  }
}

#if defined(__x86_64__)
// Same arithmetic; the target makes std::fma one instruction instead of a libm call.
__attribute__((target("avx2,fma"))) void rotate_row_fma(float* row, int n_head, int head_dim, int half,
                                                         RopeLayout layout, const float* cos_t,
                                                         const float* sin_t) {
  rotate_row(row, n_head, head_dim, half, layout, cos_t, sin_t);
}
#endif

}  // namespace

void rope(float* x, int64_t n_rows, int64_t row_stride, int n_head, int head_dim, int p0,
          const RopeParams& params) {
  const int n_rot = params.n_rot;
  constexpr int kMaxRot = 1024;
  if (n_rot <= 0 || n_rot % 2 != 0 || n_rot > head_dim || n_rot > kMaxRot) {
    throw Error(ErrorKind::InvalidArgument, "rope: n_rot " + std::to_string(n_rot) +
                                                " must be even, positive and <= head_dim " +
                                                std::to_string(head_dim));
  }
  const int half = n_rot / 2;
  float cos_t[kMaxRot / 2], sin_t[kMaxRot / 2];
  // theta_k = p * freq_base^(-2k/n_rot) * freq_scale, computed the way llama.cpp does (a running
  // float product of theta_scale), so that the same file gives the same numbers.
  const float theta_scale = std::pow(params.freq_base, -2.0f / float(n_rot));
  // With frequency factors the angle is divided by f_k before freq_scale multiplies it, in that
  // order (llama.cpp's rope cache: rope_yarn(theta / ff, freq_scale, ...)). The loop over pairs
  // is chosen once per row, so rows without factors pay nothing.
  const float* ff = params.freq_factors;
  for (int64_t r = 0; r < n_rows; ++r) {
    float theta = float(p0 + r);
    if (ff) {
      for (int k = 0; k < half; ++k) {
        const float t = params.freq_scale * (theta / ff[k]);
        cos_t[k] = std::cos(t);
        sin_t[k] = std::sin(t);
        theta *= theta_scale;
      }
    } else {
      for (int k = 0; k < half; ++k) {
        const float t = theta * params.freq_scale;
        cos_t[k] = std::cos(t);
        sin_t[k] = std::sin(t);
        theta *= theta_scale;
      }
    }
    if (params.attn_factor != 1.0f) {
      for (int k = 0; k < half; ++k) cos_t[k] *= params.attn_factor, sin_t[k] *= params.attn_factor;
    }
    float* row = x + r * row_stride;
#if defined(__x86_64__)
    static const bool has_fma = __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2");
    if (has_fma) {
      rotate_row_fma(row, n_head, head_dim, half, params.layout, cos_t, sin_t);
      continue;
    }
#endif
    rotate_row(row, n_head, head_dim, half, params.layout, cos_t, sin_t);
  }
}

}  // namespace lp
