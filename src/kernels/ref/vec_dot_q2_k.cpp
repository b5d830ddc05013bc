// Reference dot product Q2_K x Q8_K. A Q2_K block holds 256 elements in 16 sub-blocks of 16:
// x = d * (scales[s] & 0xf) * q - dmin * (scales[s] >> 4), q two bits. Element 128*h + 32*j + l
// (h < 2, j < 4, l < 32) is bits 2j..2j+1 of qs[32*h + l], in sub-block 8*h + 2*j + l / 16.
#include "kernels/ref/ref_common.h"
#include "kernels/tiers.h"
#include "quant/blocks.h"

namespace lp::ref {
namespace {

float vec_dot_q2_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q2_K*>(w);
  const auto* y = static_cast<const block_q8_K*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int32_t sum_q = 0;  // sum over sub-blocks of scale * sum(q * a)
    int32_t sum_m = 0;  // sum over sub-blocks of min * sum(a): Q8_K's bsums are those sums
    for (int s = 0; s < 16; ++s) sum_m += (x[i].scales[s] >> 4) * y[i].bsums[s];
    for (int h = 0; h < 2; ++h) {
      for (int j = 0; j < 4; ++j) {
        for (int half = 0; half < 2; ++half) {
          int32_t dot = 0;
          for (int l = 16 * half; l < 16 * half + 16; ++l) {
            dot += ((x[i].qs[32 * h + l] >> (2 * j)) & 3) * y[i].qs[128 * h + 32 * j + l];
          }
          sum_q += (x[i].scales[8 * h + 2 * j + half] & 0xf) * dot;
        }
      }
    }
    sum += y[i].d * (fp16_to_fp32(x[i].d) * float(sum_q) - fp16_to_fp32(x[i].dmin) * float(sum_m));
  }
  return sum;
}

}  // namespace

void fill_vec_dot_q2_k(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q2_K)] = vec_dot_q2_k;
  t.gemm[uint32_t(TensorType::Q2_K)] = gemm_by_vec_dot<vec_dot_q2_k>;
}

}  // namespace lp::ref
