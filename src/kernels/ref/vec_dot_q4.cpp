// Reference dot products of the legacy 4-bit types: Q4_0 x Q8_0 and Q4_1 x Q8_1.
// Per block of 32: Q4_0 x = d * (q - 8); Q4_1 x = d * q + m; low nibbles hold elements 0-15,
// high nibbles 16-31. Q8_1 carries s = d * sum(q), which the Q4_1 min term needs.
#include "kernels/ref/ref_common.h"
#include "kernels/tiers.h"
#include "quant/blocks.h"

namespace lp::ref {
namespace {

float vec_dot_q4_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q4_0*>(w);
  const auto* y = static_cast<const block_q8_0*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / QK4_0; ++i) {
    int32_t sumi = 0;
    for (int l = 0; l < QK4_0 / 2; ++l) {
      sumi += ((x[i].qs[l] & 0xf) - 8) * y[i].qs[l];
      sumi += ((x[i].qs[l] >> 4) - 8) * y[i].qs[l + QK4_0 / 2];
    }
    sum += fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d) * float(sumi);
  }
  return sum;
}

float vec_dot_q4_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q4_1*>(w);
  const auto* y = static_cast<const block_q8_1*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / QK4_1; ++i) {
    int32_t sumi = 0;
    for (int l = 0; l < QK4_1 / 2; ++l) {
      sumi += (x[i].qs[l] & 0xf) * y[i].qs[l];
      sumi += (x[i].qs[l] >> 4) * y[i].qs[l + QK4_1 / 2];
    }
    sum += fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d) * float(sumi) +
           fp16_to_fp32(x[i].m) * fp16_to_fp32(y[i].s);
  }
  return sum;
}

}  // namespace

void fill_vec_dot_q4(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q4_0)] = vec_dot_q4_0;
  t.vec_dot[uint32_t(TensorType::Q4_1)] = vec_dot_q4_1;
  t.gemm[uint32_t(TensorType::Q4_0)] = gemm_by_vec_dot<vec_dot_q4_0>;
  t.gemm[uint32_t(TensorType::Q4_1)] = gemm_by_vec_dot<vec_dot_q4_1>;
}

}  // namespace lp::ref
