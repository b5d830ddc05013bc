// What differs between the model architectures llamaprof runs, as data: read_hparams, bind_weights
// and forward() read an ArchDesc instead of testing the architecture's name. Every architecture
// here is a pre-norm decoder with RMSNorm, RoPE, grouped-query attention and a gated FFN; a new
// family is a new ArchDesc (plus tensor rules for any new tensors and a preset), and the forward
// pass grows only where the family adds a genuinely new step (e.g. Gemma's post-norms).
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

// The FFN's activation. All current families use SwiGLU; Gemma adds GELU-gated.
enum class FfnActivation : uint8_t { SiluGated };  // down(silu(gate(x)) * up(x))

struct ArchDesc {
  std::string_view name;      // general.architecture, and the prefix of its hyperparameter keys
  std::string_view families;  // the model families published in this architecture (for readers, logs)
  RopeLayout rope_layout;     // llama.cpp's llama_model_rope_type() for the architecture
  Need qkv_bias;              // blk.N.attn_{q,k,v}.bias, F32 [n_head*head_dim] / [n_head_kv*head_dim]
  Need qk_norm;               // blk.N.attn_{q,k}_norm.weight, F32 [head_dim]: RMSNorm per head before RoPE
  Need rope_freqs;            // rope_freqs.weight, F32 [n_rot/2]: per-pair frequency divisors (Llama 3.1+)
  Need output;                // output.weight; when absent the output is tied to token_embd.weight
  FfnActivation ffn = FfnActivation::SiluGated;
};

// The architectures llamaprof runs, in the order `info` lists them.
std::span<const ArchDesc> supported_archs();
// nullptr when unknown.
const ArchDesc* find_arch(std::string_view name);
// "llama, qwen2, qwen3": for error messages.
std::string supported_arch_names();

// Shape dimensions of a tensor rule, resolved against the hyperparameters.
enum class Dim : uint8_t { None, Embd, Q, KV, Ff, HeadDim };

// The sizes a Dim stands for (from HParams when loading, from a preset in make-model).
struct DimSizes {
  int64_t embd, q, kv, ff, head_dim;  // n_embd, n_head * head_dim, n_head_kv * head_dim, n_ff
  int64_t operator()(Dim d) const {
    switch (d) {
      case Dim::Embd: return embd;
      case Dim::Q: return q;
      case Dim::KV: return kv;
      case Dim::Ff: return ff;
      case Dim::HeadDim: return head_dim;
      case Dim::None: break;
    }
    return 0;
  }
};

// One per-layer tensor: "blk.N." + suffix, its GGUF shape {d0, d1} (d1 None: a vector, which must
// be F32), the LayerWeights member it binds, and which ArchDesc field says whether the
// architecture has it (nullptr: every architecture requires it).
struct LayerTensorRule {
  std::string_view suffix;
  WeightView LayerWeights::*member;
  Dim d0, d1;
  Need ArchDesc::*need;
};
std::span<const LayerTensorRule> layer_tensor_rules();

}  // namespace lp
