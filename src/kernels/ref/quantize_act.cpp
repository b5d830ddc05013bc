// Reference activation quantizers: the quant library's reference quantize_row_ref, so that the
// ref tier and the quantizer agree by construction.
#include "kernels/tiers.h"
#include "quant/quantize.h"

namespace lp::ref {
namespace {

template <TensorType T>
void quantize_row(const float* x, void* y, int64_t n) {
  quantize_row_ref(T, x, y, n);
}

}  // namespace

void fill_quantize_act(KernelTable& t) {
  t.quantize_row[uint32_t(TensorType::F32)] = quantize_row<TensorType::F32>;
  t.quantize_row[uint32_t(TensorType::F16)] = quantize_row<TensorType::F16>;
  t.quantize_row[uint32_t(TensorType::BF16)] = quantize_row<TensorType::BF16>;
  t.quantize_row[uint32_t(TensorType::Q8_0)] = quantize_row<TensorType::Q8_0>;
  t.quantize_row[uint32_t(TensorType::Q8_1)] = quantize_row<TensorType::Q8_1>;
  t.quantize_row[uint32_t(TensorType::Q8_K)] = quantize_row<TensorType::Q8_K>;
}

}  // namespace lp::ref
