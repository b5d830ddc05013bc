// Reference dot product Q5_K x Q8_K: Q4_K plus a fifth bit per quant. Element 64*g + l (l < 32)
// has bit 2g of qh[l] as its bit 4, element 64*g + 32 + l has bit 2g + 1.
#include "kernels/ref/ref_common.h"
#include "kernels/tiers.h"
#include "quant/blocks.h"

namespace lp::ref {
namespace {

float vec_dot_q5_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q5_K*>(w);
  const auto* y = static_cast<const block_q8_K*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    uint8_t scales[8], mins[8];
    unpack_scales_mins_k4(x[i].scales, scales, mins);
    int32_t sum_q = 0, sum_m = 0;
    for (int s = 0; s < 8; ++s) {
      const int g = s / 2, shift = 4 * (s % 2);
      int32_t dot = 0;
      for (int l = 0; l < 32; ++l) {
        const int q = ((x[i].qs[32 * g + l] >> shift) & 0xf) | (((x[i].qh[l] >> s) & 1) << 4);
        dot += q * y[i].qs[32 * s + l];
      }
      sum_q += scales[s] * dot;
      sum_m += mins[s] * (y[i].bsums[2 * s] + y[i].bsums[2 * s + 1]);
    }
    sum += y[i].d * (fp16_to_fp32(x[i].d) * float(sum_q) - fp16_to_fp32(x[i].dmin) * float(sum_m));
  }
  return sum;
}

}  // namespace

void fill_vec_dot_q5_k(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q5_K)] = vec_dot_q5_k;
  t.gemm[uint32_t(TensorType::Q5_K)] = gemm_by_vec_dot<vec_dot_q5_k>;
}

}  // namespace lp::ref
