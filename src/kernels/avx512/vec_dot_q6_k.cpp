// AVX-512 (F/BW/VL/DQ + VNNI) kernels: Q6_K x Q8_K. The packed gemm for prompts is shared with the
// avx2 tier (kernels/simd/kquant_kernels.h); decode and small batches run this tier's zmm mat-vec
// (kernels/simd/kquant_matvec_avx512.h).
#define LP_ISA_NS avx512
#include "kernels/simd/kquant_kernels.h"
#include "kernels/simd/kquant_matvec_avx512.h"
#include "kernels/simd/gemm_packed_avx512.h"
#include "kernels/tiers.h"

namespace lp::avx512 {

void fill_vec_dot_q6_k(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q6_K)] = vec_dot_tile<Q6KZmmKernel>;
  t.gemm[uint32_t(TensorType::Q6_K)] = gemm_packed<KPacked<Q6_KPack>, Q6KZmmKernel, 1, 4>;
}

}  // namespace lp::avx512
