// Reference dot product Q3_K x Q8_K. A Q3_K block holds 256 elements in 16 sub-blocks of 16:
// x = d * (scale[s] - 32) * (q - 4 * !hbit), q two bits. Element 128*h + 32*j + l (h < 2, j < 4,
// l < 32) is bits 2j..2j+1 of qs[32*h + l] with its high bit at bit 4*h + j of hmask[l], in
// sub-block 8*h + 2*j + l / 16. The high bit set means "no -4".
#include "kernels/ref/ref_common.h"
#include "kernels/tiers.h"
#include "quant/blocks.h"

namespace lp::ref {
namespace {

float vec_dot_q3_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q3_K*>(w);
  const auto* y = static_cast<const block_q8_K*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int8_t scales[16];
    unpack_scales_q3_k(x[i].scales, scales);
    int32_t sum_q = 0;
    for (int h = 0; h < 2; ++h) {
      for (int j = 0; j < 4; ++j) {
        for (int half = 0; half < 2; ++half) {
          int32_t dot = 0;
          for (int l = 16 * half; l < 16 * half + 16; ++l) {
            const int low = (x[i].qs[32 * h + l] >> (2 * j)) & 3;
            const int high = (x[i].hmask[l] >> (4 * h + j)) & 1;
            dot += (low - (high ? 0 : 4)) * y[i].qs[128 * h + 32 * j + l];
          }
          sum_q += scales[8 * h + 2 * j + half] * dot;
        }
      }
    }
    sum += y[i].d * fp16_to_fp32(x[i].d) * float(sum_q);
  }
  return sum;
}

}  // namespace

void fill_vec_dot_q3_k(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q3_K)] = vec_dot_q3_k;
  t.gemm[uint32_t(TensorType::Q3_K)] = gemm_by_vec_dot<vec_dot_q3_k>;
}

}  // namespace lp::ref
