// Architecture presets for `llamaprof make-model`: real shapes (Llama 2 7B, Mistral 7B, TinyLlama
// 1.1B, Llama 3.x, Qwen2.5, Qwen3, SmolLM2, Gemma 2/3, Phi-3/3.5, Qwen3-30B-A3B) and small test
// and demo shapes. A preset with `vocab`
// uses that vocabulary file of the llama.cpp bundle (its real tokenizer); the others use the
// Llama 2 vocabulary (32000 tokens) unless another vocabulary is given.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace lp::model {

// Llama 3.1+ RoPE scaling (HF rope_scaling.rope_type "llama3"): make-model writes the per-pair
// frequency factors it implies as rope_freqs.weight, as llama.cpp's converter does.
struct Llama3Rope {
  float factor = 0;            // 0: no llama3 scaling (no rope_freqs.weight)
  float low_freq_factor = 1;
  float high_freq_factor = 4;
  int original_context = 8192;  // original_max_position_embeddings
};

struct ModelPreset {
  std::string_view name;
  std::string_view description;
  int n_embd;          // <arch>.embedding_length
  int n_layer;         // <arch>.block_count
  int n_ff;            // <arch>.feed_forward_length
  int n_head;          // <arch>.attention.head_count
  int n_head_kv;       // <arch>.attention.head_count_kv (== n_head: multi-head attention)
  int n_ctx_train;     // <arch>.context_length
  float rope_theta;    // <arch>.rope.freq_base
  float rms_norm_eps;  // <arch>.attention.layer_norm_rms_epsilon
  int sliding_window;  // <arch>.attention.sliding_window; 0: key absent
  bool small;          // a test / demo preset (the oracle tests cover every type of these)
  std::string_view arch = "llama";  // general.architecture (model/arch.h)
  int key_length = 0;  // <arch>.attention.key_length/value_length; 0: n_embd / n_head, keys absent
  bool tied_output = false;  // no output.weight (the output reuses token_embd.weight)
  Llama3Rope llama3_rope{};
  std::string_view vocab{};  // vocabulary GGUF in the llama.cpp bundle's models/; empty: Llama 2
  // The newer families' keys (model/arch.h); 0 leaves the key out.
  float rope_linear = 0;      // <arch>.rope.scaling.type "linear" with this factor (gemma3 4B+: 8)
  int swa_period = 0;         // <arch>.attention.sliding_window_pattern (gemma; default 2 / 6 without it)
  float attn_softcap = 0;     // <arch>.attn_logit_softcapping (gemma2)
  float final_softcap = 0;    // <arch>.final_logit_softcapping (gemma2, gemma3)
  int n_ctx_orig = 0;         // phi3 128k: rope.scaling.original_context_length, attn_factor and the
                              // rope_factors_{long,short}.weight tensors
  int n_expert = 0;           // qwen3moe: expert_count, expert_used_count, expert_feed_forward_length
  int n_expert_used = 0;
  int n_ff_exp = 0;

  int head_dim() const { return key_length > 0 ? key_length : n_embd / n_head; }
  int n_embd_q() const { return head_dim() * n_head; }      // rows of attn_q, columns of attn_output
  int n_embd_kv() const { return head_dim() * n_head_kv; }  // rows of attn_k / attn_v
};

constexpr int kLlama2VocabSize = 32000;

std::span<const ModelPreset> presets();
// nullptr when unknown.
const ModelPreset* find_preset(std::string_view name);

}  // namespace lp::model
