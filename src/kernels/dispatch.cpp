// Picks the kernel table at start-up: the best tier this CPU and OS support (cpuid + xgetbv, see
// runtime/cpu_features.h), or the tier LLAMAPROF_ISA names.
#include <cstdlib>
#include <string>
#include <string_view>

#include "kernels/kernel_table.h"
#include "kernels/tiers.h"
#include "llamaprof/error.h"
#include "runtime/cpu_features.h"

namespace lp {
namespace {

#define LP_FILL_TIER(tier, table)    \
  do {                               \
    tier::fill_quantize_act(table);  \
    tier::fill_vec_dot_float(table); \
    tier::fill_vec_dot_q4(table);    \
    tier::fill_vec_dot_q5(table);    \
    tier::fill_vec_dot_q8(table);    \
    tier::fill_vec_dot_q2_k(table);  \
    tier::fill_vec_dot_q3_k(table);  \
    tier::fill_vec_dot_q4_k(table);  \
    tier::fill_vec_dot_q5_k(table);  \
    tier::fill_vec_dot_q6_k(table);  \
  } while (0)

// Each tier starts from the one below it, so an entry a tier does not implement falls back to
// the lower tier's kernel (activation formats are byte-identical across tiers). With `extensions`,
// entries built for instructions beyond the tier's baseline replace the baseline ones where this
// CPU has them (AVX512-VBMI over avx512).
KernelTable build_table(Isa isa, bool extensions) {
  KernelTable t;
  LP_FILL_TIER(ref, t);
  if (isa == Isa::Avx2 || isa == Isa::Avx512) LP_FILL_TIER(avx2, t);
  if (isa == Isa::Avx512) LP_FILL_TIER(avx512, t);
  if (isa == Isa::Avx512 && extensions && cpu_features().avx512_vbmi) avx512vbmi::fill_vec_dot_q4(t);
  t.isa = isa;
  return t;
}

#undef LP_FILL_TIER

bool supported(Isa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::Ref:
      return true;
    case Isa::Avx2:
      return f.usable_avx2();
    case Isa::Avx512:
      return f.usable_avx512();
  }
  return false;
}

const KernelTable& select_table() {
  const char* forced = std::getenv("LLAMAPROF_ISA");
  if (forced == nullptr || *forced == '\0') return *kernel_table(best_isa());
  try {
    return require_kernel_table(parse_isa(forced));
  } catch (const Error& e) {
    throw Error(e.kind(), std::string("LLAMAPROF_ISA: ") + e.what());
  }
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Ref:
      return "ref";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
  }
  return "unknown";
}

// A tier's fill functions are compiled with that tier's flags (the compiler may use its
// instructions even to store pointers), so a table is only built once the CPU is known to run it.
const KernelTable* kernel_table(Isa isa) {
  if (!supported(isa)) return nullptr;
  switch (isa) {
    case Isa::Ref: {
      static const KernelTable ref = build_table(Isa::Ref, true);
      return &ref;
    }
    case Isa::Avx2: {
      static const KernelTable avx2 = build_table(Isa::Avx2, true);
      return &avx2;
    }
    case Isa::Avx512: {
      static const KernelTable avx512 = build_table(Isa::Avx512, true);
      return &avx512;
    }
  }
  return nullptr;
}

const KernelTable* kernel_table_baseline(Isa isa) {
  if (!supported(isa)) return nullptr;
  if (isa != Isa::Avx512) return kernel_table(isa);
  static const KernelTable avx512 = build_table(Isa::Avx512, false);
  return &avx512;
}

Isa best_isa() {
  if (supported(Isa::Avx512)) return Isa::Avx512;
  if (supported(Isa::Avx2)) return Isa::Avx2;
  return Isa::Ref;
}

Isa parse_isa(std::string_view name) {
  for (Isa isa : {Isa::Ref, Isa::Avx2, Isa::Avx512}) {
    if (name == isa_name(isa)) return isa;
  }
  throw Error(ErrorKind::InvalidArgument,
              "'" + std::string(name) + "' is not a kernel tier (expected ref, avx2 or avx512)");
}

const KernelTable& require_kernel_table(Isa isa) {
  if (const KernelTable* t = kernel_table(isa)) return *t;
  const CpuFeatures& f = cpu_features();
  throw Error(ErrorKind::Unsupported, std::string("this CPU/OS cannot run the ") + isa_name(isa) +
                                          " kernels (" + (f.brand.empty() ? f.vendor : f.brand) +
                                          "; usable features: " + cpu_feature_names(f) + ")");
}

// A failed selection (bad LLAMAPROF_ISA) throws on every call: the function-local static is only
// initialized once a selection succeeds.
const KernelTable& kernels() {
  static const KernelTable& chosen = select_table();
  return chosen;
}

}  // namespace lp
