// Our activation quantizers (every kernel tier) against llama.cpp's x86 CPU ones, called from the
// prebuilt libggml-cpu-haswell.so that node-llama-cpp ships: the int8 rows both engines feed to
// the integer dot products must be the same, or a quantized model's hidden states drift apart
// (see docs/architecture.md "Parity"). Q8_0 / Q8_1: identical bytes. Q8_K: llama.cpp's quants and
// scale are ours negated when the block's largest element is positive; d * q is identical.
// Skipped without the npm packages or on a CPU without AVX2/FMA/F16C (the library needs them).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "ggml_library.h"
#include "kernels/ops.h"
#include "quant/fp16.h"
#include "kernels/kernel_table.h"
#include "quant/blocks.h"
#include "quant/type_traits.h"

namespace {

using lp::Isa;
using lp::TensorType;

using QuantizeFn = void (*)(const float*, void*, int64_t);

lp::test::GgmlLibrary g_ggml_cpu("libggml-cpu-haswell.so");

class GgmlActivations : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
          __builtin_cpu_supports("f16c"))) {
      GTEST_SKIP() << "the haswell build of ggml needs AVX2, FMA and F16C";
    }
    if (!g_ggml_cpu.handle()) {
      GTEST_SKIP() << "libggml-cpu-haswell.so not loadable (run scripts/setup): " << g_ggml_cpu.path();
    }
  }
  static QuantizeFn sym(const char* name) { return g_ggml_cpu.symbol<QuantizeFn>(name); }
  static std::vector<const lp::KernelTable*> tiers() {
    std::vector<const lp::KernelTable*> out;
    for (Isa isa : {Isa::Ref, Isa::Avx2, Isa::Avx512}) {
      if (const lp::KernelTable* t = lp::kernel_table(isa)) out.push_back(t);
    }
    return out;
  }
};

// Values of assorted magnitudes, with rows whose largest element is positive and rows where it is
// negative, many halfway-ish ratios, a zero block and a denormal-scale block.
std::vector<float> activation_data(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(size_t(n), 0.0f);
  for (int64_t i = 0; i < n; ++i) x[size_t(i)] = g(rng) * std::exp2(float(int(i / 256) % 7) - 3.0f);
  for (int64_t i = 32; i < 64; ++i) x[size_t(i)] = 0.0f;
  for (int64_t i = 64; i < 96; ++i) x[size_t(i)] *= 1e-30f;
  x[300] = -40.0f;
  x[700] = 40.0f;
  return x;
}

TEST_F(GgmlActivations, Q8_0AndQ8_1BytesAreLlamaCpps) {
  const int64_t n = 4096;
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    const auto x = activation_data(n, seed);
    for (auto [type, name] : {std::pair{TensorType::Q8_0, "quantize_row_q8_0"},
                              std::pair{TensorType::Q8_1, "quantize_row_q8_1"}}) {
      std::vector<uint8_t> theirs(lp::row_size(type, n));
      sym(name)(x.data(), theirs.data(), n);
      for (const lp::KernelTable* t : tiers()) {
        std::vector<uint8_t> ours(theirs.size());
        t->quantize_row[uint32_t(type)](x.data(), ours.data(), n);
        EXPECT_EQ(0, std::memcmp(ours.data(), theirs.data(), ours.size()))
            << name << " differs on tier " << lp::isa_name(t->isa) << " (seed " << seed << ")";
      }
    }
  }
}

TEST_F(GgmlActivations, Q8_KValuesAreLlamaCpps) {
  const int64_t n = 4096;
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    const auto x = activation_data(n, seed);
    std::vector<lp::block_q8_K> theirs(size_t(n / lp::QK_K));
    sym("quantize_row_q8_K")(x.data(), theirs.data(), n);
    for (const lp::KernelTable* t : tiers()) {
      std::vector<lp::block_q8_K> ours(theirs.size());
      t->quantize_row[uint32_t(TensorType::Q8_K)](x.data(), ours.data(), n);
      for (size_t b = 0; b < ours.size(); ++b) {
        const float sign = theirs[b].d < 0 ? -1.0f : 1.0f;
        ASSERT_EQ(ours[b].d, sign * theirs[b].d) << lp::isa_name(t->isa) << " block " << b;
        for (int i = 0; i < lp::QK_K; ++i) {
          ASSERT_EQ(float(ours[b].qs[i]), sign * float(theirs[b].qs[i]))
              << lp::isa_name(t->isa) << " block " << b << " element " << i;
        }
        for (int g = 0; g < lp::QK_K / 16; ++g) {
          ASSERT_EQ(float(ours[b].bsums[g]), sign * float(theirs[b].bsums[g]))
              << "block " << b << " sum " << g;
        }
      }
    }
  }
}

// Gemma's GeGLU: llama.cpp's CPU GELU rounds the gate to F16 and looks it up in a table of F16
// GELU values that ggml_cpu_init() fills; ours must give the same F16 value for every gate in
// (-10, 10), where the table is used (compiler contractions in its tanh argument would show here).
TEST_F(GgmlActivations, GeluTableIsLlamaCpps) {
  g_ggml_cpu.symbol<void (*)()>("ggml_cpu_init")();
  const auto* table = g_ggml_cpu.symbol<const lp::fp16_t*>("ggml_table_gelu_f16");
  ASSERT_NE(table, nullptr);
  int checked = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    const float gate = lp::fp16_to_fp32(lp::fp16_t(h));
    if (!(gate > -10.0f && gate < 10.0f)) continue;
    const float up = 1.0f;
    float ours = 0;
    lp::gelu_tanh_mul(&gate, &up, &ours, 1);
    ASSERT_EQ(ours, lp::fp16_to_fp32(table[h])) << "gate " << gate;
    ++checked;
  }
  EXPECT_GT(checked, 30000);
}

}  // namespace
