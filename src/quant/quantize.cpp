// quantize_row_ref / dequantize_row_ref: the per-type dispatch, the float types, and the named
// round-trip error bounds the tests assert.
#include "quant/quantize.h"

#include <cmath>
#include <cstring>
#include <string>

#include "llamaprof/error.h"
#include "quant/fp16.h"
#include "quant/quantize_rows.h"

namespace lp {
namespace {

void check_row(TensorType type, int64_t n) {
  const TypeTraits& t = type_traits(type);
  if (n < 0 || n % t.block_size != 0) {
    throw Error(ErrorKind::InvalidArgument, "row of " + std::to_string(n) + " elements is not a multiple of " +
                                                std::string(t.name) + "'s block size " +
                                                std::to_string(t.block_size));
  }
}

}  // namespace

void quantize_row_ref(TensorType type, const float* x, void* y, int64_t n) {
  check_row(type, n);
  using namespace quant;
  switch (type) {
    case TensorType::F32:
      std::memcpy(y, x, size_t(n) * sizeof(float));
      return;
    case TensorType::F16:
      for (int64_t i = 0; i < n; ++i) static_cast<fp16_t*>(y)[i] = fp32_to_fp16(x[i]);
      return;
    case TensorType::BF16:
      for (int64_t i = 0; i < n; ++i) static_cast<bf16_t*>(y)[i] = fp32_to_bf16(x[i]);
      return;
    case TensorType::Q4_0: return quantize_q4_0(x, static_cast<block_q4_0*>(y), n);
    case TensorType::Q4_1: return quantize_q4_1(x, static_cast<block_q4_1*>(y), n);
    case TensorType::Q5_0: return quantize_q5_0(x, static_cast<block_q5_0*>(y), n);
    case TensorType::Q5_1: return quantize_q5_1(x, static_cast<block_q5_1*>(y), n);
    case TensorType::Q8_0: return quantize_q8_0(x, static_cast<block_q8_0*>(y), n);
    case TensorType::Q8_1: return quantize_q8_1(x, static_cast<block_q8_1*>(y), n);
    case TensorType::Q2_K: return quantize_q2_K(x, static_cast<block_q2_K*>(y), n);
    case TensorType::Q3_K: return quantize_q3_K(x, static_cast<block_q3_K*>(y), n);
    case TensorType::Q4_K: return quantize_q4_K(x, static_cast<block_q4_K*>(y), n);
    case TensorType::Q5_K: return quantize_q5_K(x, static_cast<block_q5_K*>(y), n);
    case TensorType::Q6_K: return quantize_q6_K(x, static_cast<block_q6_K*>(y), n);
    case TensorType::Q8_K: return quantize_q8_K(x, static_cast<block_q8_K*>(y), n);
    case TensorType::Q4_K_R16: break;  // groups of 16 rows, not rows: quant/interleave.h
  }
  throw Error(ErrorKind::Unsupported, "no quantizer for tensor type id " + std::to_string(uint32_t(type)));
}

void dequantize_row_ref(TensorType type, const void* x, float* y, int64_t n) {
  check_row(type, n);
  using namespace quant;
  switch (type) {
    case TensorType::F32:
      std::memcpy(y, x, size_t(n) * sizeof(float));
      return;
    case TensorType::F16:
      for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_fp32(static_cast<const fp16_t*>(x)[i]);
      return;
    case TensorType::BF16:
      for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_fp32(static_cast<const bf16_t*>(x)[i]);
      return;
    case TensorType::Q4_0: return dequantize_q4_0(static_cast<const block_q4_0*>(x), y, n);
    case TensorType::Q4_1: return dequantize_q4_1(static_cast<const block_q4_1*>(x), y, n);
    case TensorType::Q5_0: return dequantize_q5_0(static_cast<const block_q5_0*>(x), y, n);
    case TensorType::Q5_1: return dequantize_q5_1(static_cast<const block_q5_1*>(x), y, n);
    case TensorType::Q8_0: return dequantize_q8_0(static_cast<const block_q8_0*>(x), y, n);
    case TensorType::Q8_1: return dequantize_q8_1(static_cast<const block_q8_1*>(x), y, n);
    case TensorType::Q2_K: return dequantize_q2_K(static_cast<const block_q2_K*>(x), y, n);
    case TensorType::Q3_K: return dequantize_q3_K(static_cast<const block_q3_K*>(x), y, n);
    case TensorType::Q4_K: return dequantize_q4_K(static_cast<const block_q4_K*>(x), y, n);
    case TensorType::Q5_K: return dequantize_q5_K(static_cast<const block_q5_K*>(x), y, n);
    case TensorType::Q6_K: return dequantize_q6_K(static_cast<const block_q6_K*>(x), y, n);
    case TensorType::Q8_K: return dequantize_q8_K(static_cast<const block_q8_K*>(x), y, n);
    case TensorType::Q4_K_R16: break;  // groups of 16 rows, not rows: quant/interleave.h
  }
  throw Error(ErrorKind::Unsupported, "no dequantizer for tensor type id " + std::to_string(uint32_t(type)));
}

namespace {

// K-quant bound for the affine forms (Q2_K, Q4_K, Q5_K): q in 0..nmax, sub-block scale and min
// quantized to scale_levels steps of the super-block d / dmin. With A = max |x|:
//   - the sub-block range is at most 2A, so the plain step is 2A / nmax, and scale_fit.cpp accepts
//     only fits whose worst error is within one plain step: 2A / nmax;
//   - a fitted scale is at most 2A / (nmax - 1) (the smallest candidate level count), so rounding it
//     to a multiple of d = max_scale / scale_levels moves the range end by <= nmax * d / 2;
//   - the min is at most ~A, rounding it to a multiple of dmin moves everything by <= A / (2 levels).
double affine_k_bound(int nmax, int scale_levels) {
  return 2.0 / nmax + nmax * (2.0 / (nmax - 1)) / (2.0 * scale_levels) + 1.0 / (2.0 * scale_levels);
}

// Symmetric forms (Q3_K, Q6_K): q in -nneg..nneg-1, the largest element maps exactly to -nneg, so
// the plain worst error is one step A / nneg (its opposite clamps at nneg - 1) and scale_fit.cpp
// keeps fits within that; a fitted scale is at most A / (nneg - 1), and the signed super-block
// scale d = max_scale / -scale_levels clamps an opposite-sign scale by up to one step of d, which
// moves the range end by <= nneg * d.
double symmetric_k_bound(int nneg, int scale_levels) {
  return 1.0 / nneg + nneg * (1.0 / (nneg - 1)) / scale_levels;
}

}  // namespace

// Bounds on max |x - dequant(quant(x))| in terms of the row's max |x| (A); rms is not needed by any
// of them (each scales with the largest element of its block, which is <= A). They hold for
// A <= 65504, the largest finite fp16 (the Q4_1 / Q5_1 minimum is an fp16 value). Quantized types add
// kFp16Slack * A for the fp16 rounding of the stored scales and kSubnormalSlack absolute for data
// so small that a scale lands among the fp16 subnormals.
//   F16   : relative 2^-11 for normals, plus half the smallest subnormal (2^-25) absolute.
//   BF16  : relative 2^-8 (8 significant bits, round to nearest even).
//   Q8_0/Q8_1/Q8_K: half a step, step = A/127.
//   Q4_0 / Q5_0 : the largest-magnitude element maps exactly to -8 / -16, so its opposite value
//                 clamps at +7 / +15: worst error is one full step, A/8 / A/16.
//   Q4_1 / Q5_1 : half a step of (max - min) / 15 or 31, i.e. A/15, A/31.
//   K-quants    : affine_k_bound / symmetric_k_bound above (Q2_K 0.80, Q3_K 0.30, Q4_K 0.158,
//                 Q5_K 0.089, Q6_K 0.040).
double roundtrip_error_bound(TensorType type, double max_abs, double /*rms*/) {
  constexpr double kFp16Slack = 0x1p-9;
  constexpr double kSubnormalSlack = 0x1p-17;
  const double a = max_abs;
  auto quantized = [&](double fraction) { return a * (fraction + kFp16Slack) + kSubnormalSlack; };
  switch (type) {
    case TensorType::F32: return 0.0;
    case TensorType::F16: return a * 0x1p-11 + 0x1p-25;
    case TensorType::BF16: return a * 0x1p-8;
    case TensorType::Q8_0:
    case TensorType::Q8_1:
    case TensorType::Q8_K: return quantized(0.5 / 127);
    case TensorType::Q4_0: return quantized(1.0 / 8);
    case TensorType::Q5_0: return quantized(1.0 / 16);
    case TensorType::Q4_1: return quantized(1.0 / 15);
    case TensorType::Q5_1: return quantized(1.0 / 31);
    case TensorType::Q2_K: return quantized(affine_k_bound(3, 15));
    case TensorType::Q3_K: return quantized(symmetric_k_bound(4, 32));
    case TensorType::Q4_K: return quantized(affine_k_bound(15, 63));
    case TensorType::Q5_K: return quantized(affine_k_bound(31, 63));
    case TensorType::Q6_K: return quantized(symmetric_k_bound(32, 128));
    case TensorType::Q4_K_R16: return quantized(affine_k_bound(15, 63));  // Q4_K's values, reordered
  }
  throw Error(ErrorKind::Unsupported, "no error bound for tensor type id " + std::to_string(uint32_t(type)));
}

}  // namespace lp
