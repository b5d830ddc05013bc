// Reference dot product Q8_0 x Q8_0: per block of 32, x = d * q with q in -127..127.
#include "kernels/ref/ref_common.h"
#include "kernels/tiers.h"
#include "quant/blocks.h"

namespace lp::ref {
namespace {

float vec_dot_q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q8_0*>(w);
  const auto* y = static_cast<const block_q8_0*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / QK8_0; ++i) {
    int32_t sumi = 0;
    for (int l = 0; l < QK8_0; ++l) sumi += x[i].qs[l] * y[i].qs[l];
    sum += fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d) * float(sumi);
  }
  return sum;
}

}  // namespace

void fill_vec_dot_q8(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q8_0)] = vec_dot_q8_0;
  t.gemm[uint32_t(TensorType::Q8_0)] = gemm_by_vec_dot<vec_dot_q8_0>;
}

}  // namespace lp::ref
