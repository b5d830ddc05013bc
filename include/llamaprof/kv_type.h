// Element types of a KV cache (ContextParams::type_k / type_v; the attention kernels read them).
#pragma once

namespace lp {

// F16: the default. F32: twice the memory, no rounding of K/V. Q8_0: llama.cpp's 32-element blocks
// (an F16 scale and 32 int8, 34 bytes): 17/32 of F16's memory.
enum class KvType { F16 = 0, F32 = 1, Q8_0 = 2 };

}  // namespace lp
