// Architecture presets for `llamaprof make-model`: real llama-family shapes (Llama 2 7B, Mistral 7B,
// TinyLlama 1.1B) and small test and demo shapes. All use the Llama 2 vocabulary (32000 tokens)
// unless another vocabulary is given.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace lp::model {

struct ModelPreset {
  std::string_view name;
  std::string_view description;
  int n_embd;          // llama.embedding_length
  int n_layer;         // llama.block_count
  int n_ff;            // llama.feed_forward_length
  int n_head;          // llama.attention.head_count
  int n_head_kv;       // llama.attention.head_count_kv (== n_head: multi-head attention)
  int n_ctx_train;     // llama.context_length
  float rope_theta;    // llama.rope.freq_base
  float rms_norm_eps;  // llama.attention.layer_norm_rms_epsilon
  int sliding_window;  // llama.attention.sliding_window; 0: key absent
  bool small;          // a test / demo preset (the oracle tests cover every type of these)

  int head_dim() const { return n_embd / n_head; }
  int n_embd_kv() const { return head_dim() * n_head_kv; }  // rows of attn_k / attn_v
};

constexpr int kLlama2VocabSize = 32000;

std::span<const ModelPreset> presets();
// nullptr when unknown.
const ModelPreset* find_preset(std::string_view name);

}  // namespace lp::model
