// Choosing the scale (and minimum) of one sub-block for the K-quants: a small search over candidate
// scales, each refined by a least-squares fit, keeping the lowest squared error. A candidate is
// accepted only if its worst element error stays within one step of the plain min/max choice, so
// the documented max-error bounds keep holding.
#pragma once

namespace lp::quant {

// x ~= scale * q - min with q in 0..nmax, scale >= 0, min >= 0 (the Q2_K / Q4_K / Q5_K form).
struct AffineFit {
  float scale;
  float min;
};
AffineFit fit_affine(const float* x, int n, int nmax);

// x ~= scale * q with q in -nneg..npos (the Q3_K / Q6_K form). The scale is signed: the element of
// largest magnitude gets the wide negative end.
float fit_symmetric(const float* x, int n, int nneg, int npos);

}  // namespace lp::quant
