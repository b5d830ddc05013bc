// Zero-copy views of a model's weights inside the mapped GGUF file, with their shapes
// checked against the hyperparameters once at load time, so the forward pass trusts them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "llamaprof/model.h"
#include "quant/type_traits.h"

namespace lp {

namespace gguf { class File; }

// A 2-D (or 1-D) tensor: n_rows rows of n_cols elements, row r at data + r * row_bytes.
// GGUF stores ne[0] (here n_cols) as the contiguous dimension, so a matmul weight of shape
// {n_in, n_out} is n_out rows of n_in elements: y[r] = dot(row r, x).
struct WeightView {
  std::string name;
  TensorType type = TensorType::F32;
  int64_t n_cols = 0;    // ne[0]
  int64_t n_rows = 0;    // ne[1] (1 for vectors)
  size_t row_bytes = 0;
  const uint8_t* data = nullptr;

  int64_t n_mats = 1;    // ne[2]: a stack of n_mats matrices of n_rows / n_mats rows (the experts)

  bool present() const { return data != nullptr; }  // optional tensors stay empty when absent
  const uint8_t* row(int64_t r) const { return data + size_t(r) * row_bytes; }
  const float* f32() const { return reinterpret_cast<const float*>(data); }
  // Rows [first, first + count) as a view of their own (no copy): fused matrices, experts.
  WeightView rows(int64_t first, int64_t count) const {
    WeightView v = *this;
    v.data = row(first);
    v.n_rows = count;
    v.n_mats = 1;
    return v;
  }
  // Matrix e of a stack.
  WeightView matrix(int64_t e) const { return rows(e * (n_rows / n_mats), n_rows / n_mats); }
};

// One block. Which optional tensors a layer has is given by its architecture (model/arch.h); the
// forward pass tests present() once per layer, never per element.
struct LayerWeights {
  WeightView attn_norm;  // [n_embd] F32
  WeightView wq;         // n_embd_q rows x n_embd      (blk.N.attn_q.weight; n_embd_q = n_head * head_dim)
  WeightView wk;         // n_embd_kv rows x n_embd     (blk.N.attn_k.weight)
  WeightView wv;         // n_embd_kv rows x n_embd     (blk.N.attn_v.weight)
  WeightView bq;         // [n_embd_q] F32, optional    (blk.N.attn_q.bias: qwen2)
  WeightView bk;         // [n_embd_kv] F32, optional
  WeightView bv;         // [n_embd_kv] F32, optional
  WeightView q_norm;     // [head_dim] F32, optional    (blk.N.attn_q_norm.weight: qwen3)
  WeightView k_norm;     // [head_dim] F32, optional
  WeightView wo;         // n_embd rows x n_embd_q      (blk.N.attn_output.weight)
  WeightView ffn_norm;   // [n_embd] F32
  WeightView ffn_gate;   // n_ff rows x n_embd
  WeightView ffn_up;     // n_ff rows x n_embd
  WeightView ffn_down;   // n_embd rows x n_ff
  // phi3: the fused matrices; wq/wk/wv and ffn_gate/ffn_up are then row views into them.
  WeightView wqkv;         // (n_embd_q + 2 n_embd_kv) rows x n_embd  (blk.N.attn_qkv.weight)
  WeightView ffn_gate_up;  // 2 n_ff rows x n_embd: gate rows, then up rows (blk.N.ffn_up.weight)
  // gemma2/3: RMSNorm of the attention and FFN outputs before the residual add.
  WeightView attn_post_norm;  // [n_embd] F32 (blk.N.post_attention_norm.weight)
  WeightView ffn_post_norm;   // [n_embd] F32 (blk.N.post_ffw_norm.weight)
  // qwen3moe: the router and the experts, n_expert matrices stacked (3-D GGUF tensors).
  WeightView ffn_gate_inp;   // n_expert rows x n_embd               (blk.N.ffn_gate_inp.weight)
  WeightView ffn_gate_exps;  // n_expert x (n_ff_exp rows x n_embd)  (blk.N.ffn_gate_exps.weight)
  WeightView ffn_up_exps;    // n_expert x (n_ff_exp rows x n_embd)
  WeightView ffn_down_exps;  // n_expert x (n_embd rows x n_ff_exp)
};

struct ArchDesc;

struct ModelWeights {
  const ArchDesc* arch = nullptr;  // model/arch.h: what the forward pass does differently
  WeightView token_embd;   // n_vocab rows x n_embd, any type (rows dequantized on lookup)
  WeightView output_norm;  // [n_embd] F32
  WeightView output;       // n_vocab rows x n_embd; token_embd itself when output.weight is absent
  bool output_tied = false;
  WeightView rope_freqs;   // [n_rot/2] F32, optional (rope_freqs.weight, Llama 3.1+): theta_k / f_k
  WeightView rope_long;    // [n_rot/2] F32, optional (rope_factors_long.weight, phi3 128k): used when
  WeightView rope_short;   // the context exceeds rope.scaling.original_context_length, else short
  std::vector<LayerWeights> layers;  // n_layer
};

// Reads the hyperparameters. Throws lp::Error(Unsupported) naming an architecture llamaprof does
// not run (and listing those it runs) or an unsupported RoPE scaling type, lp::Error(InvalidFile)
// naming a missing or bad key.
HParams read_hparams(const gguf::File& file);

// Binds and checks every weight the architecture has. Throws lp::Error(InvalidFile) naming a
// missing tensor or a wrong shape (expected vs found), lp::Error(Unsupported) naming a tensor whose
// type has no kernels or a tensor the architecture does not use.
ModelWeights bind_weights(const gguf::File& file, const HParams& hp);

}  // namespace lp
