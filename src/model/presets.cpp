#include "model/presets.h"

#include <array>

namespace lp::model {
namespace {

// Shapes as in the models' config.json. The Llama 2 family's row lengths (n_embd, n_ff) are
// multiples of 256, so every K-quant type applies to every matrix; the newer families' are not
// always (Qwen2.5 0.5B's 896, SmolLM2's 576), and the recipes fall back for those rows.
// llama.cpp (arch "llama") does not read llama.attention.sliding_window: the Mistral-shaped presets
// carry it for engines that do, with a window no test context reaches.
constexpr std::array kPresets{
    //           name, description, n_embd, n_layer, n_ff, n_head, n_head_kv, n_ctx, theta, eps, swa, small
    ModelPreset{"llama2-7b", "Llama 2 7B shape (MHA)", 4096, 32, 11008, 32, 32, 4096, 10000.0f, 1e-5f, 0,
                false},
    ModelPreset{"mistral-7b", "Mistral 7B v0.1 shape (GQA 32/8, rope theta 1e6, sliding window 4096)", 4096,
                32, 14336, 32, 8, 32768, 1000000.0f, 1e-5f, 4096, false},
    ModelPreset{"tinyllama-1.1b", "TinyLlama 1.1B shape (GQA 32/4)", 2048, 22, 5632, 32, 4, 2048, 10000.0f,
                1e-5f, 0, false},
    ModelPreset{"tiny", "test: llama-shaped MHA, 2 layers, head dim 64", 256, 2, 768, 4, 4, 2048, 10000.0f,
                1e-5f, 0, true},
    ModelPreset{"tiny-gqa", "test: mistral-shaped, GQA 8/2, rope theta 1e6, sliding window 4096", 256, 2, 768,
                8, 2, 8192, 1000000.0f, 1e-5f, 4096, true},
    ModelPreset{"demo", "demo: llama-shaped MHA, 8 layers, dim 512", 512, 8, 1536, 8, 8, 4096, 10000.0f, 1e-5f,
                0, true},
    ModelPreset{"demo-mistral", "demo: mistral-shaped, 8 layers, dim 512, GQA 8/2, theta 1e6, window 4096", 512,
                8, 1792, 8, 2, 32768, 1000000.0f, 1e-5f, 4096, true},

    // Newer families with their real vocabularies (byte-level BPE: llamaprof loads them once its
    // BPE tokenizer is in; llama.cpp runs them now). Llama 3.x: rope scaling "llama3" (factor,
    // low/high frequency factors 1/4, original context 8192), written as rope_freqs.weight.
    ModelPreset{.name = "llama3.2-1b",
                .description = "Llama 3.2 1B shape (GQA 32/8, theta 5e5, llama3 rope x32, tied output)",
                .n_embd = 2048, .n_layer = 16, .n_ff = 8192, .n_head = 32, .n_head_kv = 8,
                .n_ctx_train = 131072, .rope_theta = 500000.0f, .rms_norm_eps = 1e-5f, .sliding_window = 0,
                .small = false, .arch = "llama", .key_length = 0, .tied_output = true,
                .llama3_rope = {32.0f, 1.0f, 4.0f, 8192}, .vocab = "ggml-vocab-llama-bpe.gguf"},
    ModelPreset{.name = "llama3.1-8b",
                .description = "Llama 3.1 8B shape (GQA 32/8, theta 5e5, llama3 rope x8)",
                .n_embd = 4096, .n_layer = 32, .n_ff = 14336, .n_head = 32, .n_head_kv = 8,
                .n_ctx_train = 131072, .rope_theta = 500000.0f, .rms_norm_eps = 1e-5f, .sliding_window = 0,
                .small = false, .arch = "llama", .key_length = 0, .tied_output = false,
                .llama3_rope = {8.0f, 1.0f, 4.0f, 8192}, .vocab = "ggml-vocab-llama-bpe.gguf"},
    // Qwen2.5: Q/K/V biases, NeoX RoPE. The bundle's Qwen2 vocabulary has 151936 tokens, the 0.5B's
    // embedding rows; the real 7B pads its embedding to 152064 rows.
    ModelPreset{.name = "qwen2.5-0.5b",
                .description = "Qwen2.5 0.5B shape (qwen2: GQA 14/2, theta 1e6, QKV biases, tied output)",
                .n_embd = 896, .n_layer = 24, .n_ff = 4864, .n_head = 14, .n_head_kv = 2,
                .n_ctx_train = 32768, .rope_theta = 1000000.0f, .rms_norm_eps = 1e-6f, .sliding_window = 0,
                .small = false, .arch = "qwen2", .key_length = 0, .tied_output = true, .llama3_rope = {},
                .vocab = "ggml-vocab-qwen2.gguf"},
    ModelPreset{.name = "qwen2.5-7b",
                .description = "Qwen2.5 7B shape (qwen2: GQA 28/4, theta 1e6, QKV biases)",
                .n_embd = 3584, .n_layer = 28, .n_ff = 18944, .n_head = 28, .n_head_kv = 4,
                .n_ctx_train = 32768, .rope_theta = 1000000.0f, .rms_norm_eps = 1e-6f, .sliding_window = 0,
                .small = false, .arch = "qwen2", .key_length = 0, .tied_output = false, .llama3_rope = {},
                .vocab = "ggml-vocab-qwen2.gguf"},
    // Qwen3: head dim 128 whatever n_embd / n_head is, Q/K RMSNorm per head. Same tokenizer as
    // Qwen2.5 (151936 embedding rows), so the bundle's Qwen2 vocabulary.
    ModelPreset{.name = "qwen3-0.6b",
                .description = "Qwen3 0.6B shape (qwen3: GQA 16/8, head dim 128, q/k norm, tied output)",
                .n_embd = 1024, .n_layer = 28, .n_ff = 3072, .n_head = 16, .n_head_kv = 8,
                .n_ctx_train = 40960, .rope_theta = 1000000.0f, .rms_norm_eps = 1e-6f, .sliding_window = 0,
                .small = false, .arch = "qwen3", .key_length = 128, .tied_output = true, .llama3_rope = {},
                .vocab = "ggml-vocab-qwen2.gguf"},
    ModelPreset{.name = "qwen3-8b",
                .description = "Qwen3 8B shape (qwen3: GQA 32/8, head dim 128, q/k norm)",
                .n_embd = 4096, .n_layer = 36, .n_ff = 12288, .n_head = 32, .n_head_kv = 8,
                .n_ctx_train = 40960, .rope_theta = 1000000.0f, .rms_norm_eps = 1e-6f, .sliding_window = 0,
                .small = false, .arch = "qwen3", .key_length = 128, .tied_output = false, .llama3_rope = {},
                .vocab = "ggml-vocab-qwen2.gguf"},
    // SmolLM2 is arch llama. Its own 49152-token BPE vocabulary (pre "smollm") is not in the
    // bundle; StarCoder's (same size, same byte-level BPE family, other merges) stands in.
    ModelPreset{.name = "smollm2-135m",
                .description = "SmolLM2 135M shape (llama: GQA 9/3, theta 1e5, tied output; StarCoder vocab)",
                .n_embd = 576, .n_layer = 30, .n_ff = 1536, .n_head = 9, .n_head_kv = 3,
                .n_ctx_train = 8192, .rope_theta = 100000.0f, .rms_norm_eps = 1e-5f, .sliding_window = 0,
                .small = false, .arch = "llama", .key_length = 0, .tied_output = true, .llama3_rope = {},
                .vocab = "ggml-vocab-starcoder.gguf"},

    // Tiny test shapes of each new architecture, with the Llama 2 vocabulary (llama.cpp does not
    // care which vocabulary an architecture has) and odd shapes on purpose: GQA 3 and 6, head dims
    // 64 with n_head * head_dim != n_embd, 80 and 96, n_ff not a multiple of 256 (K-quant rows fall
    // back). tiny-llama3's llama3 scaling has a 64-token original context, so that most pairs are
    // scaled within a short test.
    ModelPreset{.name = "tiny-llama3",
                .description = "test: llama 3, GQA 6/2, head dim 64 with q 384 wide (n_embd 256), llama3 rope, tied",
                .n_embd = 256, .n_layer = 2, .n_ff = 704, .n_head = 6, .n_head_kv = 2, .n_ctx_train = 4096,
                .rope_theta = 500000.0f, .rms_norm_eps = 1e-5f, .sliding_window = 0, .small = true,
                .arch = "llama", .key_length = 64, .tied_output = true, .llama3_rope = {8.0f, 1.0f, 4.0f, 64},
                .vocab = {}},
    ModelPreset{.name = "tiny-qwen2",
                .description = "test: qwen2, GQA 6/1, head dim 80, QKV biases, tied output",
                .n_embd = 480, .n_layer = 2, .n_ff = 1056, .n_head = 6, .n_head_kv = 1, .n_ctx_train = 4096,
                .rope_theta = 1000000.0f, .rms_norm_eps = 1e-6f, .sliding_window = 0, .small = true,
                .arch = "qwen2", .key_length = 0, .tied_output = true, .llama3_rope = {}, .vocab = {}},
    ModelPreset{.name = "tiny-qwen3",
                .description = "test: qwen3, GQA 6/2, head dim 96 (q 576 wide, n_embd 256), q/k norm",
                .n_embd = 256, .n_layer = 2, .n_ff = 800, .n_head = 6, .n_head_kv = 2, .n_ctx_train = 4096,
                .rope_theta = 1000000.0f, .rms_norm_eps = 1e-6f, .sliding_window = 0, .small = true,
                .arch = "qwen3", .key_length = 96, .tied_output = false, .llama3_rope = {}, .vocab = {}},

    // Gemma 2/3 (config.json shapes). Gemma's own SentencePiece vocabularies (256000 tokens for
    // Gemma 2, 262144/262208 for Gemma 3) are not in the bundle: the Gemma 4 vocabulary (262144
    // tokens, llama.cpp's "gemma4" BPE over SentencePiece pieces) stands in for all of them. The
    // output is tied to the embedding on every Gemma.
    ModelPreset{.name = "gemma3-270m",
                .description = "Gemma 3 270M shape (gemma3: GQA 4/1, head dim 256, window 512 on 5 of 6 layers)",
                .n_embd = 640, .n_layer = 18, .n_ff = 2048, .n_head = 4, .n_head_kv = 1, .n_ctx_train = 32768,
                .rope_theta = 1000000.0f, .rms_norm_eps = 1e-6f, .sliding_window = 512, .small = false,
                .arch = "gemma3", .key_length = 256, .tied_output = true, .llama3_rope = {},
                .vocab = "ggml-vocab-gemma-4.gguf"},
    ModelPreset{.name = "gemma3-1b",
                .description = "Gemma 3 1B shape (gemma3: GQA 4/1, head dim 256, window 512 on 5 of 6 layers)",
                .n_embd = 1152, .n_layer = 26, .n_ff = 6912, .n_head = 4, .n_head_kv = 1, .n_ctx_train = 32768,
                .rope_theta = 1000000.0f, .rms_norm_eps = 1e-6f, .sliding_window = 512, .small = false,
                .arch = "gemma3", .key_length = 256, .tied_output = true, .llama3_rope = {},
                .vocab = "ggml-vocab-gemma-4.gguf"},
    ModelPreset{.name = "gemma3-4b",
                .description = "Gemma 3 4B text shape (gemma3: GQA 8/4, head dim 256, window 1024, global rope linear x8)",
                .n_embd = 2560, .n_layer = 34, .n_ff = 10240, .n_head = 8, .n_head_kv = 4, .n_ctx_train = 131072,
                .rope_theta = 1000000.0f, .rms_norm_eps = 1e-6f, .sliding_window = 1024, .small = false,
                .arch = "gemma3", .key_length = 256, .tied_output = true, .llama3_rope = {},
                .vocab = "ggml-vocab-gemma-4.gguf", .rope_linear = 8.0f},
    ModelPreset{.name = "gemma2-2b",
                .description = "Gemma 2 2B shape (gemma2: GQA 8/4, head dim 256, window 4096, soft-caps 50/30)",
                .n_embd = 2304, .n_layer = 26, .n_ff = 9216, .n_head = 8, .n_head_kv = 4, .n_ctx_train = 8192,
                .rope_theta = 10000.0f, .rms_norm_eps = 1e-6f, .sliding_window = 4096, .small = false,
                .arch = "gemma2", .key_length = 256, .tied_output = true, .llama3_rope = {},
                .vocab = "ggml-vocab-gemma-4.gguf", .rope_linear = 0, .swa_period = 0, .attn_softcap = 50.0f,
                .final_softcap = 30.0f},
    // Phi-3-mini (4k context) and Phi-3.5-mini (128k: long/short rope factors, original context 4096),
    // with the bundle's Phi-3 vocabulary (32064 tokens, the real one).
    ModelPreset{.name = "phi3-mini",
                .description = "Phi-3-mini 3.8B shape (phi3: MHA 32, fused QKV and gate/up, 4k context)",
                .n_embd = 3072, .n_layer = 32, .n_ff = 8192, .n_head = 32, .n_head_kv = 32, .n_ctx_train = 4096,
                .rope_theta = 10000.0f, .rms_norm_eps = 1e-5f, .sliding_window = 0, .small = false,
                .arch = "phi3", .key_length = 0, .tied_output = false, .llama3_rope = {},
                .vocab = "ggml-vocab-phi-3.gguf"},
    ModelPreset{.name = "phi3.5-mini",
                .description = "Phi-3.5-mini 3.8B shape (phi3: 128k context, long/short rope factors from 4k)",
                .n_embd = 3072, .n_layer = 32, .n_ff = 8192, .n_head = 32, .n_head_kv = 32, .n_ctx_train = 131072,
                .rope_theta = 10000.0f, .rms_norm_eps = 1e-5f, .sliding_window = 0, .small = false,
                .arch = "phi3", .key_length = 0, .tied_output = false, .llama3_rope = {},
                .vocab = "ggml-vocab-phi-3.gguf", .n_ctx_orig = 4096},
    // Qwen3-30B-A3B: 48 layers of 128 experts (8 used, 768 wide), GQA 32/4 with head dim 128.
    ModelPreset{.name = "qwen3-30b-a3b",
                .description = "Qwen3-30B-A3B shape (qwen3moe: 128 experts, 8 used, expert ffn 768, GQA 32/4)",
                .n_embd = 2048, .n_layer = 48, .n_ff = 6144, .n_head = 32, .n_head_kv = 4, .n_ctx_train = 40960,
                .rope_theta = 1000000.0f, .rms_norm_eps = 1e-6f, .sliding_window = 0, .small = false,
                .arch = "qwen3moe", .key_length = 128, .tied_output = false, .llama3_rope = {},
                .vocab = "ggml-vocab-qwen2.gguf", .n_expert = 128, .n_expert_used = 8, .n_ff_exp = 768},

    // Tiny test shapes of these families (Llama 2 vocabulary except tiny-phi3's own), odd on purpose.
    // Windows of 16 and 8 positions, so that the parity prompt (~50 positions) runs past them; small
    // soft-caps (10 on attention, 5 on logits) so that dropping them is visible; tiny-phi3's
    // original context of 256 makes a 512 context use the long rope factors.
    ModelPreset{.name = "tiny-gemma2",
                .description = "test: gemma2, GQA 4/2, head dim 96 (q 384, n_embd 256), window 16, soft-caps 10/5",
                .n_embd = 256, .n_layer = 2, .n_ff = 704, .n_head = 4, .n_head_kv = 2, .n_ctx_train = 4096,
                .rope_theta = 10000.0f, .rms_norm_eps = 1e-6f, .sliding_window = 16, .small = true,
                .arch = "gemma2", .key_length = 96, .tied_output = true, .llama3_rope = {}, .vocab = {},
                .rope_linear = 0, .swa_period = 0, .attn_softcap = 10.0f, .final_softcap = 5.0f},
    ModelPreset{.name = "tiny-gemma3",
                .description = "test: gemma3, 3 layers (window 8 on 0 and 1, pattern 3), GQA 4/1, q/k norm, theta 1e6",
                .n_embd = 256, .n_layer = 3, .n_ff = 736, .n_head = 4, .n_head_kv = 1, .n_ctx_train = 4096,
                .rope_theta = 1000000.0f, .rms_norm_eps = 1e-6f, .sliding_window = 8, .small = true,
                .arch = "gemma3", .key_length = 64, .tied_output = true, .llama3_rope = {}, .vocab = {},
                .rope_linear = 0, .swa_period = 3},
    ModelPreset{.name = "tiny-phi3",
                .description = "test: phi3, MHA 5 x 64, fused QKV and gate/up, long/short rope factors (original ctx 256)",
                .n_embd = 320, .n_layer = 2, .n_ff = 640, .n_head = 5, .n_head_kv = 5, .n_ctx_train = 4096,
                .rope_theta = 10000.0f, .rms_norm_eps = 1e-5f, .sliding_window = 0, .small = true,
                .arch = "phi3", .key_length = 0, .tied_output = false, .llama3_rope = {},
                .vocab = "ggml-vocab-phi-3.gguf", .n_ctx_orig = 256},
    ModelPreset{.name = "tiny-qwen3moe",
                .description = "test: qwen3moe, 8 experts (3 used, 192 wide), GQA 4/2, head dim 80, q/k norm",
                .n_embd = 256, .n_layer = 2, .n_ff = 576, .n_head = 4, .n_head_kv = 2, .n_ctx_train = 4096,
                .rope_theta = 1000000.0f, .rms_norm_eps = 1e-6f, .sliding_window = 0, .small = true,
                .arch = "qwen3moe", .key_length = 80, .tied_output = false, .llama3_rope = {}, .vocab = {},
                .n_expert = 8, .n_expert_used = 3, .n_ff_exp = 192},
};

}  // namespace

std::span<const ModelPreset> presets() { return kPresets; }

const ModelPreset* find_preset(std::string_view name) {
  for (const ModelPreset& p : kPresets) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

}  // namespace lp::model
