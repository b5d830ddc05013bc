// AVX-512 activation quantizers (kernels/simd/quantize_kernels.h), byte-identical to the reference.
#define LP_ISA_NS avx512
#include "kernels/simd/quantize_kernels.h"
#include "kernels/tiers.h"

namespace lp::avx512 {

void fill_quantize_act(KernelTable& t) {
  t.quantize_row[uint32_t(TensorType::F32)] = quantize_row_f32;
  t.quantize_row[uint32_t(TensorType::F16)] = quantize_row_f16;
  t.quantize_row[uint32_t(TensorType::BF16)] = quantize_row_bf16;
  t.quantize_row[uint32_t(TensorType::Q8_0)] = quantize_row_q8_0;
  t.quantize_row[uint32_t(TensorType::Q8_1)] = quantize_row_q8_1;
  t.quantize_row[uint32_t(TensorType::Q8_K)] = quantize_row_q8_k;
}

}  // namespace lp::avx512
