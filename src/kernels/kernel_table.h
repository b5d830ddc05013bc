// The table of compute kernels for one instruction-set tier. dispatch.cpp picks one table at
// start-up (cpuid + xgetbv); LLAMAPROF_ISA=ref|avx2|avx512 forces a tier.
//
// Kernels are named weight x activation: a mat-vec on weight type W first quantizes the activation
// row once into type_traits(W).vec_dot_type (Q8_0, Q8_1, Q8_K, F16 or F32), then takes dot products.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "quant/type_traits.h"

namespace lp {

enum class Isa { Ref, Avx2, Avx512 };

const char* isa_name(Isa isa);

struct KernelTable {
  Isa isa = Isa::Ref;

  // Converts n floats into the activation format `type` (Q8_0, Q8_1, Q8_K, F16, BF16 or F32).
  using QuantizeRowFn = void (*)(const float* x, void* y, int64_t n);
  QuantizeRowFn quantize_row[kTensorTypeLimit] = {};

  // Dot product of n elements: one weight row w (type W) with one activation row a
  // (type_traits(W).vec_dot_type). n is a multiple of W's block size.
  using VecDotFn = float (*)(int64_t n, const void* w, const void* a);
  VecDotFn vec_dot[kTensorTypeLimit] = {};

  // Mat-mul for prompt processing: for weight rows [r0, r1) (each w_row_bytes apart) and nb
  // activation rows (each a_row_bytes apart), c[j * ldc + r] = dot(w row r, activation row j).
  // Each unpacked weight block serves all nb activation rows.
  using GemmFn = void (*)(int64_t n, int64_t r0, int64_t r1, const void* w, size_t w_row_bytes, const void* a,
                          size_t a_row_bytes, int64_t nb, float* c, int64_t ldc);
  GemmFn gemm[kTensorTypeLimit] = {};
};

// The table chosen at start-up (honours LLAMAPROF_ISA; throws lp::Error if the forced tier is
// not supported by this CPU).
const KernelTable& kernels();
// A specific tier's table, or nullptr if this CPU/OS cannot run it.
const KernelTable* kernel_table(Isa isa);
// The tier's table without the entries that need instructions beyond the tier's baseline
// (AVX512-VBMI for avx512): what a CPU without them runs. For tests; nullptr if unsupported.
const KernelTable* kernel_table_baseline(Isa isa);
// The best tier this CPU and OS support.
Isa best_isa();

// "ref" / "avx2" / "avx512" -> Isa; throws lp::Error (InvalidArgument) for any other name.
Isa parse_isa(std::string_view name);
// kernel_table(isa), or throws lp::Error (Unsupported) naming the CPU and its usable features.
const KernelTable& require_kernel_table(Isa isa);

}  // namespace lp
