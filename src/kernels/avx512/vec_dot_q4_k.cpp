// AVX-512 (F/BW/VL/DQ + VNNI) kernels: Q4_K x Q8_K. The packed gemm for prompts is shared with the
// avx2 tier (kernels/simd/kquant_kernels.h); decode and small batches run this tier's zmm mat-vec
// (kernels/simd/kquant_matvec_avx512.h). Q4_K_R16: kernels/simd/q4_k_r16_avx512.h.
#define LP_ISA_NS avx512
#include "kernels/simd/kquant_kernels.h"
#include "kernels/simd/kquant_matvec_avx512.h"
#include "kernels/simd/gemm_packed_avx512.h"
#include "kernels/simd/q4_k_r16_avx512.h"
#include "kernels/tiers.h"

namespace lp::avx512 {

void fill_vec_dot_q4_k(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q4_K)] = vec_dot_tile<Q4KZmmKernel>;
  t.gemm[uint32_t(TensorType::Q4_K)] = gemm_packed<KPacked<Q4_KPack>, Q4KZmmKernel, 1, 4>;
  t.gemm[uint32_t(TensorType::Q4_K_R16)] = gemm_q4_k_r16;
}

}  // namespace lp::avx512
