#include "model/presets.h"

#include <array>

namespace lp::model {
namespace {

// Shapes as in the models' config.json. Every row length (n_embd, n_ff) is a multiple of 256, so
// every K-quant type applies to every matrix.
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
