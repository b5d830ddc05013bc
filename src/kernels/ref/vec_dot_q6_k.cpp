// Reference dot product Q6_K x Q8_K. A Q6_K block holds 256 elements in 16 sub-blocks of 16:
// x = d * scales[s] * (q - 32), q six bits. In half h (128 elements; ql + 64h, qh + 32h), for
// l < 32: element +l is ql[l] low nibble with qh[l] bits 0-1 on top, +32 is ql[l+32] low nibble
// with bits 2-3, +64 is ql[l] high nibble with bits 4-5, +96 is ql[l+32] high nibble with bits 6-7.
#include "kernels/ref/ref_common.h"
#include "kernels/tiers.h"
#include "quant/blocks.h"

namespace lp::ref {
namespace {

float vec_dot_q6_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q6_K*>(w);
  const auto* y = static_cast<const block_q8_K*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int32_t sum_q = 0;
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = x[i].ql + 64 * h;
      const uint8_t* qh = x[i].qh + 32 * h;
      for (int part = 0; part < 4; ++part) {  // the four groups of 32 elements in this half
        const int ql_off = 32 * (part % 2), shift = 4 * (part / 2);
        for (int half = 0; half < 2; ++half) {
          int32_t dot = 0;
          for (int l = 16 * half; l < 16 * half + 16; ++l) {
            const int q = ((ql[l + ql_off] >> shift) & 0xf) | (((qh[l] >> (2 * part)) & 3) << 4);
            dot += (q - 32) * y[i].qs[128 * h + 32 * part + l];
          }
          sum_q += x[i].scales[8 * h + 2 * part + half] * dot;
        }
      }
    }
    sum += y[i].d * fp16_to_fp32(x[i].d) * float(sum_q);
  }
  return sum;
}

}  // namespace

void fill_vec_dot_q6_k(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q6_K)] = vec_dot_q6_k;
  t.gemm[uint32_t(TensorType::Q6_K)] = gemm_by_vec_dot<vec_dot_q6_k>;
}

}  // namespace lp::ref
