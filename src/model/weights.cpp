// Hyperparameters and weight binding for the llama architecture (Llama 1/2/3, Mistral: Mistral
// GGUF files declare general.architecture = "llama" and add GQA and a sliding window).
#include "model/weights.h"

#include <string>

#include "gguf/reader.h"
#include "kernels/kernel_table.h"
#include "llamaprof/error.h"

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
  if (hp.arch != "llama") {
    throw Error(ErrorKind::Unsupported,
                file.path() + ": unsupported architecture '" + hp.arch + "' (llamaprof runs 'llama')");
  }
  const std::string p = hp.arch + ".";
  auto req = [&](const std::string& key) { return positive_int(file, p + key, file.get_u64(p + key)); };
  hp.n_ctx_train = req("context_length");
  hp.n_embd = req("embedding_length");
  hp.n_layer = req("block_count");
  hp.n_ff = req("feed_forward_length");
  hp.n_head = req("attention.head_count");
  hp.n_head_kv = positive_int(file, p + "attention.head_count_kv",
                              file.get_u64(p + "attention.head_count_kv", uint64_t(hp.n_head)));
  if (hp.n_embd % hp.n_head != 0 || hp.n_head % hp.n_head_kv != 0) {
    throw Error(ErrorKind::InvalidFile,
                file.path() + ": embedding_length " + std::to_string(hp.n_embd) + ", head_count " +
                    std::to_string(hp.n_head) + " and head_count_kv " + std::to_string(hp.n_head_kv) +
                    " do not divide evenly");
  }
  hp.head_dim = hp.n_embd / hp.n_head;
  hp.n_rot = positive_int(file, p + "rope.dimension_count",
                          file.get_u64(p + "rope.dimension_count", uint64_t(hp.head_dim)));
  if (hp.n_rot > hp.head_dim || hp.n_rot % 2 != 0) {
    throw Error(ErrorKind::InvalidFile, file.path() + ": rope.dimension_count " + std::to_string(hp.n_rot) +
                                            " must be even and at most the head size " +
                                            std::to_string(hp.head_dim));
  }
  hp.rms_eps = float(file.get_f64(p + "attention.layer_norm_rms_epsilon", 1e-5));
  hp.rope_freq_base = float(file.get_f64(p + "rope.freq_base", 10000.0));

  // RoPE scaling: "linear" divides positions by the factor (freq_scale = 1 / factor). The older
  // key rope.scale_linear carries the factor directly.
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

  // The vocabulary size is the embedding's row count.
  if (const gguf::TensorInfo* e = file.find_tensor("token_embd.weight"); e && e->shape.size() >= 2) {
    hp.n_vocab = int(e->shape[1]);
  } else if (const gguf::Value* v = file.find("tokenizer.ggml.tokens"); v && v->is_array()) {
    hp.n_vocab = int(v->as_array().items.size());
  }
  return hp;
}

ModelWeights bind_weights(const gguf::File& file, const HParams& hp) {
  const int64_t n_embd = hp.n_embd, n_kv = hp.n_embd_kv(), n_ff = hp.n_ff, n_vocab = hp.n_vocab;
  if (!file.find_tensor("token_embd.weight")) {
    throw Error(ErrorKind::InvalidFile, file.path() + ": missing tensor token_embd.weight");
  }
  ModelWeights w;
  w.token_embd = bind(file, "token_embd.weight", {n_embd, n_vocab});
  w.output_norm = bind(file, "output_norm.weight", {n_embd}, /*require_f32=*/true);
  if (file.find_tensor("output.weight")) {
    w.output = bind_matrix(file, "output.weight", n_embd, n_vocab);
  } else {
    // Tied embeddings (e.g. small Llama 3.2): the output projection reuses token_embd.
    w.output = bind_matrix(file, "token_embd.weight", n_embd, n_vocab);
    w.output_tied = true;
  }
  w.layers.resize(size_t(hp.n_layer));
  for (int il = 0; il < hp.n_layer; ++il) {
    const std::string b = "blk." + std::to_string(il) + ".";
    LayerWeights& l = w.layers[size_t(il)];
    l.attn_norm = bind(file, b + "attn_norm.weight", {n_embd}, true);
    l.wq = bind_matrix(file, b + "attn_q.weight", n_embd, n_embd);
    l.wk = bind_matrix(file, b + "attn_k.weight", n_embd, n_kv);
    l.wv = bind_matrix(file, b + "attn_v.weight", n_embd, n_kv);
    l.wo = bind_matrix(file, b + "attn_output.weight", n_embd, n_embd);
    l.ffn_norm = bind(file, b + "ffn_norm.weight", {n_embd}, true);
    l.ffn_gate = bind_matrix(file, b + "ffn_gate.weight", n_embd, n_ff);
    l.ffn_up = bind_matrix(file, b + "ffn_up.weight", n_embd, n_ff);
    l.ffn_down = bind_matrix(file, b + "ffn_down.weight", n_ff, n_embd);
  }
  return w;
}

}  // namespace lp
