// Reference dot product Q4_K x Q8_K. A Q4_K block holds 256 elements in 8 sub-blocks of 32:
// x = d * scale[s] * q - dmin * min[s], q four bits; element 64*g + l (l < 32) is the low nibble of
// qs[32*g + l], element 64*g + 32 + l its high nibble.
#include "kernels/ref/ref_common.h"
#include "kernels/tiers.h"
#include "quant/blocks.h"

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

}  // namespace

void fill_vec_dot_q4_k(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q4_K)] = vec_dot_q4_k;
  t.gemm[uint32_t(TensorType::Q4_K)] = gemm_by_vec_dot<vec_dot_q4_k>;
}

}  // namespace lp::ref
