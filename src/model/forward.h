// The forward pass of every architecture llamaprof runs (model/arch.h): one imperative function for a batch of tokens at consecutive
// positions of one or several sequences. Prompt chunks, single-token decode and the server's
// batched decode steps all go through it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>

#include "kernels/ops.h"
#include "llamaprof/model.h"
#include "model/kv_cache.h"
#include "model/matmul.h"
#include "model/moe.h"

namespace lp {

class ThreadPool;

// Operations the forward pass times when op profiling is on.
enum class Op : int {
  Embed, Norm, MatmulQKV, Rope, KvStore, Attention, MatmulO, MatmulGateUp, SiluMul, MatmulDown,
  Add, Output, Count
};
const char* op_name(Op op);

struct OpProfile {
  bool enabled = false;
  std::array<double, size_t(Op::Count)> ms{};
  std::array<int64_t, size_t(Op::Count)> calls{};
};

// Times a scope into an OpProfile; a disabled profile costs one branch and no clock reads.
class OpTimer {
 public:
  OpTimer(OpProfile& p, Op op) : p_(p.enabled ? &p : nullptr), op_(op) {
    if (p_) t0_ = std::chrono::steady_clock::now();
  }
  ~OpTimer() {
    if (!p_) return;
    p_->ms[size_t(op_)] += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_).count();
    ++p_->calls[size_t(op_)];
  }

 private:
  OpProfile* p_;
  Op op_;
  std::chrono::steady_clock::time_point t0_;
};

// Everything the forward pass writes, sized once per context for up to max_tokens per pass.
struct ForwardBuffers {
  ForwardBuffers(const Model& model, int max_tokens, int n_ctx, int n_threads);

  int max_tokens;
  std::unique_ptr<float[]> x;        // [max_tokens][n_embd] residual stream
  std::unique_ptr<float[]> xb;       // [max_tokens][max(n_embd, n_embd_q)] normed input (n_embd wide)
                                     // or attention output (n_embd_q = n_head * head_dim wide)
  std::unique_ptr<float[]> xb2;      // [max_tokens][n_embd] projection output
  std::unique_ptr<float[]> q;        // [max_tokens][n_embd_q]
  std::unique_ptr<float[]> k;        // [max_tokens][n_embd_kv]
  std::unique_ptr<float[]> v;        // [max_tokens][n_embd_kv]
  std::unique_ptr<float[]> gate;     // [max_tokens][n_ff]
  std::unique_ptr<float[]> up;       // [max_tokens][n_ff]
  std::unique_ptr<float[]> att_scratch;  // attention_scratch_floats(...)
  size_t att_scratch_floats = 0;
  Activations acts;                  // quantized activation rows, [max_tokens][<= n_ff]
  std::unique_ptr<MoeScratch> moe;   // mixture-of-experts models only
};

// Deliberate mistakes, so that the parity tests can show that each architectural detail matters
// (LLAMAPROF_DEBUG_ROPE=flip, LLAMAPROF_DEBUG_DROP=rope_freqs,qk_norm,qkv_bias,softcap,post_norm,
// swa,expert_norm; context.cpp).
struct ForwardDebug {
  bool flip_rope_layout = false;  // Normal <-> Neox against the architecture's layout
  bool drop_rope_freqs = false;   // also phi3's long/short factors
  bool drop_qk_norm = false;
  bool drop_qkv_bias = false;
  bool drop_softcap = false;      // gemma: no attention or final-logit soft-capping
  bool drop_post_norm = false;    // gemma: no post-attention / post-FFN norms
  bool drop_swa = false;          // gemma: every layer global (no window, the global RoPE base)
  MoeDebug moe;                   // expert_norm: the top-k weights not renormalized
};

struct ForwardOptions {
  AttentionPrecision attention_precision = AttentionPrecision::F32;
  ForwardDebug debug;
};

// A run of consecutive rows of one batch that belong to one sequence: they are at positions
// cache->n_past() .. + n - 1 of that sequence's cache. The server batches several sequences
// (one KV cache per slot) into one pass: the weight mat-muls run once over all rows, while RoPE,
// the KV store and attention go per segment. All segments' caches have the same n_ctx.
struct ForwardSegment {
  KvCache* cache = nullptr;
  int n = 0;
  bool logits = false;  // write the logits of this segment's last row
};

// Evaluates tokens[0..sum of n) as the given segments, in order (total rows <= buffers.max_tokens,
// the caller checked the context lengths and the token ids), stores their K/V in each segment's
// cache and advances its n_past. Writes logits: of every row to logits[i * n_vocab] when
// all_logits, else of the last row of each segment that asks, one after the other; none when
// logits is null. hidden, when not null, receives every row's hidden state after the output norm
// ([n][n_embd]: the token embeddings).
void forward(const Model& model, const int32_t* tokens, std::span<const ForwardSegment> segments,
             ForwardBuffers& buf, ThreadPool& pool, bool all_logits, float* logits, const ForwardOptions& options,
             OpProfile& profile, float* hidden = nullptr);

// One sequence: tokens[0..n) at positions cache.n_past() .. + n - 1; the logits of the last
// position (or every position when all_logits).
inline void forward(const Model& model, const int32_t* tokens, int n, KvCache& cache, ForwardBuffers& buf,
                    ThreadPool& pool, bool all_logits, float* logits, const ForwardOptions& options,
                    OpProfile& profile, float* hidden = nullptr) {
  const ForwardSegment seg{&cache, n, logits != nullptr};
  forward(model, tokens, std::span<const ForwardSegment>(&seg, 1), buf, pool, all_logits, logits, options, profile,
          hidden);
}

}  // namespace lp
