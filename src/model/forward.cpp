// The forward pass. x = embedding (times sqrt(n_embd): gemma), then per layer (pre-norm residual
// blocks):
//   q, k, v = Wq · norm(x) [+ bq], Wk · norm(x) [+ bk], Wv · norm(x) [+ bv]      (biases: qwen2;
//             phi3's fused QKV matrix is read through row views)
//   q, k    = rope(qk_norm(q)), rope(qk_norm(k))   (per-head RMSNorm: qwen3, gemma3; rope layout,
//             frequency factors and, on sliding-window layers, base from the architecture and file)
//   h   = x + post_norm(Wo · attention(q, k, v))   (post-norm: gemma; window and soft-cap per layer)
//   out = h + post_norm(FFN(norm(h)))   FFN: Wdown · (act(Wgate ·) * (Wup ·)), act SiLU or GELU,
//                                       or the mixture of experts (model/moe.h)
// then logits = Woutput · norm(x_last) (soft-capped: gemma). What an architecture adds is tested
// once per layer (present() on its optional weights, hparams), never per element. All buffers come
// from ForwardBuffers; nothing allocates.
#include "model/forward.h"

#include <algorithm>
#include <cmath>

#include "quant/quantize.h"
#include "runtime/thread_pool.h"
#include "model/arch.h"
#include "model/weights.h"

namespace lp {

const char* op_name(Op op) {
  switch (op) {
    case Op::Embed: return "embed";
    case Op::Norm: return "rms_norm";
    case Op::MatmulQKV: return "matmul_qkv";
    case Op::Rope: return "rope";
    case Op::KvStore: return "kv_store";
    case Op::Attention: return "attention";
    case Op::MatmulO: return "matmul_o";
    case Op::MatmulGateUp: return "matmul_gate_up";
    case Op::SiluMul: return "silu_mul";
    case Op::MatmulDown: return "matmul_down";
    case Op::Add: return "add";
    case Op::Output: return "output";
    case Op::Count: break;
  }
  return "?";
}

namespace {

std::unique_ptr<float[]> floats(size_t n) { return std::unique_ptr<float[]>(new float[n]); }

// Element-wise work over `total` contiguous floats, split in aligned ranges across the pool when
// it is big enough to be worth a synchronization.
template <typename Fn>
void parallel_flat(ThreadPool& pool, int64_t total, Fn&& fn) {
  if (total < 16384 || pool.size() == 1) {
    fn(int64_t(0), total);
    return;
  }
  pool.run([&](int ith, int nth) {
    const int64_t per = (total / nth + 15) / 16 * 16;
    const int64_t a = std::min(total, per * ith), b = ith == nth - 1 ? total : std::min(total, a + per);
    if (a < b) fn(a, b);
  });
}

// Row-wise work (norms, RoPE) split by rows.
template <typename Fn>
void parallel_rows(ThreadPool& pool, int64_t n_rows, Fn&& fn) {
  if (n_rows < 4 || pool.size() == 1) {
    fn(int64_t(0), n_rows);
    return;
  }
  pool.run([&](int ith, int nth) {
    const int64_t a = n_rows * ith / nth, b = n_rows * (ith + 1) / nth;
    if (a < b) fn(a, b);
  });
}

}  // namespace

ForwardBuffers::ForwardBuffers(const Model& model, int max_tokens_, int n_ctx, int n_threads)
    : max_tokens(max_tokens_),
      acts(model.weights(), max_tokens_,
           std::max({model.hparams().n_embd, model.hparams().n_embd_q(), model.hparams().n_ff,
                     model.hparams().n_ff_exp})) {
  const HParams& hp = model.hparams();
  const size_t t = size_t(max_tokens);
  x = floats(t * size_t(hp.n_embd));
  xb = floats(t * size_t(std::max(hp.n_embd, hp.n_embd_q())));
  xb2 = floats(t * size_t(hp.n_embd));
  q = floats(t * size_t(hp.n_embd_q()));
  k = floats(t * size_t(hp.n_embd_kv()));
  v = floats(t * size_t(hp.n_embd_kv()));
  gate = floats(t * size_t(hp.n_ff));
  up = floats(t * size_t(hp.n_ff));
  AttentionShape shape{hp.n_head, hp.n_head_kv, hp.head_dim, hp.sliding_window, 0.0f};
  att_scratch_floats = attention_scratch_floats(shape, n_ctx, n_threads);
  att_scratch = floats(std::max<size_t>(att_scratch_floats, 1));
  if (hp.n_expert > 0) moe = std::make_unique<MoeScratch>(model.weights(), hp, max_tokens);
}

void forward(const Model& model, const int32_t* tokens, std::span<const ForwardSegment> segments,
             ForwardBuffers& buf, ThreadPool& pool, bool all_logits, float* logits, const ForwardOptions& options,
             OpProfile& prof, float* hidden) {
  const HParams& hp = model.hparams();
  const ModelWeights& w = model.weights();
  const int64_t n_embd = hp.n_embd, n_q = hp.n_embd_q(), n_kv = hp.n_embd_kv(), n_ff = hp.n_ff,
                n_vocab = hp.n_vocab;
  int n = 0;  // rows of all segments
  for (const ForwardSegment& sg : segments) n += sg.n;
  const ForwardDebug& debug = options.debug;
  float* x = buf.x.get();
  float* xb = buf.xb.get();
  float* xb2 = buf.xb2.get();
  Activations& acts = buf.acts;

  RopeLayout layout = w.arch->rope_layout;
  if (debug.flip_rope_layout) layout = layout == RopeLayout::Normal ? RopeLayout::Neox : RopeLayout::Normal;
  // Frequency factors: Llama 3.1's rope_freqs, or phi3's long factors when the context is longer
  // than the original one (llama.cpp: n_ctx_seq > n_ctx_orig_yarn), else its short ones.
  const WeightView& factors = w.rope_freqs.present() ? w.rope_freqs
                              : segments.front().cache->n_ctx() > hp.n_ctx_orig ? w.rope_long : w.rope_short;
  const float* freq_factors = factors.present() && !debug.drop_rope_freqs ? factors.f32() : nullptr;
  const RopeParams rope_params{hp.n_rot, hp.rope_freq_base, hp.rope_freq_scale, layout, freq_factors,
                               hp.rope_attn_factor};
  AttentionShape att_shape{hp.n_head,           hp.n_head_kv, hp.head_dim, hp.sliding_window, 0.0f,
                           options.attention_precision};
  // gemma, phi3: Q is scaled before attention, which then does not scale its scores.
  const bool prescale_q = w.arch->prescale_q;
  if (prescale_q) att_shape.scale = 1.0f;
  if (!debug.drop_softcap) att_shape.softcap = hp.attn_softcap;

  // y[i] *= factor over `total` contiguous floats.
  auto scale_rows = [&](float* y, int64_t total, float factor) {
    parallel_flat(pool, total, [&](int64_t a, int64_t b) {
      for (int64_t i = a; i < b; ++i) y[i] *= factor;
    });
  };

  {  // Embedding lookup: token_embd rows may be quantized; dequantize the ones we need.
    OpTimer t(prof, Op::Embed);
    for (int i = 0; i < n; ++i) {
      dequantize_row_ref(w.token_embd.type, w.token_embd.row(tokens[i]), x + i * n_embd, n_embd);
    }
    if (w.arch->scale_embeddings) scale_rows(x, int64_t(n) * n_embd, std::sqrt(float(n_embd)));
  }

  auto norm = [&](const float* in, const WeightView& weight, float* out, int64_t rows) {
    OpTimer t(prof, Op::Norm);
    parallel_rows(pool, rows, [&](int64_t a, int64_t b) {
      rms_norm(in + a * n_embd, weight.f32(), out + a * n_embd, b - a, n_embd, hp.rms_eps);
    });
  };
  // y[i] += bias for each of the n rows of `width` floats; nothing when the layer has no bias.
  auto add_bias = [&](float* y, const WeightView& bias, int64_t width) {
    if (!bias.present()) return;
    parallel_rows(pool, n, [&](int64_t a, int64_t b) {
      for (int64_t i = a; i < b; ++i) add(y + i * width, bias.f32(), y + i * width, width);
    });
  };
  // In place over `rows` contiguous heads of head_dim floats; nothing without a norm weight.
  auto head_norm = [&](float* y, const WeightView& weight, int64_t rows) {
    if (!weight.present()) return;
    OpTimer t(prof, Op::Norm);
    parallel_rows(pool, rows, [&](int64_t a, int64_t b) {
      rms_norm(y + a * hp.head_dim, weight.f32(), y + a * hp.head_dim, b - a, hp.head_dim, hp.rms_eps);
    });
  };
  auto residual_add = [&](const float* delta) {
    OpTimer t(prof, Op::Add);
    parallel_flat(pool, n * n_embd, [&](int64_t a, int64_t b) { add(x + a, delta + a, x + a, b - a); });
  };

  for (int il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& l = w.layers[size_t(il)];
    // Sliding-window layers (all of them without a pattern; gemma: by the pattern) see only the
    // last `window` positions and may have their own RoPE base and scale.
    RopeParams layer_rope = rope_params;
    att_shape.sliding_window = 0;
    if (hp.layer_is_swa(il) && !debug.drop_swa) {
      att_shape.sliding_window = hp.sliding_window;
      if (hp.swa_period > 0) layer_rope.freq_base = hp.rope_freq_base_swa, layer_rope.freq_scale = hp.rope_freq_scale_swa;
    }

    // ---- attention block ----
    norm(x, l.attn_norm, xb, n);
    acts.set(xb, n, n_embd);
    {
      OpTimer t(prof, Op::MatmulQKV);
      matmul({{&l.wq, buf.q.get(), n_q}, {&l.wk, buf.k.get(), n_kv}, {&l.wv, buf.v.get(), n_kv}}, acts, pool);
      // Biases (qwen2) are a separate F32 add after the mat-mul, as in llama.cpp's graph.
      if (!debug.drop_qkv_bias) {
        add_bias(buf.q.get(), l.bq, n_q);
        add_bias(buf.k.get(), l.bk, n_kv);
        add_bias(buf.v.get(), l.bv, n_kv);
      }
    }
    if (!debug.drop_qk_norm) {  // qwen3: RMSNorm of every head of Q and K, before RoPE
      head_norm(buf.q.get(), l.q_norm, int64_t(n) * hp.n_head);
      head_norm(buf.k.get(), l.k_norm, int64_t(n) * hp.n_head_kv);
    }
    {
      OpTimer t(prof, Op::Rope);
      int64_t r0 = 0;  // first row of the segment; its positions start at its cache's n_past
      for (const ForwardSegment& sg : segments) {
        const int p0 = sg.cache->n_past();
        float* q = buf.q.get() + r0 * n_q;
        float* k = buf.k.get() + r0 * n_kv;
        parallel_rows(pool, sg.n, [&](int64_t a, int64_t b) {
          rope(q + a * n_q, b - a, n_q, hp.n_head, hp.head_dim, p0 + int(a), layer_rope);
          rope(k + a * n_kv, b - a, n_kv, hp.n_head_kv, hp.head_dim, p0 + int(a), layer_rope);
        });
        r0 += sg.n;
      }
    }
    if (prescale_q) scale_rows(buf.q.get(), int64_t(n) * n_q, hp.attn_scale);
    {
      OpTimer t(prof, Op::KvStore);
      int64_t r0 = 0;
      for (const ForwardSegment& sg : segments) {
        const int64_t p0 = sg.cache->n_past();
        kv_store(sg.cache->type_k(), buf.k.get() + r0 * n_kv, sg.cache->k(il), p0 * n_kv, sg.n * n_kv);
        kv_store(sg.cache->type_v(), buf.v.get() + r0 * n_kv, sg.cache->v(il), p0 * n_kv, sg.n * n_kv);
        r0 += sg.n;
      }
    }
    {
      OpTimer t(prof, Op::Attention);
      int64_t r0 = 0;
      for (const ForwardSegment& sg : segments) {
        attention(buf.q.get() + r0 * n_q, n_q, sg.cache->k(il), sg.cache->type_k(), sg.cache->v(il),
                  sg.cache->type_v(), n_kv, sg.n, sg.cache->n_past(), att_shape, xb + r0 * n_q, n_q,
                  buf.att_scratch.get(), buf.att_scratch_floats, pool);
        r0 += sg.n;
      }
    }
    acts.set(xb, n, n_q);
    {
      OpTimer t(prof, Op::MatmulO);
      matmul({{&l.wo, xb2, n_embd}}, acts, pool);
    }
    if (!debug.drop_post_norm && l.attn_post_norm.present()) norm(xb2, l.attn_post_norm, xb2, n);
    residual_add(xb2);

    // ---- feed-forward block (gated: SwiGLU or GeGLU; or the mixture of experts) ----
    norm(x, l.ffn_norm, xb, n);
    if (l.ffn_gate_inp.present()) {
      OpTimer t(prof, Op::MatmulGateUp);
      moe_ffn(hp, l, xb, n, xb2, *buf.moe, acts, pool, debug.moe);
    } else {
      acts.set(xb, n, n_embd);
      {
        OpTimer t(prof, Op::MatmulGateUp);
        matmul({{&l.ffn_gate, buf.gate.get(), n_ff}, {&l.ffn_up, buf.up.get(), n_ff}}, acts, pool);
      }
      {
        OpTimer t(prof, Op::SiluMul);
        float* g = buf.gate.get();
        const float* u = buf.up.get();
        if (w.arch->ffn == FfnActivation::GeluTanhGated) {
          parallel_flat(pool, n * n_ff, [&](int64_t a, int64_t b) { gelu_tanh_mul(g + a, u + a, g + a, b - a); });
        } else {
          parallel_flat(pool, n * n_ff, [&](int64_t a, int64_t b) { silu_mul(g + a, u + a, g + a, b - a); });
        }
      }
      acts.set(buf.gate.get(), n, n_ff);
      {
        OpTimer t(prof, Op::MatmulDown);
        matmul({{&l.ffn_down, xb2, n_embd}}, acts, pool);
      }
    }
    if (!debug.drop_post_norm && l.ffn_post_norm.present()) norm(xb2, l.ffn_post_norm, xb2, n);
    residual_add(xb2);
  }
  for (const ForwardSegment& sg : segments) sg.cache->set_n_past(sg.cache->n_past() + sg.n);
  // Embeddings: every position's final-normed hidden state (llama.cpp's t_embd, which it pools).
  if (hidden) norm(x, w.output_norm, hidden, n);
  if (!logits) return;

  // ---- output: final norm and the vocabulary projection (of every row when all_logits, else of
  // the last row of each segment that asks, gathered into consecutive rows of xb) ----
  int rows = 0;
  if (all_logits) {
    rows = n;
    norm(x, w.output_norm, xb, rows);
  } else {
    int64_t end = 0;
    for (const ForwardSegment& sg : segments) {
      end += sg.n;
      if (sg.logits) norm(x + (end - 1) * n_embd, w.output_norm, xb + int64_t(rows++) * n_embd, 1);
    }
    if (rows == 0) return;
  }
  acts.set(xb, rows, n_embd);
  OpTimer t(prof, Op::Output);
  matmul({{&w.output, logits, n_vocab}}, acts, pool);
  if (hp.final_softcap > 0 && !debug.drop_softcap) {
    parallel_flat(pool, int64_t(rows) * n_vocab, [&](int64_t a, int64_t b) { softcap(logits + a, b - a, hp.final_softcap); });
  }
}

}  // namespace lp
