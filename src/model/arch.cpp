// The architecture descriptions and the per-layer tensor rules. Facts from llama.cpp's
// src/llama-model.cpp (rope types, optional tensors) and src/models/{llama,qwen2,qwen3,gemma2,
// gemma3,phi3,qwen3moe}.cpp.
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
    // gemma2: embeddings times sqrt(n_embd), RMSNorm after attention and after the FFN too, GeGLU
    // (tanh GELU), attention and final-logit soft-capping, every other layer (il % 2 == 0)
    // sliding-window. The output is always the embedding (llama.cpp refuses an output.weight). The
    // converter stores the norm weights with Gemma's "1 +" already added.
    ArchDesc{.name = "gemma2", .families = "Gemma 2", .rope_layout = RopeLayout::Neox, .qkv_bias = Need::Absent,
             .qk_norm = Need::Absent, .rope_freqs = Need::Absent, .output = Need::Absent,
             .ffn = FfnActivation::GeluTanhGated, .post_norms = Need::Required, .scale_embeddings = true,
             .prescale_q = true},
    // gemma3: gemma2 without the attention soft-capping, with per-head Q/K RMSNorm, five
    // sliding-window layers for every global one, and the windowed layers' own RoPE base (10000).
    ArchDesc{.name = "gemma3", .families = "Gemma 3 (text)", .rope_layout = RopeLayout::Neox,
             .qkv_bias = Need::Absent, .qk_norm = Need::Required, .rope_freqs = Need::Absent,
             .output = Need::Optional, .ffn = FfnActivation::GeluTanhGated, .post_norms = Need::Required,
             .scale_embeddings = true, .prescale_q = true},
    // phi3: Phi-3 and Phi-3.5 mini/medium. One fused QKV matrix and one fused gate+up matrix (read
    // as row views), NeoX RoPE with the 128k models' long/short frequency factors (chosen by the
    // context length) and attention factor. llama.cpp ignores the files' sliding_window (SWA
    // disabled for Phi): so do we.
    ArchDesc{.name = "phi3", .families = "Phi-3, Phi-3.5 (dense)", .rope_layout = RopeLayout::Neox,
             .qkv_bias = Need::Absent, .qk_norm = Need::Absent, .rope_freqs = Need::Absent,
             .output = Need::Optional, .split_qkv = Need::Absent, .fused_qkv = Need::Required,
             .ffn_gate = Need::Absent, .ffn_up = Need::Absent, .ffn_gate_up = Need::Required,
             .rope_long_short = Need::Optional, .prescale_q = true},
    // qwen3moe: qwen3's attention and a mixture of experts in every block: a softmax router picks
    // expert_used_count of expert_count SwiGLU experts, their weights renormalized to sum 1.
    ArchDesc{.name = "qwen3moe", .families = "Qwen3 MoE (Qwen3-30B-A3B, 235B-A22B)", .rope_layout = RopeLayout::Neox,
             .qkv_bias = Need::Optional, .qk_norm = Need::Required, .rope_freqs = Need::Absent,
             .output = Need::Optional, .ffn_gate = Need::Absent, .ffn_up = Need::Absent,
             .ffn_down = Need::Absent, .moe = Need::Required},
};

// GGUF shapes, ne[0] first: a matrix {n_in, n_out} is n_out rows of n_in.
constexpr std::array kLayerRules{
    LayerTensorRule{"attn_norm.weight", &LayerWeights::attn_norm, Dim::Embd, Dim::None, nullptr},
    LayerTensorRule{"attn_qkv.weight", &LayerWeights::wqkv, Dim::Embd, Dim::QKV, &ArchDesc::fused_qkv},
    LayerTensorRule{"attn_q.weight", &LayerWeights::wq, Dim::Embd, Dim::Q, &ArchDesc::split_qkv},
    LayerTensorRule{"attn_k.weight", &LayerWeights::wk, Dim::Embd, Dim::KV, &ArchDesc::split_qkv},
    LayerTensorRule{"attn_v.weight", &LayerWeights::wv, Dim::Embd, Dim::KV, &ArchDesc::split_qkv},
    LayerTensorRule{"attn_q.bias", &LayerWeights::bq, Dim::Q, Dim::None, &ArchDesc::qkv_bias},
    LayerTensorRule{"attn_k.bias", &LayerWeights::bk, Dim::KV, Dim::None, &ArchDesc::qkv_bias},
    LayerTensorRule{"attn_v.bias", &LayerWeights::bv, Dim::KV, Dim::None, &ArchDesc::qkv_bias},
    LayerTensorRule{"attn_q_norm.weight", &LayerWeights::q_norm, Dim::HeadDim, Dim::None, &ArchDesc::qk_norm},
    LayerTensorRule{"attn_k_norm.weight", &LayerWeights::k_norm, Dim::HeadDim, Dim::None, &ArchDesc::qk_norm},
    LayerTensorRule{"attn_output.weight", &LayerWeights::wo, Dim::Q, Dim::Embd, nullptr},
    LayerTensorRule{"post_attention_norm.weight", &LayerWeights::attn_post_norm, Dim::Embd, Dim::None,
                    &ArchDesc::post_norms},
    LayerTensorRule{"ffn_norm.weight", &LayerWeights::ffn_norm, Dim::Embd, Dim::None, nullptr},
    LayerTensorRule{"ffn_gate.weight", &LayerWeights::ffn_gate, Dim::Embd, Dim::Ff, &ArchDesc::ffn_gate},
    LayerTensorRule{"ffn_up.weight", &LayerWeights::ffn_up, Dim::Embd, Dim::Ff, &ArchDesc::ffn_up},
    LayerTensorRule{"ffn_up.weight", &LayerWeights::ffn_gate_up, Dim::Embd, Dim::Ff2, &ArchDesc::ffn_gate_up},
    LayerTensorRule{"ffn_down.weight", &LayerWeights::ffn_down, Dim::Ff, Dim::Embd, &ArchDesc::ffn_down},
    LayerTensorRule{"ffn_gate_inp.weight", &LayerWeights::ffn_gate_inp, Dim::Embd, Dim::Expert, &ArchDesc::moe},
    LayerTensorRule{"ffn_gate_exps.weight", &LayerWeights::ffn_gate_exps, Dim::Embd, Dim::FfExp, &ArchDesc::moe,
                    Dim::Expert},
    LayerTensorRule{"ffn_up_exps.weight", &LayerWeights::ffn_up_exps, Dim::Embd, Dim::FfExp, &ArchDesc::moe,
                    Dim::Expert},
    LayerTensorRule{"ffn_down_exps.weight", &LayerWeights::ffn_down_exps, Dim::FfExp, Dim::Embd, &ArchDesc::moe,
                    Dim::Expert},
    LayerTensorRule{"post_ffw_norm.weight", &LayerWeights::ffn_post_norm, Dim::Embd, Dim::None, &ArchDesc::post_norms},
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
