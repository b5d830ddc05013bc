// The avx512 tier's Q4_0 decode mat-vec built with AVX512-VBMI: byte permutes (vpermt2b, one uop)
// instead of word permutes (vpermt2w, three). dispatch.cpp lays this entry over the avx512 tier's
// own when the CPU has VBMI. The implementation: kernels/simd/q4_0_matvec_avx512.h.
#define LP_ISA_NS avx512vbmi
#include "kernels/simd/gemm_packed_avx512.h"
#include "kernels/simd/q4_0_matvec_avx512.h"
#include "kernels/tiers.h"

namespace lp::avx512vbmi {

void fill_vec_dot_q4(KernelTable& t) {
  t.gemm[uint32_t(TensorType::Q4_0)] = gemm_packed<LegacyPacked<Q4_0Pack>, Q4_0KernelAvx512, 4, 4>;
}

}  // namespace lp::avx512vbmi
