// The architecture descriptions and the per-layer tensor rules. Facts from llama.cpp's
// src/llama-model.cpp (rope types, optional tensors) and src/models/{llama,qwen2,qwen3}.cpp.
#include "model/arch.h"

#include <array>

namespace lp {
namespace {

constexpr std::array kArchs{
    // llama: Llama 1/2/3.x, Mistral, SmolLM2 and the DeepSeek-R1 Llama distills. The GGUF converter
    // permutes Q/K rows for the adjacent-pair rotation (LLAMA_ROPE_TYPE_NORM). llama.cpp accepts
    // optional Q/K/V biases here; Llama 3.1+ files carry rope_freqs.weight (llama3 RoPE scaling,
    // precomputed by the converter; no rope.scaling.* keys).
    ArchDesc{"llama", "Llama 1/2/3.x, Mistral, SmolLM2, DeepSeek-R1-Distill-Llama", RopeLayout::Normal,
             Need::Optional, Need::Absent, Need::Optional, Need::Optional},
    // qwen2: Qwen2, Qwen2.5, DeepSeek-R1-Distill-Qwen. NeoX (half-split) RoPE; Q/K/V biases, which
    // real files always have (llama.cpp would run without them; we refuse, a missing bias being a
    // broken file); small models tie the output to the embedding.
    ArchDesc{"qwen2", "Qwen2, Qwen2.5, DeepSeek-R1-Distill-Qwen", RopeLayout::Neox, Need::Required, Need::Absent,
             Need::Absent, Need::Optional},
    // qwen3: per-head RMSNorm of Q and K before RoPE, head_dim from attention.key_length (128 on
    // every size, so q is not n_embd wide), NeoX RoPE, no biases in practice (llama.cpp's loader
    // still accepts them).
    ArchDesc{"qwen3", "Qwen3 (dense)", RopeLayout::Neox, Need::Optional, Need::Required, Need::Absent,
             Need::Optional},
};

// GGUF shapes, ne[0] first: a matrix {n_in, n_out} is n_out rows of n_in.
constexpr std::array kLayerRules{
    LayerTensorRule{"attn_norm.weight", &LayerWeights::attn_norm, Dim::Embd, Dim::None, nullptr},
    LayerTensorRule{"attn_q.weight", &LayerWeights::wq, Dim::Embd, Dim::Q, nullptr},
    LayerTensorRule{"attn_k.weight", &LayerWeights::wk, Dim::Embd, Dim::KV, nullptr},
    LayerTensorRule{"attn_v.weight", &LayerWeights::wv, Dim::Embd, Dim::KV, nullptr},
    LayerTensorRule{"attn_q.bias", &LayerWeights::bq, Dim::Q, Dim::None, &ArchDesc::qkv_bias},
    LayerTensorRule{"attn_k.bias", &LayerWeights::bk, Dim::KV, Dim::None, &ArchDesc::qkv_bias},
    LayerTensorRule{"attn_v.bias", &LayerWeights::bv, Dim::KV, Dim::None, &ArchDesc::qkv_bias},
    LayerTensorRule{"attn_q_norm.weight", &LayerWeights::q_norm, Dim::HeadDim, Dim::None, &ArchDesc::qk_norm},
    LayerTensorRule{"attn_k_norm.weight", &LayerWeights::k_norm, Dim::HeadDim, Dim::None, &ArchDesc::qk_norm},
    LayerTensorRule{"attn_output.weight", &LayerWeights::wo, Dim::Q, Dim::Embd, nullptr},
    LayerTensorRule{"ffn_norm.weight", &LayerWeights::ffn_norm, Dim::Embd, Dim::None, nullptr},
    LayerTensorRule{"ffn_gate.weight", &LayerWeights::ffn_gate, Dim::Embd, Dim::Ff, nullptr},
    LayerTensorRule{"ffn_up.weight", &LayerWeights::ffn_up, Dim::Embd, Dim::Ff, nullptr},
    LayerTensorRule{"ffn_down.weight", &LayerWeights::ffn_down, Dim::Ff, Dim::Embd, nullptr},
};

}  // namespace

std::span<const ArchDesc> supported_archs() { return kArchs; }

const ArchDesc* find_arch(std::string_view name) {
  for (const ArchDesc& a : kArchs) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::string supported_arch_names() {
  std::string s;
  for (const ArchDesc& a : kArchs) s += (s.empty() ? "" : ", ") + std::string(a.name);
  return s;
}

std::span<const LayerTensorRule> layer_tensor_rules() { return kLayerRules; }

}  // namespace lp
