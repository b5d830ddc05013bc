#include "runtime/cpu_features.h"

#include <cpuid.h>

#include <cstdint>
#include <cstring>

namespace lp {
namespace {

struct Regs {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

Regs cpuid(uint32_t leaf, uint32_t subleaf = 0) {
  Regs r;
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
  return r;
}

bool bit(uint32_t reg, int n) { return (reg >> n) & 1u; }

// xgetbv(0) reads XCR0. Inline asm: the _xgetbv intrinsic would need -mxsave in this generic unit.
uint64_t read_xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

std::string trim(std::string s) {
  size_t b = s.find_first_not_of(' ');
  size_t e = s.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  const Regs leaf0 = cpuid(0);
  const uint32_t max_leaf = leaf0.eax;
  char vendor[13] = {};
  std::memcpy(vendor + 0, &leaf0.ebx, 4);
  std::memcpy(vendor + 4, &leaf0.edx, 4);
  std::memcpy(vendor + 8, &leaf0.ecx, 4);
  f.vendor = vendor;

  const uint32_t max_ext = cpuid(0x80000000u).eax;
  if (max_ext >= 0x80000004u) {
    char brand[49] = {};
    for (uint32_t i = 0; i < 3; ++i) {
      const Regs r = cpuid(0x80000002u + i);
      std::memcpy(brand + 16 * i + 0, &r.eax, 4);
      std::memcpy(brand + 16 * i + 4, &r.ebx, 4);
      std::memcpy(brand + 16 * i + 8, &r.ecx, 4);
      std::memcpy(brand + 16 * i + 12, &r.edx, 4);
    }
    f.brand = trim(brand);
  }
  if (max_leaf < 1) return f;

  // Leaf 1: EAX = version (family/model/stepping); ECX = SSE4.2 (20), FMA (12), OSXSAVE (27),
  // AVX (28), F16C (29).
  const Regs l1 = cpuid(1);
  const int base_family = (l1.eax >> 8) & 0xf;
  const int ext_family = (l1.eax >> 20) & 0xff;
  const int base_model = (l1.eax >> 4) & 0xf;
  const int ext_model = (l1.eax >> 16) & 0xf;
  f.family = base_family == 0xf ? base_family + ext_family : base_family;
  f.model = (base_family == 0x6 || base_family == 0xf) ? (ext_model << 4) + base_model : base_model;
  f.stepping = l1.eax & 0xf;
  f.sse42 = bit(l1.ecx, 20);
  f.fma = bit(l1.ecx, 12);
  f.avx = bit(l1.ecx, 28);
  f.f16c = bit(l1.ecx, 29);
  const bool osxsave = bit(l1.ecx, 27);

  if (max_leaf >= 7) {
    // Leaf 7 sub-leaf 0: EBX = AVX2 (5), BMI2 (8), AVX512F (16), AVX512DQ (17), AVX512BW (30),
    // AVX512VL (31); ECX = AVX512_VBMI (1), AVX512_VNNI (11); EDX = AVX512_FP16 (23), AMX-INT8 (25).
    const Regs l7 = cpuid(7, 0);
    f.avx2 = bit(l7.ebx, 5);
    f.bmi2 = bit(l7.ebx, 8);
    f.avx512f = bit(l7.ebx, 16);
    f.avx512dq = bit(l7.ebx, 17);
    f.avx512bw = bit(l7.ebx, 30);
    f.avx512vl = bit(l7.ebx, 31);
    f.avx512_vbmi = bit(l7.ecx, 1);
    f.avx512_vnni = bit(l7.ecx, 11);
    f.avx512_fp16 = bit(l7.edx, 23);
    f.amx_int8 = bit(l7.edx, 25);
    if (l7.eax >= 1) {
      // Leaf 7 sub-leaf 1: EAX = AVX-VNNI (4), AVX512_BF16 (5).
      const Regs l71 = cpuid(7, 1);
      f.avx_vnni = bit(l71.eax, 4);
      f.avx512_bf16 = bit(l71.eax, 5);
    }
  }

  if (osxsave) {
    const uint64_t xcr0 = read_xcr0();
    f.os_avx = (xcr0 & 0x6) == 0x6;                   // XMM (bit 1) and YMM (bit 2) state
    f.os_avx512 = f.os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask (5), ZMM_Hi256 (6), Hi16_ZMM (7)
  }
  return f;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect_cpu_features();
  return features;
}

std::string cpu_feature_names(const CpuFeatures& f) {
  std::string out;
  auto add = [&out](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ' ';
    out += name;
  };
  const bool ymm = f.os_avx, zmm = f.os_avx512;
  add(f.sse42, "sse4.2");
  add(ymm && f.avx, "avx");
  add(ymm && f.avx2, "avx2");
  add(ymm && f.fma, "fma");
  add(ymm && f.f16c, "f16c");
  add(f.bmi2, "bmi2");
  add(ymm && f.avx_vnni, "avx_vnni");
  add(zmm && f.avx512f, "avx512f");
  add(zmm && f.avx512bw, "avx512bw");
  add(zmm && f.avx512vl, "avx512vl");
  add(zmm && f.avx512dq, "avx512dq");
  add(zmm && f.avx512_vbmi, "avx512_vbmi");
  add(zmm && f.avx512_vnni, "avx512_vnni");
  add(zmm && f.avx512_bf16, "avx512_bf16");
  add(zmm && f.avx512_fp16, "avx512_fp16");
  add(f.amx_int8, "amx_int8");
  return out;
}

}  // namespace lp
