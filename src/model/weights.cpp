// Hyperparameters and weight binding, driven by the architecture descriptions of model/arch.h
// (llama: Llama 1/2/3, Mistral, SmolLM2; qwen2; qwen3).
#include "model/weights.h"

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

// A tensor with exactly the expected GGUF shape (ne[0] first).
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
  v.n_rows = expected.size() > 1 ? expected[1] : 1;
  v.row_bytes = row_size(t->type, v.n_cols);
  v.data = t->data;
  return v;
}

// A matmul weight: its type needs an activation quantizer, a vec_dot and a gemm kernel.
WeightView bind_matrix(const gguf::File& file, const std::string& name, int64_t n_in, int64_t n_out) {
  WeightView v = bind(file, name, {n_in, n_out});
  const KernelTable& k = kernels();
  const TypeTraits& traits = type_traits(v.type);
  if (!k.vec_dot[uint32_t(v.type)] || !k.gemm[uint32_t(v.type)] ||
      !k.quantize_row[uint32_t(traits.vec_dot_type)]) {
    throw Error(ErrorKind::Unsupported, file.path() + ": tensor " + name + " has type " +
                                            std::string(traits.name) + ", which has no matmul kernel");
  }
  return v;
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
  w.output_norm = bind(file, "output_norm.weight", {n_embd}, /*require_f32=*/true);
  bound.insert({"token_embd.weight", "output_norm.weight"});
  if (file.find_tensor("output.weight") || arch->output == Need::Required) {
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

  const DimSizes dim{hp.n_embd, hp.n_embd_q(), hp.n_embd_kv(), hp.n_ff, hp.head_dim};

  w.layers.resize(size_t(hp.n_layer));
  for (int il = 0; il < hp.n_layer; ++il) {
    const std::string b = "blk." + std::to_string(il) + ".";
    LayerWeights& l = w.layers[size_t(il)];
    for (const LayerTensorRule& rule : layer_tensor_rules()) {
      const Need need = rule.need ? arch->*rule.need : Need::Required;
      const std::string name = b + std::string(rule.suffix);
      if (need == Need::Absent || (need == Need::Optional && !file.find_tensor(name))) continue;
      l.*rule.member = rule.d1 == Dim::None ? bind(file, name, {dim(rule.d0)}, /*require_f32=*/true)
                                            : bind_matrix(file, name, dim(rule.d0), dim(rule.d1));
      bound.insert(name);
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
