// An inference context over a Model: the KV cache, the scratch buffers and the worker threads,
// all sized once at construction. eval() runs the forward pass over a batch of tokens; prompt
// evaluation (many tokens, split into chunks of n_batch) and single-token decode share one
// forward function.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llamaprof/kv_type.h"
#include "llamaprof/model.h"

namespace lp {

class ThreadPool;

struct ContextParams {
  int n_ctx = 0;         // KV cache length in tokens; 0: min(n_ctx_train, 4096)
  int n_batch = 512;     // tokens per forward pass during prompt evaluation
  int n_threads = 0;     // 0: one per physical core
  bool logits_all = false;  // keep the logits of every position of the last eval(), not only the last
  // Also keep the hidden state after the output norm of every position of the last eval()
  // (the token embeddings that llamaprof/embed.h pools).
  bool embeddings = false;
  // Element types of the KV cache (llama-cpp-python's type_k / type_v): F16 (default), F32, or
  // Q8_0 (34 bytes per 32 elements: about half of F16; needs head_dim % 32 == 0).
  KvType type_k = KvType::F16;
  KvType type_v = KvType::F16;
};

// Per-operation time inside the forward pass, collected only when op profiling is on.
struct OpTime {
  std::string name;  // "matmul_qkv", "attention", ...
  double ms = 0;
  int64_t calls = 0;
};

// Always-on counters (a few clock reads per forward pass).
struct EvalStats {
  int64_t n_evals = 0;    // forward passes
  int64_t n_tokens = 0;   // tokens through them
  double eval_ms = 0;     // wall time inside forward passes
};

class Context {
 public:
  // Allocates the F16 KV cache and the scratch buffers and starts the worker threads.
  // Throws lp::Error(InvalidArgument) for a bad n_ctx / n_batch.
  Context(const Model& model, const ContextParams& params = {});
  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;
  ~Context();

  // Evaluates tokens at positions n_past() .. n_past() + size - 1 (in forward passes of at most
  // n_batch tokens) and appends them to the KV cache. Returns the logits of the last position
  // (n_vocab floats, valid until the next eval()). Throws lp::Error(InvalidArgument) naming both
  // lengths when the tokens do not fit in the context, or naming a token id out of the vocabulary;
  // nothing is evaluated then.
  std::span<const float> eval(std::span<const TokenId> tokens);
  // The same, keeping the logits of every position of this call when all_logits (logits_at(i)),
  // as a context with logits_all does: speculative decoding verifies its drafts so.
  std::span<const float> eval(std::span<const TokenId> tokens, bool all_logits);

  // Logits of the last position of the last eval().
  std::span<const float> logits() const;
  // Logits of position i (0-based within the last eval() call); needs logits_all (or the last
  // eval() called with all_logits).
  std::span<const float> logits_at(int i) const;

  // Hidden state after the output norm at position i of the last eval() (n_embd floats);
  // needs ContextParams::embeddings.
  std::span<const float> embeddings_at(int i) const;
  int n_outputs() const;  // positions of the last eval() (0 after kv_clear)
  size_t kv_cache_bytes() const;  // the KV cache's allocation

  // The context's state as bytes: the KV rows of positions [0, n_past()), n_past() and the
  // logits of the last eval(). load_state() restores it into a context of the same model with
  // at least as long a context; a continuation after it is the same as after the saved one.
  // Throws lp::Error(InvalidArgument) naming what does not match.
  std::string save_state() const;
  void load_state(std::string_view state);

  int n_past() const;    // tokens in the KV cache
  int n_ctx() const;
  int n_batch() const;
  int n_threads() const;
  void kv_clear();           // forget everything
  void kv_truncate(int n);   // keep the first n tokens (n <= n_past())

  const Model& model() const;

  // Profiling. Op detail costs nothing while off (one branch per op, outside inner loops).
  void set_op_profiling(bool on);
  bool op_profiling() const;
  std::vector<OpTime> op_times() const;
  EvalStats stats() const;
  void reset_stats();   // clears op times and eval stats
  ThreadPool& thread_pool();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lp
