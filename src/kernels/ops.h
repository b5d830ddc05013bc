// Forward-pass operations other than the weight mat-muls: normalization, rotary embedding,
// softmax, gated activation, residual add and attention over an F16 KV cache.
//
// Plain functions on raw row-major float pointers. Element-wise ops work on the rows they are
// given and run on the calling thread, so the forward pass can call them inside its own parallel
// region (split rows by ith/nth) or serially; attention takes the ThreadPool because it is the
// one op here whose cost grows with the context. None of them allocates.
#pragma once

#include <cstddef>
#include <cstdint>

#include "llamaprof/kv_type.h"
#include "quant/fp16.h"

namespace lp {

class ThreadPool;

// ---- element-wise -------------------------------------------------------------------------------

// y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w, for n_rows rows of n floats (contiguous rows).
// x == y is allowed (in place). w: [n].
void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps);

// Softmax of one row of n floats, in place, stable (the maximum is subtracted first).
void softmax(float* x, int64_t n);

// out = silu(gate) * up, silu(g) = g / (1 + exp(-g)). out may alias gate or up.
void silu_mul(const float* gate, const float* up, float* out, int64_t n);

// out = gelu(gate) * up with the tanh approximation of GELU, rounded as llama.cpp's CPU GeGLU:
// gate in (-10, 10) is rounded to F16 and looked up in a table of F16 GELU values (gate <= -10
// gives 0, gate >= 10 gives gate * up). out may alias gate or up.
void gelu_tanh_mul(const float* gate, const float* up, float* out, int64_t n);

// x = cap * tanh(x / cap), in place (Gemma's soft-capping of the final logits; cap > 0).
void softcap(float* x, int64_t n, float cap);

// out = a + b. out may alias a or b.
void add(const float* a, const float* b, float* out, int64_t n);

// F32 -> F16 (round to nearest even) and back, e.g. to store K/V rows into the cache.
void convert_f32_to_f16(const float* x, fp16_t* y, int64_t n);
void convert_f16_to_f32(const fp16_t* x, float* y, int64_t n);

// ---- rotary position embedding --------------------------------------------------------------------

enum class RopeLayout {
  Normal,  // llama (LLAMA_ROPE_TYPE_NORM): rotates adjacent pairs (x[2i], x[2i+1])
  Neox,    // GPT-NeoX / Qwen2 (LLAMA_ROPE_TYPE_NEOX): rotates halves (x[i], x[i + n_rot/2])
};

struct RopeParams {
  int n_rot = 0;            // dimensions rotated at the start of each head (even, <= head_dim)
  float freq_base = 10000;  // GGUF <arch>.rope.freq_base
  float freq_scale = 1;     // 1 / GGUF <arch>.rope.scaling.factor for linear scaling, else 1
  RopeLayout layout = RopeLayout::Normal;
  const float* freq_factors = nullptr;  // [n_rot/2] or null: pair k's angle is divided by it
                                        // (rope_freqs.weight, Llama 3.1+ "llama3" scaling)
  float attn_factor = 1;  // cos and sin are multiplied by it (rope.scaling.attn_factor: Phi-3 128k)
};

// Rotates, in place, n_rows rows of n_head heads of head_dim floats; row i is at x + i * row_stride
// (floats) and has position p0 + i. For pair index k in [0, n_rot/2), with f_k = freq_factors[k]
// (1 without factors):
//   theta = freq_scale * ((p0 + i) * freq_base^(-2k / n_rot) / f_k)
//   (a, b) -> (a cos theta - b sin theta, a sin theta + b cos theta)
// with (a, b) = (x[2k], x[2k+1]) for Normal and (x[k], x[k + n_rot/2]) for Neox.
// Dimensions [n_rot, head_dim) of each head are left unchanged.
void rope(float* x, int64_t n_rows, int64_t row_stride, int n_head, int head_dim, int p0,
          const RopeParams& params);

// ---- attention over the F16 KV cache ----------------------------------------------------------------
//
// KV cache layout (one layer; the forward pass allocates [n_layer] of these, each n_ctx rows):
//   K: [n_ctx][n_head_kv * head_dim] F16, row t = the key of the token at position t,
//      head g at columns [g * head_dim, (g + 1) * head_dim)
//   V: [n_ctx][n_head_kv * head_dim] F16, same layout as K (not transposed: storing a token's V is
//      one contiguous row, and the weighted sum reads whole rows, which vectorizes over head_dim)
// Rows are kv_row_stride F16 elements apart (normally n_head_kv * head_dim). Slot t holds
// position t (a linear cache): before the call, K/V rows for positions 0 .. p0 + nq - 1 must have
// been written, including those of the nq query tokens themselves (already RoPE'd for K).

// How attention rounds. F32: scores, softmax and the weighted V sum in F32 (two passes).
// F16Accumulate: llama.cpp's CPU flash-attention rounding (query rounded to F16, online softmax,
// V accumulated in F16; src/kernels/ops_attention_f16acc.cpp), so that quantized models pick the
// same tokens as llama.cpp where the choice hinges on those roundings.
enum class AttentionPrecision { F32, F16Accumulate };

struct AttentionShape {
  int n_head = 0;          // query heads
  int n_head_kv = 0;       // KV heads; n_head % n_head_kv == 0 (GQA: n_head / n_head_kv share one)
  int head_dim = 0;        // floats per head
  int sliding_window = 0;  // 0: none; else a key at position t is visible to the query at
                           // position p only if p - window < t <= p (the window includes p itself,
                           // as llama.cpp and Hugging Face Mistral mask: masked if p - t >= window)
  float scale = 0;         // 0: 1 / sqrt(head_dim)
  AttentionPrecision precision = AttentionPrecision::F32;
  float softcap = 0;       // > 0: s_t = softcap * tanh(s_t / softcap) before the softmax (Gemma 2)
};

// Floats of scratch attention() needs for a context of n_ctx positions with n_threads threads.
// Allocate it once per context (no allocation in the hot path).
size_t attention_scratch_floats(const AttentionShape& shape, int n_ctx, int n_threads);

// Causal self-attention of nq query rows at positions p0 .. p0 + nq - 1.
//   q:   [nq][n_head * head_dim] F32 (already RoPE'd), row i at q + i * q_row_stride
//   k,v: the layer's cache, layout above
//   out: [nq][n_head * head_dim] F32, row i at out + i * out_row_stride; head h at h * head_dim
// For query row i (position p = p0 + i) and head h (KV head g = h / (n_head / n_head_kv)):
//   s_t = scale * dot(q[i, h], K[t, g]) for visible t (soft-capped when shape.softcap > 0),
//   softmax over t (stable), out = sum p_t V[t, g]
// Parallel over (block of query rows, KV head) work items handed out through the pool's chunk
// counter. scratch: attention_scratch_floats(shape, n_ctx, pool.size()) floats, n_ctx >= p0 + nq.
void attention(const float* q, int64_t q_row_stride, const fp16_t* k, const fp16_t* v,
               int64_t kv_row_stride, int nq, int p0, const AttentionShape& shape, float* out,
               int64_t out_row_stride, float* scratch, size_t scratch_floats, ThreadPool& pool);

// ---- KV caches of other element types (llama-cpp-python's type_k / type_v) ---------------------
// The same layout with F32 elements, or Q8_0 blocks (32 elements: an F16 scale and 32 int8, 34
// bytes; needs head_dim % 32 == 0 so that no block straddles two heads). Strides and offsets stay
// in elements. F16 goes through the vectorized loops above; F32 and Q8_0 rows are converted to
// F32 per head slice in the portable loops (the F16Accumulate precision needs F16: Unsupported).
const char* kv_type_name(KvType t);
// Bytes of n elements (n a multiple of 32 for Q8_0).
size_t kv_bytes(KvType t, int64_t n);
// Stores n F32 values at element offset `at` of a cache of type t (a multiple of 32 for Q8_0).
void kv_store(KvType t, const float* x, void* cache, int64_t at, int64_t n);
// Reads n elements at element offset `at` as F32.
void kv_load(KvType t, const void* cache, int64_t at, float* y, int64_t n);

void attention(const float* q, int64_t q_row_stride, const void* k, KvType k_type, const void* v, KvType v_type,
               int64_t kv_row_stride, int nq, int p0, const AttentionShape& shape, float* out,
               int64_t out_row_stride, float* scratch, size_t scratch_floats, ThreadPool& pool);

}  // namespace lp
