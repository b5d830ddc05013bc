// Reference activation quantizers: the quant library's reference quantize_row_ref, except for
// Q8_0 / Q8_1, whose activation rows are quantized with the inverse scale 127 / amax (one
// rounding) where the weight quantizer uses 1 / (amax / 127): llama.cpp's CPU backend does the
// same (its x86 activation quantizer against its reference weight quantizer), and the parity tests
// need both engines to feed the same int8 activations to the integer dot products.
#include <algorithm>
#include <cmath>

#include "kernels/tiers.h"
#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/quantize.h"
#include "quant/rounding.h"

namespace lp::ref {
namespace {

// One block of 32: d = amax / 127 (stored as fp16), q = round_half_even(x * (127 / amax)).
// Returns d unrounded (Q8_1's sum uses it).
float quantize_act_block(const float* x, int8_t* qs, fp16_t* d_out) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  *d_out = fp32_to_fp16(std::min(d, 65504.0f));
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  for (int j = 0; j < 32; ++j) qs[j] = int8_t(std::clamp(quant::nearest_int(x[j] * id), -127, 127));
  return d;
}

void quantize_act_q8_0(const float* x, void* y, int64_t n) {
  auto* out = static_cast<block_q8_0*>(y);
  for (int64_t b = 0; b < n / 32; ++b) quantize_act_block(x + 32 * b, out[b].qs, &out[b].d);
}

void quantize_act_q8_1(const float* x, void* y, int64_t n) {
  auto* out = static_cast<block_q8_1*>(y);
  for (int64_t b = 0; b < n / 32; ++b) {
    const float d = quantize_act_block(x + 32 * b, out[b].qs, &out[b].d);
    int sum = 0;
    for (int j = 0; j < 32; ++j) sum += out[b].qs[j];
    out[b].s = fp32_to_fp16(d * float(sum));
  }
}

template <TensorType T>
void quantize_row(const float* x, void* y, int64_t n) {
  quantize_row_ref(T, x, y, n);
}

}  // namespace

void fill_quantize_act(KernelTable& t) {
  t.quantize_row[uint32_t(TensorType::F32)] = quantize_row<TensorType::F32>;
  t.quantize_row[uint32_t(TensorType::F16)] = quantize_row<TensorType::F16>;
  t.quantize_row[uint32_t(TensorType::BF16)] = quantize_row<TensorType::BF16>;
  t.quantize_row[uint32_t(TensorType::Q8_0)] = quantize_act_q8_0;
  t.quantize_row[uint32_t(TensorType::Q8_1)] = quantize_act_q8_1;
  t.quantize_row[uint32_t(TensorType::Q8_K)] = quantize_row<TensorType::Q8_K>;
}

}  // namespace lp::ref
