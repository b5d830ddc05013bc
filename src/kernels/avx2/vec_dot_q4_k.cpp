// AVX2 + FMA + F16C kernels: Q4_K x Q8_K. The implementation is shared with the other SIMD tier
// (kernels/simd/kquant_kernels.h); this unit instantiates it with this tier's flags and tile sizes.
// Q4_K_R16: kernels/simd/q4_k_r16_avx2.h.
#define LP_ISA_NS avx2
#include "kernels/simd/kquant_kernels.h"
#include "kernels/simd/gemm_packed_avx2.h"
#include "kernels/simd/q4_k_r16_avx2.h"
#include "kernels/tiers.h"

namespace lp::avx2 {

void fill_vec_dot_q4_k(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q4_K)] = vec_dot_tile<Q4KKernel>;
  t.gemm[uint32_t(TensorType::Q4_K)] = gemm_packed<KPackedAvx2<Q4_KPack8>, Q4KKernel, 1, 3>;
  t.gemm[uint32_t(TensorType::Q4_K_R16)] = gemm_q4_k_r16_avx2;
}

}  // namespace lp::avx2
