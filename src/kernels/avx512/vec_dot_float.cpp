// AVX-512 (F/BW/VL/DQ + VNNI: vpdpbusd / vpdpwssd, 32 registers for larger tiles) kernels: F32 x F32, F16 x F16, BF16 x BF16. The implementation is shared with the other SIMD tier
// (kernels/simd/float_kernels.h); this unit instantiates it with this tier's flags and tile sizes.
#define LP_ISA_NS avx512
#include "kernels/simd/float_kernels.h"
#include "kernels/tiers.h"

namespace lp::avx512 {

void fill_vec_dot_float(KernelTable& t) {
  t.vec_dot[uint32_t(TensorType::F32)] = vec_dot_tile<F32Kernel>;
  t.gemm[uint32_t(TensorType::F32)] = gemm_tiled<F32Kernel, 4, 4>;
  t.vec_dot[uint32_t(TensorType::F16)] = vec_dot_tile<F16Kernel>;
  t.gemm[uint32_t(TensorType::F16)] = gemm_tiled<F16Kernel, 4, 4>;
  t.vec_dot[uint32_t(TensorType::BF16)] = vec_dot_tile<BF16Kernel>;
  t.gemm[uint32_t(TensorType::BF16)] = gemm_tiled<BF16Kernel, 4, 4>;
}

}  // namespace lp::avx512
