// Causal self-attention over the F16 KV cache (layout in ops.h).
//
// Work item = (block of up to kRowBlock query rows, one KV head): the item's G = n_head / n_head_kv
// query heads and its rows all read the same K and V rows, so each cache row is converted from F16
// once per item and used for up to kRowBlock * G dot products. Items are handed out through the
// pool's chunk counter, latest rows first (they see the most keys), so threads finish together.
// Per item, two passes over the keys with a stable softmax in between:
//   1. scores s[rh][t] = scale * q[rh] . K[t]   (rh = row-head pair), then the max per rh
//   2. w = exp(s - max), sum;  out[rh] = (sum_t w[t] V[t]) / sum
#include <algorithm>
#include <cmath>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/kernel_table.h"
#include "kernels/ops.h"
#include "kernels/ops_internal.h"
#include "llamaprof/error.h"
#include "quant/quantize_rows.h"
#include "runtime/thread_pool.h"

namespace lp {

namespace {

constexpr int kRowBlock = 8;

// The two inner loops, on F16 cache rows: score = q . k and o += w * v.
// Generic: convert the row to F32 once (row_f32), then SSE2-vectorized F32 loops.
// AVX2: F16C converts 8 halves per instruction, so each dot/axpy reads the F16 row directly.
#if defined(__x86_64__)
__attribute__((target("avx2,fma,f16c"), always_inline)) inline float dot_f16_avx2(const float* q,
                                                                                  const fp16_t* k, int n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 k0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k + i)));
    const __m256 k1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k + i + 8)));
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), k0, a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), k1, a1);
  }
  const __m256 a = _mm256_add_ps(a0, a1);
  __m128 r = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  float sum = _mm_cvtss_f32(r);
  for (; i < n; ++i) sum += q[i] * _cvtsh_ss(k[i]);
  return sum;
}

// One head's slice of a cache row is a few lines, and the next row's slice is a whole cache row
// (n_head_kv * head_dim halves) further: a stride the hardware prefetcher does not follow across
// pages, so decode's key and value loops would wait on DRAM once per row. They prefetch the slice
// kPrefetchRows rows on instead.
constexpr int kPrefetchRows = 16;  // 8, 16, 24, 32 measured: 16-32 alike, +4-7% decode at 512 keys

inline void prefetch_row(const fp16_t* row, int halves) {
  const char* p = reinterpret_cast<const char*>(row);
  for (int off = 0; off < halves * 2; off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
}

// scores[t] = scale * (q . k row t) for n key rows `stride` halves apart: the loop over keys inside
// one target function, so that the dot is inlined (a call per key cost as much as the dot).
__attribute__((target("avx2,fma,f16c"))) void scores_f16_avx2(const float* q, const fp16_t* k, int64_t stride,
                                                              int n, int hd, float scale, float* scores) {
  for (int t = 0; t < n; ++t) {
    if (t + kPrefetchRows < n) prefetch_row(k + (t + kPrefetchRows) * stride, hd);
    scores[t] = scale * dot_f16_avx2(q, k + t * stride, hd);
  }
}

// o[0..hd) = sum over t < n of w[t] * (v row t): 64 outputs at a time stay in registers for all n
// rows (instead of loading and storing o once per row). Per output element the fmas run in the
// same order as an axpy per row would, so the result is the same.
__attribute__((target("avx2,fma,f16c"))) void weighted_sum_f16_avx2(const float* w, const fp16_t* v,
                                                                    int64_t stride, int n, int hd, float* o) {
  int d0 = 0;
  for (; d0 + 64 <= hd; d0 += 64) {  // 8 accumulators
    __m256 acc[8];
    for (int k = 0; k < 8; ++k) acc[k] = _mm256_setzero_ps();
    for (int t = 0; t < n; ++t) {
      if (t + kPrefetchRows < n) prefetch_row(v + (t + kPrefetchRows) * stride + d0, 64);
      const __m256 wt = _mm256_set1_ps(w[t]);
      const fp16_t* row = v + t * stride + d0;
      for (int k = 0; k < 8; ++k) {
        const __m256 x = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 8 * k)));
        acc[k] = _mm256_fmadd_ps(wt, x, acc[k]);
      }
    }
    for (int k = 0; k < 8; ++k) _mm256_storeu_ps(o + d0 + 8 * k, acc[k]);
  }
  for (; d0 + 8 <= hd; d0 += 8) {  // what is left of head_dim, 8 at a time
    __m256 acc = _mm256_setzero_ps();
    for (int t = 0; t < n; ++t) {
      const __m256 x =
          _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + t * stride + d0)));
      acc = _mm256_fmadd_ps(_mm256_set1_ps(w[t]), x, acc);
    }
    _mm256_storeu_ps(o + d0, acc);
  }
  for (int d = d0; d < hd; ++d) {  // head_dim % 8 (e.g. 100)
    float sum = 0;
    for (int t = 0; t < n; ++t) sum = std::fma(w[t], _cvtsh_ss(v[t * stride + d]), sum);
    o[d] = sum;
  }
}
#endif

// Whether attention uses the AVX2 loops: follows the kernel tier (LLAMAPROF_ISA=ref gives the
// portable path everywhere), overridable for tests.
int g_simd_override = -1;  // -1: follow kernels().isa

bool use_avx2() {
#if defined(__x86_64__)
  if (g_simd_override >= 0) return g_simd_override == 1;
  return kernels().isa != Isa::Ref;
#else
  return false;
#endif
}

// Floats one thread needs for a context of n_kv keys.
size_t per_thread_floats(const AttentionShape& s, int64_t n_kv) {
  const int64_t group = s.n_head / s.n_head_kv;
  const int64_t pairs = kRowBlock * group;
  return size_t(pairs * n_kv + pairs * s.head_dim + s.head_dim);
}

void check_shape(const AttentionShape& s) {
  if (s.n_head <= 0 || s.n_head_kv <= 0 || s.head_dim <= 0 || s.n_head % s.n_head_kv != 0 ||
      s.sliding_window < 0) {
    throw Error(ErrorKind::InvalidArgument, "attention: bad shape n_head " + std::to_string(s.n_head) +
                                                ", n_head_kv " + std::to_string(s.n_head_kv) + ", head_dim " +
                                                std::to_string(s.head_dim) + ", sliding_window " +
                                                std::to_string(s.sliding_window));
  }
}

struct Job {
  const float* q;
  int64_t q_row_stride;
  const void* k;
  const void* v;
  KvType k_type, v_type;
  int64_t kv_row_stride;
  int nq;
  int p0;
  AttentionShape shape;
  float scale;
  float* out;
  int64_t out_row_stride;
  bool avx2;

  // First visible key of the query at position p.
  int first_key(int p) const {
    return shape.sliding_window > 0 ? std::max(0, p - shape.sliding_window + 1) : 0;
  }

  void run_item(int row_block, int g, float* scratch) const {
    const float cap = shape.softcap;  // scale already divided by it (attention() below)
    const int hd = shape.head_dim;
    const int group = shape.n_head / shape.n_head_kv;
    const int i0 = row_block * kRowBlock;
    const int i1 = std::min(nq, i0 + kRowBlock);
    const int n_rows = i1 - i0;
    const int n_pairs = n_rows * group;
    // Keys any row of the block sees: [t_lo, t_hi).
    const int t_lo = first_key(p0 + i0);
    const int t_hi = p0 + i1;
    const int64_t n_t = t_hi - t_lo;

    float* scores = scratch;                                 // [n_pairs][n_t]
    float* acc = scores + int64_t(kRowBlock) * group * n_t;  // [n_pairs][hd]
    float* row_f32 = acc + int64_t(kRowBlock) * group * hd;  // [hd]

    const float* qh[kRowBlock * 64];  // query head vectors, rh = r * group + j
    float row_max[kRowBlock * 64];
    float row_sum[kRowBlock * 64];
    for (int r = 0; r < n_rows; ++r) {
      for (int j = 0; j < group; ++j) {
        const int rh = r * group + j;
        qh[rh] = q + int64_t(i0 + r) * q_row_stride + int64_t(g * group + j) * hd;
        row_max[rh] = -INFINITY;
        row_sum[rh] = 0;
      }
    }

    // fn(rh, a, n) for every (row, query head) pair: its visible keys are [a, a + n).
    auto each_pair = [&](auto&& fn) {
      for (int r = 0; r < n_rows; ++r) {
        const int p = p0 + i0 + r;
        for (int j = 0; j < group; ++j) fn(r * group + j, first_key(p), p + 1 - first_key(p));
      }
    };

    // Pass 1: scores. Row r sees keys [first_key(p_r), p_r]; within the block, the first visible
    // key grows with r and the last one too.
#if defined(__x86_64__)
    if (avx2) {
      each_pair([&](int rh, int a, int n) {
        float* s = scores + rh * n_t + (a - t_lo);
        scores_f16_avx2(qh[rh], static_cast<const fp16_t*>(k) + int64_t(a) * kv_row_stride + int64_t(g) * hd,
                        kv_row_stride, n, hd, scale, s);
        if (cap > 0) {
          for (int t = 0; t < n; ++t) s[t] = cap * std::tanh(s[t]);
        }
        for (int t = 0; t < n; ++t) row_max[rh] = std::max(row_max[rh], s[t]);
      });
    }
#endif
    for (int t = avx2 ? t_hi : t_lo; t < t_hi; ++t) {
      kv_load(k_type, k, int64_t(t) * kv_row_stride + int64_t(g) * hd, row_f32, hd);
      for (int r = 0; r < n_rows; ++r) {
        const int p = p0 + i0 + r;
        if (t > p || t < first_key(p)) continue;
        for (int j = 0; j < group; ++j) {
          const int rh = r * group + j;
          const float dot = ops_detail::dot(qh[rh], row_f32, hd);
          const float s = cap > 0 ? cap * std::tanh(scale * dot) : scale * dot;
          scores[rh * n_t + (t - t_lo)] = s;
          row_max[rh] = std::max(row_max[rh], s);
        }
      }
    }

    // Softmax numerators over each pair's visible range (contiguous in scores).
    for (int r = 0; r < n_rows; ++r) {
      const int p = p0 + i0 + r;
      const int a = first_key(p) - t_lo, b = p + 1 - t_lo;
      for (int j = 0; j < group; ++j) {
        const int rh = r * group + j;
        float* s = scores + rh * n_t;
        const float m = row_max[rh];
        float part[ops_detail::kLanes] = {};
        int x = a;
        for (; x + ops_detail::kLanes <= b; x += ops_detail::kLanes) {
          for (int l = 0; l < ops_detail::kLanes; ++l) {
            s[x + l] = ops_detail::exp_approx(s[x + l] - m);
            part[l] += s[x + l];
          }
        }
        float sum = 0;
        for (; x < b; ++x) {
          s[x] = ops_detail::exp_approx(s[x] - m);
          sum += s[x];
        }
        for (int l = 0; l < ops_detail::kLanes; ++l) sum += part[l];
        row_sum[rh] = sum;
      }
    }

    // Pass 2: weighted sum of V rows.
    std::fill(acc, acc + int64_t(n_pairs) * hd, 0.0f);
#if defined(__x86_64__)
    if (avx2) {
      each_pair([&](int rh, int a, int n) {
        weighted_sum_f16_avx2(scores + rh * n_t + (a - t_lo),
                              static_cast<const fp16_t*>(v) + int64_t(a) * kv_row_stride + int64_t(g) * hd,
                              kv_row_stride, n, hd, acc + int64_t(rh) * hd);
      });
    }
#endif
    for (int t = avx2 ? t_hi : t_lo; t < t_hi; ++t) {
      kv_load(v_type, v, int64_t(t) * kv_row_stride + int64_t(g) * hd, row_f32, hd);
      for (int r = 0; r < n_rows; ++r) {
        const int p = p0 + i0 + r;
        if (t > p || t < first_key(p)) continue;
        for (int j = 0; j < group; ++j) {
          const int rh = r * group + j;
          const float w = scores[rh * n_t + (t - t_lo)];
          float* o = acc + int64_t(rh) * hd;
          for (int d = 0; d < hd; ++d) o[d] += w * row_f32[d];
        }
      }
    }

    for (int r = 0; r < n_rows; ++r) {
      for (int j = 0; j < group; ++j) {
        const int rh = r * group + j;
        const float inv = 1.0f / row_sum[rh];
        const float* o = acc + int64_t(rh) * hd;
        float* dst = out + int64_t(i0 + r) * out_row_stride + int64_t(g * group + j) * hd;
        for (int d = 0; d < hd; ++d) dst[d] = o[d] * inv;
      }
    }
  }
};

// Query heads per KV head the fixed-size arrays in run_item() allow.
constexpr int kMaxGroup = 64;

}  // namespace

namespace ops_detail {
void set_attention_simd(int mode) { g_simd_override = mode; }
}  // namespace ops_detail

const char* kv_type_name(KvType t) {
  switch (t) {
    case KvType::F16: return "F16";
    case KvType::F32: return "F32";
    case KvType::Q8_0: return "Q8_0";
  }
  return "?";
}

size_t kv_bytes(KvType t, int64_t n) {
  switch (t) {
    case KvType::F16: return size_t(n) * sizeof(fp16_t);
    case KvType::F32: return size_t(n) * sizeof(float);
    case KvType::Q8_0: return size_t(n / 32) * sizeof(block_q8_0);
  }
  return 0;
}

void kv_store(KvType t, const float* x, void* cache, int64_t at, int64_t n) {
  switch (t) {
    case KvType::F16: convert_f32_to_f16(x, static_cast<fp16_t*>(cache) + at, n); return;
    case KvType::F32: std::copy(x, x + n, static_cast<float*>(cache) + at); return;
    case KvType::Q8_0: quant::quantize_q8_0(x, static_cast<block_q8_0*>(cache) + at / 32, n); return;
  }
}

void kv_load(KvType t, const void* cache, int64_t at, float* y, int64_t n) {
  switch (t) {
    case KvType::F16: ops_detail::f16_to_f32(static_cast<const fp16_t*>(cache) + at, y, n); return;
    case KvType::F32: {
      const float* p = static_cast<const float*>(cache) + at;
      std::copy(p, p + n, y);
      return;
    }
    case KvType::Q8_0: quant::dequantize_q8_0(static_cast<const block_q8_0*>(cache) + at / 32, y, n); return;
  }
}

size_t attention_scratch_floats(const AttentionShape& shape, int n_ctx, int n_threads) {
  check_shape(shape);
  const size_t per_thread =
      std::max(per_thread_floats(shape, n_ctx), ops_detail::attention_f16acc_scratch_floats(shape));
  return per_thread * size_t(std::max(1, n_threads));
}

void attention(const float* q, int64_t q_row_stride, const fp16_t* k, const fp16_t* v, int64_t kv_row_stride,
               int nq, int p0, const AttentionShape& shape, float* out, int64_t out_row_stride,
               float* scratch, size_t scratch_floats, ThreadPool& pool) {
  attention(q, q_row_stride, k, KvType::F16, v, KvType::F16, kv_row_stride, nq, p0, shape, out, out_row_stride,
            scratch, scratch_floats, pool);
}

void attention(const float* q, int64_t q_row_stride, const void* k, KvType k_type, const void* v, KvType v_type,
               int64_t kv_row_stride, int nq, int p0, const AttentionShape& shape, float* out,
               int64_t out_row_stride, float* scratch, size_t scratch_floats, ThreadPool& pool) {
  check_shape(shape);
  const bool f16 = k_type == KvType::F16 && v_type == KvType::F16;
  if ((k_type == KvType::Q8_0 || v_type == KvType::Q8_0) && (shape.head_dim % 32 != 0 || kv_row_stride % 32 != 0)) {
    throw Error(ErrorKind::Unsupported, "attention: a Q8_0 KV cache needs head_dim a multiple of 32 (head_dim " +
                                            std::to_string(shape.head_dim) + ")");
  }
  if (!f16 && shape.precision == AttentionPrecision::F16Accumulate) {
    throw Error(ErrorKind::Unsupported, "attention: F16-accumulate precision needs an F16 KV cache");
  }
  if (nq <= 0) return;
  if (p0 < 0) throw Error(ErrorKind::InvalidArgument, "attention: negative position " + std::to_string(p0));
  if (shape.n_head / shape.n_head_kv > kMaxGroup) {
    throw Error(ErrorKind::Unsupported, "attention: more than 64 query heads per KV head");
  }
  const int nth = pool.size();
  const size_t per_thread = scratch_floats / size_t(nth);
  const size_t needed = shape.precision == AttentionPrecision::F16Accumulate
                            ? ops_detail::attention_f16acc_scratch_floats(shape)
                            : per_thread_floats(shape, int64_t(p0) + nq);
  if (per_thread < needed) {
    throw Error(ErrorKind::InvalidArgument, "attention: scratch of " + std::to_string(scratch_floats) +
                                                " floats is too small for " + std::to_string(p0 + nq) +
                                                " positions on " + std::to_string(nth) +
                                                " threads (see attention_scratch_floats)");
  }
  float scale = shape.scale > 0 ? shape.scale : 1.0f / std::sqrt(float(shape.head_dim));
  // Soft-capping: cap * tanh(s * scale / cap), the division folded into the scale once (as
  // llama.cpp's flash attention does, so the same floats come out).
  if (shape.softcap > 0) scale /= shape.softcap;
  if (shape.precision == AttentionPrecision::F16Accumulate) {
    ops_detail::attention_f16acc(q, q_row_stride, static_cast<const fp16_t*>(k), static_cast<const fp16_t*>(v),
                                 kv_row_stride, nq, p0, shape, scale, out, out_row_stride, scratch, per_thread, pool);
    return;
  }
  const Job job{q,     q_row_stride, k,   v,   k_type, v_type, kv_row_stride, nq, p0, shape, scale, out,
                out_row_stride, f16 && use_avx2()};
  const int n_blocks = (nq + kRowBlock - 1) / kRowBlock;
  const int64_t n_items = int64_t(n_blocks) * shape.n_head_kv;
  auto& counter = pool.chunk_counter();
  counter.store(0);
  pool.run([&](int ith, int) {
    float* mine = scratch + size_t(ith) * per_thread;
    for (int64_t item; (item = counter.fetch_add(1)) < n_items;) {
      const int block = n_blocks - 1 - int(item / shape.n_head_kv);  // latest rows first
      job.run_item(block, int(item % shape.n_head_kv), mine);
    }
  });
}

}  // namespace lp
