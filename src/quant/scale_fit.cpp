#include "quant/scale_fit.h"

#include <algorithm>
#include <cmath>

#include "quant/rounding.h"

namespace lp::quant {
namespace {

// Candidate inverse scales are (levels + k * kStep) / range for k = -kSteps..kSteps.
constexpr int kSteps = 4;
constexpr float kStep = 0.25f;

struct Score {
  double sse;
  float max_err;
};

Score score_affine(const float* x, int n, int nmax, float scale, float min) {
  const float inv = scale > 0 ? 1.0f / scale : 0.0f;
  Score s{0.0, 0.0f};
  for (int i = 0; i < n; ++i) {
    const int q = std::clamp(nearest_int((x[i] + min) * inv), 0, nmax);
    const float err = std::fabs(scale * float(q) - min - x[i]);
    s.sse += double(err) * err;
    s.max_err = std::max(s.max_err, err);
  }
  return s;
}

Score score_symmetric(const float* x, int n, int nneg, int npos, float scale) {
  const float inv = scale != 0 ? 1.0f / scale : 0.0f;
  Score s{0.0, 0.0f};
  for (int i = 0; i < n; ++i) {
    const int q = std::clamp(nearest_int(x[i] * inv), -nneg, npos);
    const float err = std::fabs(scale * float(q) - x[i]);
    s.sse += double(err) * err;
    s.max_err = std::max(s.max_err, err);
  }
  return s;
}

}  // namespace

AffineFit fit_affine(const float* x, int n, int nmax) {
  // The minimum is stored as a non-negative offset, so the range always includes 0.
  float lo = 0.0f, hi = x[0];
  for (int i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (!(hi > lo)) return {0.0f, -lo};

  AffineFit best{(hi - lo) / float(nmax), -lo};
  const float step_limit = best.scale;  // the plain choice's worst error is half of this
  Score best_score = score_affine(x, n, nmax, best.scale, best.min);

  for (int k = -kSteps; k <= kSteps; ++k) {
    const float iscale = (float(nmax) + float(k) * kStep) / (hi - lo);
    // Least squares for x ~= s * q + off with these q: solve the 2x2 normal equations.
    double sq = 0, sqq = 0, sx = 0, sqx = 0;
    for (int i = 0; i < n; ++i) {
      const double q = std::clamp(nearest_int((x[i] - lo) * iscale), 0, nmax);
      sq += q;
      sqq += q * q;
      sx += x[i];
      sqx += q * x[i];
    }
    const double det = n * sqq - sq * sq;
    if (det <= 0) continue;
    double s = (n * sqx - sq * sx) / det;
    double off = (sqq * sx - sq * sqx) / det;
    if (off > 0) {  // the offset must be <= 0: refit the scale alone
      off = 0;
      s = sqq > 0 ? sqx / sqq : 0;
    }
    if (s <= 0) continue;
    const AffineFit cand{float(s), float(-off)};
    const Score sc = score_affine(x, n, nmax, cand.scale, cand.min);
    if (sc.sse < best_score.sse && sc.max_err <= step_limit) {
      best = cand;
      best_score = sc;
    }
  }
  return best;
}

float fit_symmetric(const float* x, int n, int nneg, int npos) {
  float amax = 0.0f, maxv = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      maxv = x[i];
    }
  }
  if (amax == 0.0f) return 0.0f;

  float best = maxv / float(-nneg);
  const float step_limit = std::fabs(best);  // the plain choice's worst error (clamp at npos)
  Score best_score = score_symmetric(x, n, nneg, npos, best);
  for (int k = -kSteps; k <= kSteps; ++k) {
    const float iscale = -(float(nneg) + float(k) * kStep) / maxv;
    double sqq = 0, sqx = 0;
    for (int i = 0; i < n; ++i) {
      const double q = std::clamp(nearest_int(x[i] * iscale), -nneg, npos);
      sqq += q * q;
      sqx += q * x[i];
    }
    if (sqq <= 0) continue;
    const float cand = float(sqx / sqq);
    const Score sc = score_symmetric(x, n, nneg, npos, cand);
    if (sc.sse < best_score.sse && sc.max_err <= step_limit) {
      best = cand;
      best_score = sc;
    }
  }
  return best;
}

}  // namespace lp::quant
