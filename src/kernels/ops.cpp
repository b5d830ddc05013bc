// Element-wise forward-pass ops and RoPE. Built without -m flags: the loops are written so that
// the compiler vectorizes them with SSE2 (independent partial sums instead of one serial float
// reduction, branch-free selects, a polynomial exp instead of the libm call).
#include <algorithm>
#include <cmath>

#include "kernels/ops.h"
#include "kernels/ops_internal.h"
#include "llamaprof/error.h"

namespace lp {

void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    const float mean_sq = ops_detail::dot(xr, xr, n) / float(n);
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

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + ops_detail::exp_approx(-g)) * up[i];
  }
}

void add(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void convert_f32_to_f16(const float* x, fp16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

void convert_f16_to_f32(const fp16_t* x, float* y, int64_t n) { ops_detail::f16_to_f32(x, y, n); }

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
  for (int64_t r = 0; r < n_rows; ++r) {
    float theta = float(p0 + r);
    for (int k = 0; k < half; ++k) {
      const float t = theta * params.freq_scale;
      cos_t[k] = std::cos(t);
      sin_t[k] = std::sin(t);
      theta *= theta_scale;
    }
    float* row = x + r * row_stride;
    for (int h = 0; h < n_head; ++h) {
      float* v = row + int64_t(h) * head_dim;
      if (params.layout == RopeLayout::Normal) {
        for (int k = 0; k < half; ++k) {
          const float a = v[2 * k], b = v[2 * k + 1];
          v[2 * k] = a * cos_t[k] - b * sin_t[k];
          v[2 * k + 1] = a * sin_t[k] + b * cos_t[k];
        }
      } else {
        for (int k = 0; k < half; ++k) {
          const float a = v[k], b = v[k + half];
          v[k] = a * cos_t[k] - b * sin_t[k];
          v[k + half] = a * sin_t[k] + b * cos_t[k];
        }
      }
    }
  }
}

}  // namespace lp
