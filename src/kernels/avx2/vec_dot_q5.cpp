// AVX2 + FMA + F16C kernels: Q5_0 x Q8_0 and Q5_1 x Q8_1. The implementation is shared with the other SIMD tier
// (kernels/simd/legacy_kernels.h); this unit instantiates it with this tier's flags and tile sizes.
#define LP_ISA_NS avx2
#include "kernels/simd/legacy_kernels.h"
#include "kernels/simd/gemm_packed_avx2.h"
#include "kernels/tiers.h"

namespace lp::avx2 {

void fill_vec_dot_q5(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q5_0)] = vec_dot_tile<LegacyKernel<Q5_0Kind>>;
  t.gemm[uint32_t(TensorType::Q5_0)] = gemm_packed<Q5_0PackedAvx2, LegacyKernel<Q5_0Kind>, 2, 3>;
  t.vec_dot[uint32_t(TensorType::Q5_1)] = vec_dot_tile<LegacyKernel<Q5_1Kind>>;
  t.gemm[uint32_t(TensorType::Q5_1)] = gemm_tiled<LegacyKernel<Q5_1Kind>, 2, 3>;
}

}  // namespace lp::avx2
