// The mixture-of-experts feed-forward step (qwen3moe): a router picks expert_used_count experts per
// token, and the tokens of a batch are grouped by expert so that each selected expert's matrices
// are read once per batch (decode reads only the experts its token chose). All selected experts'
// gate and up matrices run in one parallel region, their down matrices in a second: a decode step
// reads 24 small matrices per layer, and a region each cost a synchronization and a tail each.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "llamaprof/model.h"
#include "model/matmul.h"

namespace lp {

class ThreadPool;
struct LayerWeights;
struct ModelWeights;

// Buffers of the MoE step, sized once per context for up to max_tokens tokens.
struct MoeScratch {
  MoeScratch(const ModelWeights& w, const HParams& hp, int max_tokens);

  std::unique_ptr<float[]> router;    // [max_tokens][n_expert] router logits, then probabilities
  std::vector<int32_t> selected;      // [max_tokens][n_expert_used] expert ids, best first
  std::vector<float> weights;         // [max_tokens][n_expert_used] their (renormalized) weights
  std::vector<int32_t> by_expert;     // [max_tokens * n_expert_used] token*K + slot, grouped by expert
  std::vector<int32_t> expert_start;  // [n_expert + 1] offsets into by_expert
  // Rows in by_expert order (expert after expert, each expert's tokens in token order):
  std::unique_ptr<float[]> xin;       // [max_tokens * n_expert_used][n_embd] the tokens' inputs, gathered
  std::unique_ptr<float[]> gate;      // [max_tokens * n_expert_used][n_ff_exp]
  std::unique_ptr<float[]> up;        // [max_tokens * n_expert_used][n_ff_exp]
  std::unique_ptr<float[]> y;         // [max_tokens * n_expert_used][n_embd] the experts' outputs
  std::unique_ptr<float[]> slot_out;  // [max_tokens][n_expert_used][n_embd] weighted outputs
  Activations acts;                   // xin, then gate, quantized for the experts' matrices
  std::vector<WeightView> views;      // the selected experts' gate, up, down matrices of one step
  std::vector<MatmulJob> jobs;        // their mat-muls
  // Experts whose matrices the last call read (for the profiler's traffic), and its tokens.
  int64_t experts_read = 0;
};

struct MoeDebug {
  bool skip_renorm = false;  // LLAMAPROF_DEBUG_DROP=expert_norm: the top-k weights not renormalized
};

// out[i] = sum over token i's selected experts e (in the router's order) of
//   w_e * down_e(silu(gate_e(x[i])) * up_e(x[i])),
// w = softmax(router(x[i])) restricted to the top k, renormalized to sum 1 and scaled by
// expert_weights_scale (llama.cpp's build_moe_ffn with norm_w and softmax gating).
// x: [n][n_embd] (the normed input), out: [n][n_embd]; x and out may not alias.
void moe_ffn(const HParams& hp, const LayerWeights& l, const float* x, int n, float* out, MoeScratch& s,
             Activations& acts, ThreadPool& pool, const MoeDebug& debug);

}  // namespace lp
