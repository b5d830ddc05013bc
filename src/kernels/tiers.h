// The table-filling functions of each tier. Each per-ISA source file exports exactly one of these
// (everything else in it has internal linkage), so that no function compiled with AVX-512 flags
// can be picked by the linker for generic code. A tier fills only the entries it implements; the
// rest keep the lower tier's kernels (activation formats are byte-identical across tiers).
#pragma once

#include "kernels/kernel_table.h"

#define LP_DECLARE_TIER_FILLERS(tier)              \
  namespace lp::tier {                             \
  void fill_quantize_act(KernelTable& t);          \
  void fill_vec_dot_float(KernelTable& t);         \
  void fill_vec_dot_q4(KernelTable& t);            \
  void fill_vec_dot_q5(KernelTable& t);            \
  void fill_vec_dot_q8(KernelTable& t);            \
  void fill_vec_dot_q2_k(KernelTable& t);          \
  void fill_vec_dot_q3_k(KernelTable& t);          \
  void fill_vec_dot_q4_k(KernelTable& t);          \
  void fill_vec_dot_q5_k(KernelTable& t);          \
  void fill_vec_dot_q6_k(KernelTable& t);          \
  }

LP_DECLARE_TIER_FILLERS(ref)
LP_DECLARE_TIER_FILLERS(avx2)
LP_DECLARE_TIER_FILLERS(avx512)

// Entries of the avx512 tier that use AVX512-VBMI, laid over the tier's own on CPUs that have it.
namespace lp::avx512vbmi {
void fill_vec_dot_q4(KernelTable& t);
}

#undef LP_DECLARE_TIER_FILLERS
