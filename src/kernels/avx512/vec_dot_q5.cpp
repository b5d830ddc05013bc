// AVX-512 (F/BW/VL/DQ + VNNI: vpdpbusd / vpdpwssd, 32 registers for larger tiles) kernels: Q5_0 x Q8_0 and Q5_1 x Q8_1. The implementation is shared with the other SIMD tier
// (kernels/simd/legacy_kernels.h); this unit instantiates it with this tier's flags and tile sizes.
#define LP_ISA_NS avx512
#include "kernels/simd/legacy_kernels.h"
#include "kernels/simd/gemm_packed_avx512.h"
#include "kernels/tiers.h"

namespace lp::avx512 {

void fill_vec_dot_q5(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q5_0)] = vec_dot_tile<LegacyKernel<Q5_0Kind>>;
  t.gemm[uint32_t(TensorType::Q5_0)] = gemm_packed<LegacyPacked<Q5_0Pack>, LegacyKernel<Q5_0Kind>, 4, 4>;
  t.vec_dot[uint32_t(TensorType::Q5_1)] = vec_dot_tile<LegacyKernel<Q5_1Kind>>;
  t.gemm[uint32_t(TensorType::Q5_1)] = gemm_packed<LegacyMinPacked<Q5_1Pack>, LegacyKernel<Q5_1Kind>, 4, 4>;
}

}  // namespace lp::avx512
