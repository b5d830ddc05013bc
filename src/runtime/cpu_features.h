// What this CPU and its operating system let us run: cpuid feature bits plus the XCR0 register
// (xgetbv), which says whether the OS saves the AVX / AVX-512 register state on a context switch.
// A feature is usable only if both the CPU has it and the OS saves its state.
#pragma once

#include <string>

namespace lp {

struct CpuFeatures {
  std::string vendor;  // cpuid leaf 0: "GenuineIntel", "AuthenticAMD"
  std::string brand;   // cpuid leaves 0x80000002-4, trimmed: "AMD EPYC 9R14 96-Core Processor"
  int family = 0;      // display family / model / stepping (extended fields folded in)
  int model = 0;
  int stepping = 0;

  // CPU support (cpuid), regardless of OS support.
  bool sse42 = false;
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool bmi2 = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512_vnni = false;
  bool avx512_vbmi = false;
  bool avx512_bf16 = false;
  bool avx512_fp16 = false;
  bool avx_vnni = false;
  bool amx_int8 = false;

  // OS support (XCR0 via xgetbv; needs cpuid OSXSAVE).
  bool os_avx = false;     // XCR0 bits 1-2: SSE and AVX (YMM) state
  bool os_avx512 = false;  // XCR0 bits 5-7: opmask, upper halves of ZMM0-15, ZMM16-31

  // The kernel tiers' requirements, CPU and OS together.
  bool usable_avx2() const { return os_avx && avx && avx2 && fma && f16c; }
  bool usable_avx512() const {
    return usable_avx2() && os_avx512 && avx512f && avx512bw && avx512vl && avx512dq && avx512_vnni;
  }
};

// Detects once (thread-safe) and caches.
const CpuFeatures& cpu_features();

// Runs cpuid / xgetbv now.
CpuFeatures detect_cpu_features();

// Space-separated names of the usable SIMD features, e.g. "avx2 fma f16c avx512f ... avx512_vnni".
std::string cpu_feature_names(const CpuFeatures& f);

}  // namespace lp
