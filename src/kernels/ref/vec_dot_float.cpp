// Reference dot products of the float types: F32 x F32, F16 x F16, BF16 x BF16 (the activation is
// converted to the weight's own format, see type_traits vec_dot_type).
#include "kernels/ref/ref_common.h"
#include "kernels/tiers.h"
#include "quant/fp16.h"

namespace lp::ref {
namespace {

float vec_dot_f32(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const float*>(w);
  const auto* y = static_cast<const float*>(a);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i]) * double(y[i]);
  return float(sum);
}

float vec_dot_f16(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const fp16_t*>(w);
  const auto* y = static_cast<const fp16_t*>(a);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(fp16_to_fp32(x[i])) * double(fp16_to_fp32(y[i]));
  return float(sum);
}

float vec_dot_bf16(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const bf16_t*>(w);
  const auto* y = static_cast<const bf16_t*>(a);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(bf16_to_fp32(x[i])) * double(bf16_to_fp32(y[i]));
  return float(sum);
}

}  // namespace

void fill_vec_dot_float(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::F32)] = vec_dot_f32;
  t.vec_dot[uint32_t(TensorType::F16)] = vec_dot_f16;
  t.vec_dot[uint32_t(TensorType::BF16)] = vec_dot_bf16;
  t.gemm[uint32_t(TensorType::F32)] = gemm_by_vec_dot<vec_dot_f32>;
  t.gemm[uint32_t(TensorType::F16)] = gemm_by_vec_dot<vec_dot_f16>;
  t.gemm[uint32_t(TensorType::BF16)] = gemm_by_vec_dot<vec_dot_bf16>;
}

}  // namespace lp::ref
