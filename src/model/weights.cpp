// Hyperparameters and weight binding, driven by the architecture descriptions of model/arch.h
// (llama: Llama 1/2/3, Mistral, SmolLM2; qwen2; qwen3).
#include "model/weights.h"

#include <cmath>
#include <string>
#include <unordered_set>

#include "gguf/reader.h"
#include "kernels/kernel_table.h"
#include "llamaprof/error.h"
#include "model/arch.h"

namespace lp {
namespace {

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int positive_int(const gguf::File& file, const std::string& key, uint64_t value) {
  if (value == 0 || value > (1u << 30)) {
    throw Error(ErrorKind::InvalidFile,
                file.path() + ": key " + key + " = " + std::to_string(value) + " is out of range");
  }
  return int(value);
}

// A tensor with exactly the expected GGUF shape (ne[0] first); a third dimension stacks matrices.
WeightView bind(const gguf::File& file, const std::string& name, std::vector<int64_t> expected,
                bool require_f32 = false) {
  const gguf::TensorInfo* t = file.find_tensor(name);
  if (!t) throw Error(ErrorKind::InvalidFile, file.path() + ": missing tensor " + name);
  // GGUF may keep trailing unit dimensions; compare with them dropped.
  std::vector<int64_t> found = t->shape;
  while (found.size() > expected.size() && found.back() == 1) found.pop_back();
  if (found != expected) {
    throw Error(ErrorKind::InvalidFile, file.path() + ": tensor " + name + " has shape " +
                                            shape_str(t->shape) + ", expected " + shape_str(expected));
  }
  const TypeTraits* traits = type_traits(uint32_t(t->type));
  if (!traits) {
    throw Error(ErrorKind::Unsupported, file.path() + ": tensor " + name + " has unsupported type id " +
                                            std::to_string(uint32_t(t->type)));
  }
  if (require_f32 && t->type != TensorType::F32) {
    throw Error(ErrorKind::Unsupported, file.path() + ": tensor " + name + " has type " +
                                            std::string(traits->name) + ", only F32 is supported here");
  }
  WeightView v;
  v.name = name;
  v.type = t->type;
  v.n_cols = expected[0];
  v.n_mats = expected.size() > 2 ? expected[2] : 1;
  v.n_rows = (expected.size() > 1 ? expected[1] : 1) * v.n_mats;
  v.row_bytes = row_size(t->type, v.n_cols);
  v.data = t->data;
  return v;
}

// A matmul weight: its type needs an activation quantizer, a vec_dot and a gemm kernel.
WeightView bind_matrix(const gguf::File& file, const std::string& name, int64_t n_in, int64_t n_out,
                       int64_t n_mats = 0) {
  WeightView v = n_mats > 0 ? bind(file, name, {n_in, n_out, n_mats}) : bind(file, name, {n_in, n_out});
  const KernelTable& k = kernels();
  const TypeTraits& traits = type_traits(v.type);
  // An interleaved type has no row to take a vec_dot of: its kernels are whole-group gemms.
  if ((traits.row_group == 1 && !k.vec_dot[uint32_t(v.type)]) || !k.gemm[uint32_t(v.type)] ||
      !k.quantize_row[uint32_t(traits.vec_dot_type)]) {
    throw Error(ErrorKind::Unsupported, file.path() + ": tensor " + name + " has type " +
                                            std::string(traits.name) + ", which has no matmul kernel");
  }
  return v;
}

float get_f32(const gguf::File& file, const std::string& key, float fallback) {
  return float(file.get_f64(key, double(fallback)));
}

// The keys only some families have, with llama.cpp's defaults for each (src/models/<arch>.cpp's
// load_arch_hparams). p is "<arch>.".
void read_family_hparams(const gguf::File& file, const std::string& p, HParams& hp) {
  auto opt_u = [&](const std::string& key, int fallback) {
    return positive_int(file, p + key, file.get_u64(p + key, uint64_t(fallback)));
  };
  if (hp.arch == "gemma2" || hp.arch == "gemma3") {
    const bool gemma2 = hp.arch == "gemma2";
    // gemma2: a 4096 window on every other layer even without the key; gemma3: windows only when
    // the key is present and non-zero, on 5 of every 6 layers.
    if (gemma2 && !file.find(p + "attention.sliding_window")) hp.sliding_window = 4096;
    if (hp.sliding_window > 0) hp.swa_period = opt_u("attention.sliding_window_pattern", gemma2 ? 2 : 6);
    // The windowed layers' RoPE: gemma2 shares the global base and scale; gemma3's default base
    // is 10000 and its windowed layers are never position-scaled (4B+: linear x8 on global ones).
    hp.rope_freq_base_swa = get_f32(file, p + "rope.freq_base_swa", gemma2 ? hp.rope_freq_base : 10000.0f);
    hp.rope_freq_scale_swa = gemma2 ? hp.rope_freq_scale : 1.0f;
    if (gemma2) hp.attn_softcap = get_f32(file, p + "attn_logit_softcapping", 50.0f);
    hp.final_softcap = get_f32(file, p + "final_logit_softcapping", gemma2 ? 30.0f : 0.0f);
    // Query scale (gemma_pytorch's query_pre_attn_scalar): 1/sqrt(head_dim), except on the 27B
    // models (46 layers for Gemma 2, 62 for Gemma 3) where it is 1/sqrt(n_embd / n_head); llama.cpp
    // tells them apart by the layer count, as do we.
    const bool is_27b = hp.n_layer == (gemma2 ? 46 : 62);
    hp.attn_scale = 1.0f / std::sqrt(float(is_27b ? hp.n_embd / hp.n_head : hp.head_dim));
  } else if (hp.arch == "phi3") {
    // llama.cpp disables Phi-3's sliding window (converters wrote wrong values; see
    // src/models/phi3.cpp): the key is read and not used, by both engines.
    hp.sliding_window = 0;
    hp.attn_scale = 1.0f / std::sqrt(float(hp.head_dim));
  } else if (hp.arch == "qwen3moe") {
    hp.n_expert = positive_int(file, p + "expert_count", file.get_u64(p + "expert_count"));
    hp.n_expert_used = positive_int(file, p + "expert_used_count", file.get_u64(p + "expert_used_count"));
    if (hp.n_expert_used > hp.n_expert) {
      throw Error(ErrorKind::InvalidFile, file.path() + ": " + p + "expert_used_count " + std::to_string(hp.n_expert_used) +
                                              " exceeds expert_count " + std::to_string(hp.n_expert));
    }
    hp.n_ff_exp = opt_u("expert_feed_forward_length", hp.n_ff / hp.n_expert_used);
    // llama.cpp's qwen3moe always renormalizes the top-k weights (norm_topk_prob) and scales them
    // by expert_weights_scale when that is neither 0 nor 1; a file asking for no renormalization
    // would run wrongly in both engines.
    if (const gguf::Value* v = file.find(p + "expert_weights_norm"); v && !v->as_bool()) {
      throw Error(ErrorKind::Unsupported, file.path() + ": " + p +
                                              "expert_weights_norm = false (qwen3moe renormalizes the selected "
                                              "experts' weights; llama.cpp ignores the key too)");
    }
    const float w_scale = get_f32(file, p + "expert_weights_scale", 0.0f);
    hp.expert_weights_scale = w_scale == 0.0f ? 1.0f : w_scale;
  }
  hp.rope_attn_factor = get_f32(file, p + "rope.scaling.attn_factor", 1.0f);
  hp.n_ctx_orig = opt_u("rope.scaling.original_context_length", hp.n_ctx_train);
}

}  // namespace

HParams read_hparams(const gguf::File& file) {
  HParams hp;
  hp.arch = file.get_string("general.architecture");
  if (!find_arch(hp.arch)) {
    throw Error(ErrorKind::Unsupported, file.path() + ": unsupported architecture '" + hp.arch +
                                            "' (llamaprof runs: " + supported_arch_names() + ")");
  }
  const std::string p = hp.arch + ".";
  auto req = [&](const std::string& key) { return positive_int(file, p + key, file.get_u64(p + key)); };
  auto opt = [&](const std::string& key, int fallback) {
    return positive_int(file, p + key, file.get_u64(p + key, uint64_t(fallback)));
  };
  hp.n_ctx_train = req("context_length");
  hp.n_embd = req("embedding_length");
  hp.n_layer = req("block_count");
  hp.n_ff = req("feed_forward_length");
  hp.n_head = req("attention.head_count");
  hp.n_head_kv = opt("attention.head_count_kv", hp.n_head);
  // The head size is attention.key_length when present (Qwen3: 128 on every size, so Q is not
  // n_embd wide; Mistral Nemo likewise), else n_embd / n_head.
  const bool has_key_length = file.find(p + "attention.key_length") != nullptr;
  if (hp.n_head % hp.n_head_kv != 0 || (!has_key_length && hp.n_embd % hp.n_head != 0)) {
    throw Error(ErrorKind::InvalidFile,
                file.path() + ": embedding_length " + std::to_string(hp.n_embd) + ", head_count " +
                    std::to_string(hp.n_head) + " and head_count_kv " + std::to_string(hp.n_head_kv) +
                    " do not divide evenly");
  }
  hp.head_dim = has_key_length ? req("attention.key_length") : hp.n_embd / hp.n_head;
  if (const int v = opt("attention.value_length", hp.head_dim); v != hp.head_dim) {
    throw Error(ErrorKind::Unsupported, file.path() + ": " + p + "attention.value_length " + std::to_string(v) +
                                            " differs from the key length " + std::to_string(hp.head_dim) +
                                            " (llamaprof needs K and V heads of one size)");
  }
  hp.n_rot = opt("rope.dimension_count", hp.head_dim);
  if (hp.n_rot > hp.head_dim || hp.n_rot % 2 != 0) {
    throw Error(ErrorKind::InvalidFile, file.path() + ": rope.dimension_count " + std::to_string(hp.n_rot) +
                                            " must be even and at most the head size " +
                                            std::to_string(hp.head_dim));
  }
  hp.rms_eps = float(file.get_f64(p + "attention.layer_norm_rms_epsilon", 1e-5));
  hp.rope_freq_base = float(file.get_f64(p + "rope.freq_base", 10000.0));

  // RoPE scaling: "linear" divides positions by the factor (freq_scale = 1 / factor). The older
  // key rope.scale_linear carries the factor directly. Llama 3.1+'s "llama3" scaling writes no key:
  // the converter stores its per-pair factors as rope_freqs.weight (bound with the weights).
  const std::string scaling = file.get_string(p + "rope.scaling.type", "none");
  double factor = file.get_f64(p + "rope.scaling.factor", 0.0);
  if (scaling == "linear" || (scaling == "none" && file.find(p + "rope.scale_linear"))) {
    if (factor <= 0) factor = file.get_f64(p + "rope.scale_linear", 1.0);
    if (factor > 0) hp.rope_freq_scale = float(1.0 / factor);
  } else if (scaling != "none") {
    throw Error(ErrorKind::Unsupported, file.path() + ": unsupported RoPE scaling type '" + scaling +
                                            "' (key " + p + "rope.scaling.type)");
  }
  hp.sliding_window = int(file.get_u64(p + "attention.sliding_window", 0));
  read_family_hparams(file, p, hp);

  // The vocabulary size is the embedding's row count; <arch>.vocab_size, when written, must agree.
  if (const gguf::TensorInfo* e = file.find_tensor("token_embd.weight"); e && e->shape.size() >= 2) {
    hp.n_vocab = int(e->shape[1]);
  } else if (const gguf::Value* v = file.find("tokenizer.ggml.tokens"); v && v->is_array()) {
    hp.n_vocab = int(v->as_array().items.size());
  }
  if (file.find(p + "vocab_size") && hp.n_vocab > 0) {
    const uint64_t declared = file.get_u64(p + "vocab_size");
    if (declared != uint64_t(hp.n_vocab)) {
      throw Error(ErrorKind::InvalidFile, file.path() + ": key " + p + "vocab_size = " + std::to_string(declared) +
                                              " but token_embd.weight has " + std::to_string(hp.n_vocab) + " rows");
    }
  }
  return hp;
}

ModelWeights bind_weights(const gguf::File& file, const HParams& hp) {
  const ArchDesc* arch = find_arch(hp.arch);
  if (!arch) {
    throw Error(ErrorKind::Unsupported, file.path() + ": unsupported architecture '" + hp.arch +
                                            "' (llamaprof runs: " + supported_arch_names() + ")");
  }
  const int64_t n_embd = hp.n_embd, n_vocab = hp.n_vocab;
  if (!file.find_tensor("token_embd.weight")) {
    throw Error(ErrorKind::InvalidFile, file.path() + ": missing tensor token_embd.weight");
  }
  std::unordered_set<std::string> bound;  // every tensor name used, to refuse the others
  ModelWeights w;
  w.arch = arch;
  w.token_embd = bind(file, "token_embd.weight", {n_embd, n_vocab});
  if (type_traits(w.token_embd.type).row_group > 1) {  // the embedding lookup reads single rows
    throw Error(ErrorKind::Unsupported, file.path() + ": tensor token_embd.weight has type " +
                                            std::string(type_traits(w.token_embd.type).name) +
                                            ", an interleaved layout for matmul weights only: its rows cannot be "
                                            "looked up one at a time");
  }
  w.output_norm = bind(file, "output_norm.weight", {n_embd}, /*require_f32=*/true);
  bound.insert({"token_embd.weight", "output_norm.weight"});
  if ((file.find_tensor("output.weight") && arch->output != Need::Absent) || arch->output == Need::Required) {
    w.output = bind_matrix(file, "output.weight", n_embd, n_vocab);
    bound.insert("output.weight");
  } else {
    // Tied embeddings (Llama 3.2 1B/3B, Qwen2.5 0.5B-3B, SmolLM2): the output reuses token_embd.
    w.output = bind_matrix(file, "token_embd.weight", n_embd, n_vocab);
    w.output_tied = true;
  }
  if (arch->rope_freqs == Need::Required || (arch->rope_freqs == Need::Optional && file.find_tensor("rope_freqs.weight"))) {
    w.rope_freqs = bind(file, "rope_freqs.weight", {hp.n_rot / 2}, /*require_f32=*/true);
    bound.insert("rope_freqs.weight");
  }

  if (arch->rope_long_short == Need::Required ||
      (arch->rope_long_short == Need::Optional &&
       (file.find_tensor("rope_factors_long.weight") || file.find_tensor("rope_factors_short.weight")))) {
    w.rope_long = bind(file, "rope_factors_long.weight", {hp.n_rot / 2}, /*require_f32=*/true);
    w.rope_short = bind(file, "rope_factors_short.weight", {hp.n_rot / 2}, /*require_f32=*/true);
    bound.insert({"rope_factors_long.weight", "rope_factors_short.weight"});
  }

  const DimSizes dim{hp.n_embd, hp.n_embd_q(), hp.n_embd_kv(), hp.n_ff, hp.head_dim, hp.n_expert, hp.n_ff_exp};

  w.layers.resize(size_t(hp.n_layer));
  for (int il = 0; il < hp.n_layer; ++il) {
    const std::string b = "blk." + std::to_string(il) + ".";
    LayerWeights& l = w.layers[size_t(il)];
    for (const LayerTensorRule& rule : layer_tensor_rules()) {
      const Need need = rule.need ? arch->*rule.need : Need::Required;
      const std::string name = b + std::string(rule.suffix);
      if (need == Need::Absent || (need == Need::Optional && !file.find_tensor(name))) continue;
      l.*rule.member = rule.d1 == Dim::None ? bind(file, name, {dim(rule.d0)}, /*require_f32=*/true)
                                            : bind_matrix(file, name, dim(rule.d0), dim(rule.d1),
                                                          rule.d2 == Dim::None ? 0 : dim(rule.d2));
      bound.insert(name);
    }
    // Fused matrices (phi3) are read through row views: nothing is copied.
    if (l.wqkv.present()) {
      l.wq = l.wqkv.rows(0, dim.q);
      l.wk = l.wqkv.rows(dim.q, dim.kv);
      l.wv = l.wqkv.rows(dim.q + dim.kv, dim.kv);
    }
    if (l.ffn_gate_up.present()) {
      l.ffn_gate = l.ffn_gate_up.rows(0, hp.n_ff);
      l.ffn_up = l.ffn_gate_up.rows(hp.n_ff, hp.n_ff);
    }
  }
  // A tensor we would not read means a file we would run wrongly (a bias or norm of another
  // architecture): refuse it, as llama.cpp does ("wrong number of tensors").
  for (const gguf::TensorInfo& t : file.tensors()) {
    if (!bound.count(t.name)) {
      throw Error(ErrorKind::Unsupported, file.path() + ": tensor " + t.name + " is not used by architecture '" +
                                              hp.arch + "' as llamaprof runs it");
    }
  }
  return w;
}

}  // namespace lp
