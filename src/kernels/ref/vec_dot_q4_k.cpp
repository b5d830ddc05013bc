// Reference dot product Q4_K x Q8_K. A Q4_K block holds 256 elements in 8 sub-blocks of 32:
// x = d * scale[s] * q - dmin * min[s], q four bits; element 64*g + l (l < 32) is the low nibble of
// qs[32*g + l], element 64*g + 32 + l its high nibble.
#include "kernels/ref/ref_common.h"
#include "kernels/tiers.h"
#include <vector>

#include "quant/blocks.h"
#include "quant/interleave.h"

namespace lp::ref {
namespace {

float vec_dot_q4_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q4_K*>(w);
  const auto* y = static_cast<const block_q8_K*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    uint8_t scales[8], mins[8];
    unpack_scales_mins_k4(x[i].scales, scales, mins);
    int32_t sum_q = 0, sum_m = 0;
    for (int s = 0; s < 8; ++s) {
      const int g = s / 2, shift = 4 * (s % 2);
      int32_t dot = 0;
      for (int l = 0; l < 32; ++l) dot += ((x[i].qs[32 * g + l] >> shift) & 0xf) * y[i].qs[32 * s + l];
      sum_q += scales[s] * dot;
      sum_m += mins[s] * (y[i].bsums[2 * s] + y[i].bsums[2 * s + 1]);
    }
    sum += y[i].d * (fp16_to_fp32(x[i].d) * float(sum_q) - fp16_to_fp32(x[i].dmin) * float(sum_m));
  }
  return sum;
}

// Q4_K_R16 (quant/interleave.h): each group of 16 rows back to Q4_K rows, then the Q4_K dot products.
// [r0, r1) starts and ends on group boundaries.
void gemm_q4_k_r16(int64_t n, int64_t r0, int64_t r1, const void* w, size_t w_row_bytes, const void* a,
                   size_t a_row_bytes, int64_t nb, float* c, int64_t ldc) {
  std::vector<uint8_t> rows(kQ4KR16Rows * w_row_bytes);
  for (int64_t r = r0; r < r1; r += kQ4KR16Rows) {
    deinterleave_q4_k_rows(static_cast<const uint8_t*>(w) + size_t(r) * w_row_bytes, rows.data(), kQ4KR16Rows, n);
    gemm_by_vec_dot<vec_dot_q4_k>(n, 0, kQ4KR16Rows, rows.data(), w_row_bytes, a, a_row_bytes, nb, c + r, ldc);
  }
}

}  // namespace

void fill_vec_dot_q4_k(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q4_K)] = vec_dot_q4_k;
  t.gemm[uint32_t(TensorType::Q4_K)] = gemm_by_vec_dot<vec_dot_q4_k>;
  t.gemm[uint32_t(TensorType::Q4_K_R16)] = gemm_q4_k_r16;
}

}  // namespace lp::ref
