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
  }
  throw Error(ErrorKind::Unsupported, "no dequantizer for tensor type id " + std::to_string(uint32_t(type)));
}

// Bounds on max |x - dequant(quant(x))| as a fraction of the row's max |x| (A); rms is not needed
// by any of them (every bound scales with the largest element of the block, which is <= A).
//   F16   : relative 2^-11 for normals, plus half the smallest subnormal (2^-25) absolute.
//   BF16  : relative 2^-8 (8 significant bits, round to nearest even).
//   Q8_0/Q8_1/Q8_K: half a step, step = A/127; fp16 d adds at most 127 * d * 2^-11.
//   Q4_0 / Q5_0 : the largest-magnitude element maps exactly to -8 / -16, so its opposite value
//                 clamps at +7 / +15: worst error is one full step, A/8 / A/16.
//   Q4_1 / Q5_1 : half a step of (max - min) / 15 or 31, i.e. A/15, A/31, plus fp16 rounding of m.
//   K-quants    : a fitted sub-block scale may leave the sub-block's extreme one plain step outside
//                 its range (scale_fit.cpp), and quantizing the sub-block scale and min to 6 (4 for
//                 Q2_K, 8 for Q6_K) bits moves the end of the range by nmax * d / 2 + dmin / 2.
//                 The constants below are that sum for the worst sub-block, rounded up.
double roundtrip_error_bound(TensorType type, double max_abs, double /*rms*/) {
  const double a = max_abs;
  switch (type) {
    case TensorType::F32: return 0.0;
    case TensorType::F16: return a * 0x1p-11 + 0x1p-25;
    case TensorType::BF16: return a * 0x1p-8;
    case TensorType::Q8_0:
    case TensorType::Q8_1: return a * (0.5 / 127 + 0x1p-10);
    case TensorType::Q8_K: return a * (0.5 / 127 + 0x1p-20);
    case TensorType::Q4_0: return a * (1.0 / 8 + 0x1p-8);
    case TensorType::Q5_0: return a * (1.0 / 16 + 0x1p-8);
    case TensorType::Q4_1: return a * (1.0 / 15 + 0x1p-8);
    case TensorType::Q5_1: return a * (1.0 / 31 + 0x1p-8);
    case TensorType::Q2_K: return a * 0.70;
    case TensorType::Q3_K: return a * 0.40;
    case TensorType::Q4_K: return a * 0.20;
    case TensorType::Q5_K: return a * 0.10;
    case TensorType::Q6_K: return a * 0.05;
  }
  throw Error(ErrorKind::Unsupported, "no error bound for tensor type id " + std::to_string(uint32_t(type)));
}

}  // namespace lp
