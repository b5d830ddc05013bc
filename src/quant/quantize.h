// Reference (scalar) quantize and dequantize for every supported type: clear, tested, and the
// ground truth that SIMD kernels are checked against. Rows are n elements, n a multiple of the
// type's block size; y / x point at n / block_size blocks.
#pragma once

#include <cstdint>

#include "quant/type_traits.h"

namespace lp {

// float -> type (F32, F16, BF16, and every quantized type incl. the activation types Q8_1, Q8_K).
void quantize_row_ref(TensorType type, const float* x, void* y, int64_t n);
// type -> float.
void dequantize_row_ref(TensorType type, const void* x, float* y, int64_t n);

// Worst-case round-trip error bound for `type` on data with RMS `rms`, as checked by the tests:
// max |x - dequant(quant(x))| <= bound. Documented per type next to its implementation.
double roundtrip_error_bound(TensorType type, double max_abs, double rms);

}  // namespace lp
