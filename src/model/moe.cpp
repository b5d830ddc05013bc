// The mixture-of-experts FFN step (model/moe.h). Facts from llama.cpp's build_moe_ffn
// (src/llama-graph.cpp) as qwen3moe calls it: softmax gating, top-k by probability, the selected
// probabilities divided by their sum (clamped below at 2^-14, F16's smallest normal), times
// expert_weights_scale when that is not 1, each expert's output multiplied by its weight and the
// k outputs added in the router's order.
#include "model/moe.h"

#include <algorithm>
#include <cstring>

#include "kernels/ops.h"
#include "model/matmul.h"
#include "model/weights.h"
#include "runtime/thread_pool.h"

namespace lp {

namespace {
std::unique_ptr<float[]> floats(size_t n) { return std::unique_ptr<float[]>(new float[std::max<size_t>(n, 1)]); }
}  // namespace

namespace {
std::vector<const WeightView*> expert_matrices(const ModelWeights& w) {
  std::vector<const WeightView*> v;
  for (const LayerWeights& l : w.layers) {
    for (const WeightView* m : {&l.ffn_gate_exps, &l.ffn_up_exps, &l.ffn_down_exps}) v.push_back(m);
  }
  return v;
}
}  // namespace

MoeScratch::MoeScratch(const ModelWeights& w, const HParams& hp, int max_tokens)
    : acts(expert_matrices(w), int64_t(max_tokens) * hp.n_expert_used) {
  const size_t t = size_t(max_tokens), k = size_t(hp.n_expert_used);
  router = floats(t * size_t(hp.n_expert));
  selected.resize(t * k);
  weights.resize(t * k);
  by_expert.resize(t * k);
  expert_start.resize(size_t(hp.n_expert) + 1);
  xin = floats(t * k * size_t(hp.n_embd));
  gate = floats(t * k * size_t(hp.n_ff_exp));
  up = floats(t * k * size_t(hp.n_ff_exp));
  y = floats(t * k * size_t(hp.n_embd));
  slot_out = floats(t * k * size_t(hp.n_embd));
}

void moe_ffn(const HParams& hp, const LayerWeights& l, const float* x, int n, float* out, MoeScratch& s,
             Activations& acts, ThreadPool& pool, const MoeDebug& debug) {
  const int64_t n_embd = hp.n_embd, n_ff = hp.n_ff_exp;
  const int n_expert = hp.n_expert, k = hp.n_expert_used;

  // ---- router: probabilities and the top k of each token ----
  acts.set(x, n, n_embd);
  matmul({{&l.ffn_gate_inp, s.router.get(), n_expert}}, acts, pool);
  for (int i = 0; i < n; ++i) {
    float* p = s.router.get() + int64_t(i) * n_expert;
    softmax(p, n_expert);
    int32_t* sel = s.selected.data() + int64_t(i) * k;
    float* w = s.weights.data() + int64_t(i) * k;
    float sum = 0.0f;
    for (int j = 0; j < k; ++j) {  // k is small (8 of 128): repeated arg-max, lowest id on ties
      int best = -1;
      for (int e = 0; e < n_expert; ++e) {
        if (std::find(sel, sel + j, e) != sel + j) continue;
        if (best < 0 || p[e] > p[best]) best = e;
      }
      sel[j] = best;
      w[j] = p[best];
      sum += w[j];
    }
    if (!debug.skip_renorm) {
      sum = std::max(sum, 6.103515625e-5f);
      for (int j = 0; j < k; ++j) w[j] /= sum;
    }
    if (hp.expert_weights_scale != 1.0f) {
      for (int j = 0; j < k; ++j) w[j] *= hp.expert_weights_scale;
    }
  }

  // ---- group the (token, slot) pairs by expert (counting sort) ----
  std::fill(s.expert_start.begin(), s.expert_start.end(), 0);
  for (int64_t q = 0; q < int64_t(n) * k; ++q) ++s.expert_start[size_t(s.selected[size_t(q)]) + 1];
  for (int e = 0; e < n_expert; ++e) s.expert_start[size_t(e) + 1] += s.expert_start[size_t(e)];
  // Stable fill: walk the pairs in token order so each expert's rows stay in token order.
  std::vector<int32_t>& start = s.expert_start;
  for (int e = n_expert; e > 0; --e) start[size_t(e)] = start[size_t(e) - 1];
  start[0] = 0;
  for (int64_t q = 0; q < int64_t(n) * k; ++q) s.by_expert[size_t(start[size_t(s.selected[size_t(q)]) + 1]++)] = int32_t(q);
  // now start[e + 1] is the end of expert e's range, start[e] its beginning

  // ---- the selected experts over their tokens: each matrix read once per batch ----
  const int64_t pairs = int64_t(n) * k;
  for (int64_t r = 0; r < pairs; ++r) {
    const int64_t tok = s.by_expert[size_t(r)] / k;
    std::memcpy(s.xin.get() + r * n_embd, x + tok * n_embd, size_t(n_embd) * sizeof(float));
  }
  // The views first (the jobs point into the vector), then one job per matrix.
  s.views.clear();
  for (int e = 0; e < n_expert; ++e) {
    if (start[size_t(e) + 1] == start[size_t(e)]) continue;
    s.views.push_back(l.ffn_gate_exps.matrix(e));
    s.views.push_back(l.ffn_up_exps.matrix(e));
    s.views.push_back(l.ffn_down_exps.matrix(e));
  }
  s.experts_read = int64_t(s.views.size() / 3);
  // Appends one job per selected expert for its matrix `matrix` (0 gate, 1 up, 2 down).
  auto add_jobs = [&](int matrix, float* out, int64_t width) {
    size_t v = size_t(matrix);
    for (int e = 0; e < n_expert; ++e) {
      const int32_t a = start[size_t(e)], m = start[size_t(e) + 1] - a;
      if (m == 0) continue;
      s.jobs.push_back(MatmulJob{&s.views[v], out + a * width, width, a, m});
      v += 3;
    }
  };
  s.acts.set(s.xin.get(), pairs, n_embd);
  s.jobs.clear();
  add_jobs(0, s.gate.get(), n_ff);  // gate and up of every selected expert in one region
  add_jobs(1, s.up.get(), n_ff);
  matmul(s.jobs, s.acts, pool);
  silu_mul(s.gate.get(), s.up.get(), s.gate.get(), pairs * n_ff);
  s.acts.set(s.gate.get(), pairs, n_ff);
  s.jobs.clear();
  add_jobs(2, s.y.get(), n_embd);
  matmul(s.jobs, s.acts, pool);
  for (int64_t r = 0; r < pairs; ++r) {
    const int32_t q = s.by_expert[size_t(r)];  // token * k + slot
    const float w = s.weights[size_t(q)];
    const float* yr = s.y.get() + r * n_embd;
    float* dst = s.slot_out.get() + int64_t(q) * n_embd;
    for (int64_t d = 0; d < n_embd; ++d) dst[d] = yr[d] * w;
  }

  // ---- sum the k weighted outputs of each token in slot order ----
  for (int i = 0; i < n; ++i) {
    const float* so = s.slot_out.get() + int64_t(i) * k * n_embd;
    float* o = out + int64_t(i) * n_embd;
    std::memcpy(o, so, size_t(n_embd) * sizeof(float));
    for (int j = 1; j < k; ++j) add(o, so + int64_t(j) * n_embd, o, n_embd);
  }
}

}  // namespace lp
