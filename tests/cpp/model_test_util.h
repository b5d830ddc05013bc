// Builds small GGUF files (llama, qwen2, qwen3 and any other architecture name) for the model tests with lp::gguf::Writer: a byte-level
// SentencePiece vocabulary and random weights (seeded), scaled so that attention is sharp and the
// logits spread out. Options break the file on purpose (missing tensor, wrong shape, other arch).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "gguf/writer.h"
#include "llamaprof/context.h"
#include "llamaprof/error.h"
#include "llamaprof/model.h"
#include "quant/quantize.h"
#include "quant/type_traits.h"

namespace lp::test {

// Logits of `prompt` evaluated in one batch and token by token: finite, some above min_abs in
// magnitude, and the two within max_diff of each other.
inline void expect_batch_matches_single(const Model& m, const std::vector<TokenId>& prompt, int n_ctx,
                                        float min_abs, float max_diff) {
  ContextParams p;
  p.n_ctx = n_ctx;
  p.n_threads = 2;
  Context batch(m, p), single(m, p);
  const auto a = batch.eval(prompt);
  std::vector<float> first(a.begin(), a.end());
  std::span<const float> b;
  for (TokenId t : prompt) b = single.eval(std::span<const TokenId>(&t, 1));
  float largest = 0, diff = 0;
  for (size_t i = 0; i < first.size(); ++i) {
    ASSERT_TRUE(std::isfinite(first[i]));
    largest = std::max(largest, std::fabs(first[i]));
    diff = std::max(diff, std::fabs(first[i] - b[i]));
  }
  EXPECT_GT(largest, min_abs);
  EXPECT_LT(diff, max_diff);
}

// Runs fn, expects an lp::Error of `kind` whose message contains every one of `parts`.
template <typename Fn>
void expect_error(Fn&& fn, ErrorKind kind, std::initializer_list<std::string> parts) {
  try {
    fn();
    FAIL() << "no error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(int(e.kind()), int(kind)) << e.what();
    for (const std::string& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

struct TinyModelSpec {
  std::string arch = "llama";
  int n_embd = 64;
  int n_layer = 2;
  int n_head = 4;
  int n_head_kv = 2;
  int n_ff = 96;
  int n_ctx_train = 256;
  int sliding_window = 0;
  bool tie_output = false;            // omit output.weight
  TensorType matrix_type = TensorType::F32;
  uint32_t seed = 7;
  std::string omit_tensor;            // leave this tensor out
  std::string reshape_tensor;         // give this tensor shape `reshape_to`
  std::vector<int64_t> reshape_to;
  std::map<std::string, TensorType> type_override;  // per-tensor type
  int key_length = 0;                 // <arch>.attention.key_length (0: absent, head_dim = n_embd / n_head)
  int value_length = 0;               // <arch>.attention.value_length (0: absent)
  bool qkv_bias = false;              // blk.N.attn_{q,k,v}.bias (qwen2)
  bool qk_norm = false;               // blk.N.attn_{q,k}_norm.weight (qwen3)
  int rope_freqs = 0;                 // rope_freqs.weight of this many factors (0: absent)
  int64_t vocab_size_key = 0;         // <arch>.vocab_size (0: absent)
  std::vector<std::string> extra_tensors;  // F32 [n_embd] tensors of these names
  std::string chat_template;          // tokenizer.chat_template (empty: absent)
};

// <unk>, <s>, </s>, 256 byte tokens, then a few pieces.
inline std::vector<std::string> tiny_vocab() {
  std::vector<std::string> v = {"<unk>", "<s>", "</s>"};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    v.push_back(buf);
  }
  const std::string space = "\xe2\x96\x81";  // U+2581, SentencePiece's space
  for (const char* p : {"", "t", "the", "a", "an"}) v.push_back(space + p);
  for (const char* p : {"he", "th", "e", "t", "h", "a", "n", "d"}) v.push_back(p);
  return v;
}

// Writes the model to `path` and returns it. Weight matrices get N(0, s^2) entries with s chosen
// so that each projection roughly preserves the activation scale, times a gain for sharpness.
inline std::string write_tiny_model(const std::string& path, const TinyModelSpec& spec = {}) {
  gguf::Writer w;
  const std::string a = spec.arch;
  w.set("general.architecture", gguf::Value::str(a));
  w.set("general.name", gguf::Value::str("tiny-test"));
  w.set(a + ".context_length", gguf::Value::u32(uint32_t(spec.n_ctx_train)));
  w.set(a + ".embedding_length", gguf::Value::u32(uint32_t(spec.n_embd)));
  w.set(a + ".block_count", gguf::Value::u32(uint32_t(spec.n_layer)));
  w.set(a + ".feed_forward_length", gguf::Value::u32(uint32_t(spec.n_ff)));
  w.set(a + ".attention.head_count", gguf::Value::u32(uint32_t(spec.n_head)));
  w.set(a + ".attention.head_count_kv", gguf::Value::u32(uint32_t(spec.n_head_kv)));
  const int head_dim = spec.key_length > 0 ? spec.key_length : spec.n_embd / spec.n_head;
  w.set(a + ".rope.dimension_count", gguf::Value::u32(uint32_t(head_dim)));
  if (spec.key_length > 0) w.set(a + ".attention.key_length", gguf::Value::u32(uint32_t(spec.key_length)));
  if (spec.value_length > 0) w.set(a + ".attention.value_length", gguf::Value::u32(uint32_t(spec.value_length)));
  if (spec.vocab_size_key > 0) w.set(a + ".vocab_size", gguf::Value::u32(uint32_t(spec.vocab_size_key)));
  w.set(a + ".attention.layer_norm_rms_epsilon", gguf::Value::f32(1e-5f));
  if (spec.sliding_window > 0) w.set(a + ".attention.sliding_window", gguf::Value::u32(uint32_t(spec.sliding_window)));

  const std::vector<std::string> vocab = tiny_vocab();
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (size_t i = 0; i < vocab.size(); ++i) {
    types.push_back(i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1);
    scores.push_back(i < 259 ? 0.0f : -float(i));
  }
  w.set("tokenizer.ggml.model", gguf::Value::str("llama"));
  w.set("tokenizer.ggml.tokens", gguf::Value::string_array(vocab));
  w.set("tokenizer.ggml.scores", gguf::Value::f32_array(scores));
  w.set("tokenizer.ggml.token_type", gguf::Value::i32_array(types));
  w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(1));
  w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(2));
  if (!spec.chat_template.empty()) w.set("tokenizer.chat_template", gguf::Value::str(spec.chat_template));
  w.set("tokenizer.ggml.unknown_token_id", gguf::Value::u32(0));

  const int64_t n_vocab = int64_t(vocab.size()), e = spec.n_embd, ff = spec.n_ff;
  const int64_t kv = int64_t(spec.n_head_kv) * head_dim, q = int64_t(spec.n_head) * head_dim;
  std::mt19937 rng(spec.seed);
  // Keep each tensor's bytes alive until write(): the Writer holds spans.
  static std::vector<std::vector<uint8_t>> storage;
  storage.clear();
  storage.reserve(64);
  auto add = [&](const std::string& name, std::vector<int64_t> shape, float stddev, float mean, bool matrix) {
    if (name == spec.omit_tensor) return;
    if (name == spec.reshape_tensor) shape = spec.reshape_to;
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::normal_distribution<float> dist(mean, stddev);
    std::vector<float> values(static_cast<size_t>(n));
    for (float& x : values) x = dist(rng);
    TensorType type = matrix ? spec.matrix_type : TensorType::F32;
    if (auto it = spec.type_override.find(name); it != spec.type_override.end()) type = it->second;
    const int64_t rows = n / shape[0];
    const size_t rb = row_size(type, shape[0]);
    storage.emplace_back(rb * size_t(rows));
    for (int64_t r = 0; r < rows; ++r) {
      quantize_row_ref(type, values.data() + r * shape[0], storage.back().data() + size_t(r) * rb, shape[0]);
    }
    w.add_tensor(name, type, shape, std::span<const uint8_t>(storage.back()));
  };
  const float s_in = 1.0f / std::sqrt(float(e)), s_ff = 1.0f / std::sqrt(float(ff));
  add("token_embd.weight", {e, n_vocab}, 1.0f, 0.0f, true);
  add("output_norm.weight", {e}, 0.1f, 1.0f, false);
  if (!spec.tie_output) add("output.weight", {e, n_vocab}, 4.0f * s_in, 0.0f, true);
  if (spec.rope_freqs > 0) add("rope_freqs.weight", {spec.rope_freqs}, 0.5f, 4.0f, false);
  for (const std::string& name : spec.extra_tensors) add(name, {e}, 0.1f, 1.0f, false);
  for (int il = 0; il < spec.n_layer; ++il) {
    const std::string b = "blk." + std::to_string(il) + ".";
    add(b + "attn_norm.weight", {e}, 0.1f, 1.0f, false);
    add(b + "attn_q.weight", {e, q}, 3.0f * s_in, 0.0f, true);
    add(b + "attn_k.weight", {e, kv}, 3.0f * s_in, 0.0f, true);
    add(b + "attn_v.weight", {e, kv}, s_in, 0.0f, true);
    if (spec.qkv_bias) {
      add(b + "attn_q.bias", {q}, 0.5f, 0.0f, false);
      add(b + "attn_k.bias", {kv}, 0.5f, 0.0f, false);
      add(b + "attn_v.bias", {kv}, 0.2f, 0.0f, false);
    }
    if (spec.qk_norm) {
      add(b + "attn_q_norm.weight", {head_dim}, 0.1f, 2.0f, false);
      add(b + "attn_k_norm.weight", {head_dim}, 0.1f, 2.0f, false);
    }
    add(b + "attn_output.weight", {q, e}, s_in, 0.0f, true);
    add(b + "ffn_norm.weight", {e}, 0.1f, 1.0f, false);
    add(b + "ffn_gate.weight", {e, ff}, s_in, 0.0f, true);
    add(b + "ffn_up.weight", {e, ff}, s_in, 0.0f, true);
    add(b + "ffn_down.weight", {ff, e}, s_ff, 0.0f, true);
  }
  w.write(path);
  return path;
}

// A file in this process's scratch directory, removed with everything in it at exit.
inline std::string temp_path(const std::string& name) {
  struct ScratchDir {
    std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                ("llamaprof_model_test_" + std::to_string(::getpid()));
    ScratchDir() { std::filesystem::create_directories(dir); }
    ~ScratchDir() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  };
  static ScratchDir scratch;
  return (scratch.dir / name).string();
}

}  // namespace lp::test
