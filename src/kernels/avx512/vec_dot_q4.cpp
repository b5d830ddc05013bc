// AVX-512 (F/BW/VL/DQ + VNNI: vpdpbusd / vpdpwssd, 32 registers for larger tiles) kernels: Q4_0 x Q8_0 and Q4_1 x Q8_1. The implementation is shared with the other SIMD tier
// (kernels/simd/legacy_kernels.h); this unit instantiates it with this tier's flags and tile sizes.
#define LP_ISA_NS avx512
#include "kernels/simd/legacy_kernels.h"
#include "kernels/simd/q4_0_matvec_avx512.h"
#include "kernels/simd/gemm_packed_avx512.h"
#include "kernels/tiers.h"

namespace lp::avx512 {

void fill_vec_dot_q4(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q4_0)] = vec_dot_tile<Q4_0KernelAvx512>;
  t.gemm[uint32_t(TensorType::Q4_0)] = gemm_packed<LegacyPacked<Q4_0Pack>, Q4_0KernelAvx512, 1, 4>;
  t.vec_dot[uint32_t(TensorType::Q4_1)] = vec_dot_tile<LegacyKernel<Q4_1Kind>>;
  t.gemm[uint32_t(TensorType::Q4_1)] = gemm_packed<LegacyMinPacked<Q4_1Pack>, LegacyKernel<Q4_1Kind>, 4, 4>;
}

}  // namespace lp::avx512
