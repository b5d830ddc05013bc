// Reference dot products of the legacy 5-bit types: Q5_0 x Q8_0 and Q5_1 x Q8_1.
// Per block of 32: the low four bits as in Q4_*, bit 4 of element j is bit j of qh (little-endian
// uint32). Q5_0 x = d * (q - 16); Q5_1 x = d * q + m.
#include <cstring>

#include "kernels/ref/ref_common.h"
#include "kernels/tiers.h"
#include "quant/blocks.h"

namespace lp::ref {
namespace {

// The 32 five-bit quants of one block, in element order.
void unpack_q5(const uint8_t* qs, const uint8_t* qh_bytes, int q[32]) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  for (int l = 0; l < 16; ++l) {
    q[l] = (qs[l] & 0xf) | int(((qh >> l) & 1) << 4);
    q[l + 16] = (qs[l] >> 4) | int(((qh >> (l + 16)) & 1) << 4);
  }
}

float vec_dot_q5_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q5_0*>(w);
  const auto* y = static_cast<const block_q8_0*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / QK5_0; ++i) {
    int q[32];
    unpack_q5(x[i].qs, x[i].qh, q);
    int32_t sumi = 0;
    for (int l = 0; l < 32; ++l) sumi += (q[l] - 16) * y[i].qs[l];
    sum += fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d) * float(sumi);
  }
  return sum;
}

float vec_dot_q5_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q5_1*>(w);
  const auto* y = static_cast<const block_q8_1*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / QK5_1; ++i) {
    int q[32];
    unpack_q5(x[i].qs, x[i].qh, q);
    int32_t sumi = 0;
    for (int l = 0; l < 32; ++l) sumi += q[l] * y[i].qs[l];
    sum += fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d) * float(sumi) +
           fp16_to_fp32(x[i].m) * fp16_to_fp32(y[i].s);
  }
  return sum;
}

}  // namespace

void fill_vec_dot_q5(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q5_0)] = vec_dot_q5_0;
  t.vec_dot[uint32_t(TensorType::Q5_1)] = vec_dot_q5_1;
  t.gemm[uint32_t(TensorType::Q5_0)] = gemm_by_vec_dot<vec_dot_q5_0>;
  t.gemm[uint32_t(TensorType::Q5_1)] = gemm_by_vec_dot<vec_dot_q5_1>;
}

}  // namespace lp::ref
