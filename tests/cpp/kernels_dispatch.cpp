// Start-up dispatch: cpuid/xgetbv detection, tier selection and the LLAMAPROF_ISA override.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "kernels/kernel_table.h"
#include "llamaprof/error.h"
#include "runtime/cpu_features.h"

namespace lp {
namespace {

TEST(KernelsDispatch, CpuFeaturesAreConsistent) {
  const CpuFeatures& f = cpu_features();
  EXPECT_FALSE(f.vendor.empty());
  // AVX-512 state implies AVX state; a usable tier implies the one below.
  if (f.os_avx512) {
    EXPECT_TRUE(f.os_avx);
  }
  if (f.usable_avx512()) {
    EXPECT_TRUE(f.usable_avx2());
  }
  if (f.avx512bw || f.avx512vl) {
    EXPECT_TRUE(f.avx512f);
  }
}

TEST(KernelsDispatch, TablesExistExactlyForUsableTiers) {
  const CpuFeatures& f = cpu_features();
  EXPECT_NE(kernel_table(Isa::Ref), nullptr);
  EXPECT_EQ(kernel_table(Isa::Avx2) != nullptr, f.usable_avx2());
  EXPECT_EQ(kernel_table(Isa::Avx512) != nullptr, f.usable_avx512());
  const Isa best = best_isa();
  EXPECT_NE(kernel_table(best), nullptr);
  EXPECT_EQ(kernel_table(best)->isa, best);
}

TEST(KernelsDispatch, ParseIsaNamesAndRejectsOthers) {
  EXPECT_EQ(parse_isa("ref"), Isa::Ref);
  EXPECT_EQ(parse_isa("avx2"), Isa::Avx2);
  EXPECT_EQ(parse_isa("avx512"), Isa::Avx512);
  try {
    parse_isa("sse9");
    FAIL() << "no error for an unknown tier";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("sse9"), std::string::npos) << e.what();
  }
}

TEST(KernelsDispatch, RequireUnsupportedTierNamesTheCpu) {
  for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
    if (kernel_table(isa) != nullptr) {
      EXPECT_EQ(require_kernel_table(isa).isa, isa);
      continue;
    }
    try {
      require_kernel_table(isa);
      FAIL() << "no error for an unsupported tier";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
      EXPECT_NE(std::string(e.what()).find(isa_name(isa)), std::string::npos) << e.what();
    }
  }
}

// kernels() reads LLAMAPROF_ISA on its first successful call; ctest runs each test in its own
// process, so this test sees a fresh selection.
TEST(KernelsDispatch, EnvironmentOverride) {
  ASSERT_EQ(setenv("LLAMAPROF_ISA", "bogus", 1), 0);
  try {
    kernels();
    FAIL() << "LLAMAPROF_ISA=bogus accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("LLAMAPROF_ISA"), std::string::npos) << e.what();
  }
  ASSERT_EQ(setenv("LLAMAPROF_ISA", "ref", 1), 0);
  EXPECT_EQ(kernels().isa, Isa::Ref);
  unsetenv("LLAMAPROF_ISA");
  EXPECT_EQ(kernels().isa, Isa::Ref);  // chosen once, at the first successful call
}

}  // namespace
}  // namespace lp
