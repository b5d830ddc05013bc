// AVX2 + FMA + F16C kernels: Q8_0 x Q8_0. The implementation is shared with the other SIMD tier
// (kernels/simd/legacy_kernels.h); this unit instantiates it with this tier's flags and tile sizes.
#define LP_ISA_NS avx2
#include "kernels/simd/legacy_kernels.h"
#include "kernels/simd/gemm_packed_avx2.h"
#include "kernels/tiers.h"

namespace lp::avx2 {

void fill_vec_dot_q8(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q8_0)] = vec_dot_tile<LegacyKernel<Q8_0Kind>>;
  t.gemm[uint32_t(TensorType::Q8_0)] = gemm_packed<Q8_0PackedAvx2, LegacyKernel<Q8_0Kind>, 2, 3>;
}

}  // namespace lp::avx2
