// Round to the nearest integer (ties to even) without a libm call: adding 1.5 * 2^23 puts the
// integer part in the low mantissa bits of the float. Valid for |v| < 2^22; callers clamp their
// quants anyway, so the argument is clamped to that range first.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace lp::quant {

static inline int nearest_int(float v) {
  const float shifted = std::clamp(v, -4194303.0f, 4194303.0f) + 12582912.0f;  // 1.5 * 2^23
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof(bits));
  return (bits & 0x007fffff) - 0x00400000;
}

}  // namespace lp::quant
