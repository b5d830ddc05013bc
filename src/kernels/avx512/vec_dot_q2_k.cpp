// AVX-512 (F/BW/VL/DQ + VNNI: vpdpbusd / vpdpwssd, 32 registers for larger tiles) kernels: Q2_K x Q8_K. The implementation is shared with the other SIMD tier
// (kernels/simd/kquant_kernels.h); this unit instantiates it with this tier's flags and tile sizes.
#define LP_ISA_NS avx512
#include "kernels/simd/kquant_kernels.h"
#include "kernels/simd/gemm_packed_avx512.h"
#include "kernels/tiers.h"

namespace lp::avx512 {

void fill_vec_dot_q2_k(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::Q2_K)] = vec_dot_tile<Q2KKernel>;
  t.gemm[uint32_t(TensorType::Q2_K)] = gemm_packed<KPacked<Q2_KPack>, Q2KKernel, 1, 4>;
}

}  // namespace lp::avx512
