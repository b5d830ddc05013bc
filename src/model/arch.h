// What differs between the model architectures llamaprof runs, as data: read_hparams, bind_weights
// and forward() read an ArchDesc instead of testing the architecture's name. Every architecture
// here is a pre-norm decoder with RMSNorm, RoPE, grouped-query attention and a gated FFN (dense or
// a mixture of experts); a new family is a new ArchDesc (plus tensor rules for any new tensors and
// a preset), and the forward pass grows only where the family adds a genuinely new step (Gemma's
// post-norms and soft-capping, Phi-3's fused matrices, Qwen3-MoE's router).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "kernels/ops.h"
#include "model/weights.h"

namespace lp {

// Whether an architecture has a group of tensors.
enum class Need : uint8_t {
  Absent,    // never bound: a file that carries them is refused (as llama.cpp refuses unknown tensors)
  Optional,  // bound when present (llama.cpp: TENSOR_NOT_REQUIRED)
  Required,  // a missing one is InvalidFile, named
};

// The FFN's activation: down(act(gate(x)) * up(x)).
enum class FfnActivation : uint8_t {
  SiluGated,      // SwiGLU: llama, qwen, phi3 and the experts of qwen3moe
  GeluTanhGated,  // GeGLU with the tanh approximation of GELU: gemma2, gemma3
};

struct ArchDesc {
  std::string_view name;      // general.architecture, and the prefix of its hyperparameter keys
  std::string_view families;  // the model families published in this architecture (for readers, logs)
  RopeLayout rope_layout;     // llama.cpp's llama_model_rope_type() for the architecture
  Need qkv_bias;              // blk.N.attn_{q,k,v}.bias, F32 [n_head*head_dim] / [n_head_kv*head_dim]
  Need qk_norm;               // blk.N.attn_{q,k}_norm.weight, F32 [head_dim]: RMSNorm per head before RoPE
  Need rope_freqs;            // rope_freqs.weight, F32 [n_rot/2]: per-pair frequency divisors (Llama 3.1+)
  Need output;                // output.weight; when absent the output is tied to token_embd.weight
  FfnActivation ffn = FfnActivation::SiluGated;
  // The blocks' tensor layout. Exactly one of split/fused QKV, and of the dense gate + up, the
  // fused gate_up and the experts, is Required.
  Need split_qkv = Need::Required;   // blk.N.attn_{q,k,v}.weight
  Need fused_qkv = Need::Absent;     // blk.N.attn_qkv.weight [n_embd, q + 2 kv] (phi3): Q, K, V row views
  Need ffn_gate = Need::Required;    // blk.N.ffn_gate.weight
  Need ffn_up = Need::Required;      // blk.N.ffn_up.weight [n_embd, n_ff]
  Need ffn_gate_up = Need::Absent;   // blk.N.ffn_up.weight [n_embd, 2 n_ff] (phi3): gate rows, then up rows
  Need ffn_down = Need::Required;    // blk.N.ffn_down.weight
  Need moe = Need::Absent;           // blk.N.ffn_gate_inp + ffn_{gate,up,down}_exps (qwen3moe)
  Need post_norms = Need::Absent;    // blk.N.{attn,ffn}_post_norm.weight (gemma2/3): RMSNorm of each block's output
  Need rope_long_short = Need::Absent;  // rope_factors_{long,short}.weight (phi3 128k: chosen by context length)
  bool scale_embeddings = false;     // token embeddings times sqrt(n_embd) (gemma)
  bool prescale_q = false;           // Q times the query scale before attention, scores unscaled
                                     // (gemma, phi3: llama.cpp's order, which rounds differently)
};

// The architectures llamaprof runs, in the order `info` lists them.
std::span<const ArchDesc> supported_archs();
// nullptr when unknown.
const ArchDesc* find_arch(std::string_view name);
// "llama, qwen2, qwen3": for error messages.
std::string supported_arch_names();

// Shape dimensions of a tensor rule, resolved against the hyperparameters.
enum class Dim : uint8_t { None, Embd, Q, KV, Ff, HeadDim, QKV, Ff2, Expert, FfExp };

// The sizes a Dim stands for (from HParams when loading, from a preset in make-model).
struct DimSizes {
  int64_t embd, q, kv, ff, head_dim;  // n_embd, n_head * head_dim, n_head_kv * head_dim, n_ff
  int64_t n_expert = 0, ff_exp = 0;   // experts, rows of one expert's gate/up
  int64_t operator()(Dim d) const {
    switch (d) {
      case Dim::Embd: return embd;
      case Dim::Q: return q;
      case Dim::KV: return kv;
      case Dim::Ff: return ff;
      case Dim::HeadDim: return head_dim;
      case Dim::QKV: return q + 2 * kv;
      case Dim::Ff2: return 2 * ff;
      case Dim::Expert: return n_expert;
      case Dim::FfExp: return ff_exp;
      case Dim::None: break;
    }
    return 0;
  }
};

// One per-layer tensor: "blk.N." + suffix, its GGUF shape {d0, d1[, d2]} (d1 None: a vector, which
// must be F32; d2: a stack of d2 matrices, the experts), the LayerWeights member it binds, and which
// ArchDesc field says whether the architecture has it (nullptr: every architecture requires it).
struct LayerTensorRule {
  std::string_view suffix;
  WeightView LayerWeights::*member;
  Dim d0, d1;
  Need ArchDesc::*need;
  Dim d2 = Dim::None;
};
std::span<const LayerTensorRule> layer_tensor_rules();

}  // namespace lp
