// avx2 kernels for this file's types: not yet written, the lower tier's kernels stay in the table.
#include "kernels/tiers.h"

namespace lp::avx2 {

void fill_vec_dot_q5(KernelTable&) {}

}  // namespace lp::avx2
