// avx512 kernels for this file's types: not yet written, the lower tier's kernels stay in the table.
#include "kernels/tiers.h"

namespace lp::avx512 {

void fill_vec_dot_q2_k(KernelTable&) {}

}  // namespace lp::avx512
