// Attention with llama.cpp's CPU flash-attention rounding (AttentionPrecision::F16Accumulate).
//
// Why it exists: with quantized weights every mat-mul rounds its input row to 8 bits, so a
// rounding difference anywhere upstream flips some int8 activations and moves the next layer's
// output; on the make-model presets llama.cpp against itself with flash attention on and off
// differs by 0.24 nats (tiny Q8_0). Matching llama.cpp's token choices therefore needs its
// attention rounding, not a more precise one. What llama.cpp's CPU flash attention does for an
// F16 KV cache and fewer than 64 query rows per batch (one query row and head at a time):
//   - the query row is rounded to F16, and each score is the F16 x F16 dot product summed in F32
//     in the order its AVX-512 loop uses (below), times the scale afterwards;
//   - online softmax over the visible keys in position order: a new maximum M rescales the
//     running sum S and the V accumulator by expf(M_old - M); otherwise the key's weight is
//     expf(s - M); S = S * ms + vs;
//   - the V accumulator is F16: every rescale and every multiply-add rounds it back to F16 (the
//     multiply-add is fused: one rounding of acc + w * v);
//   - the output is the F16 accumulator times 1 / S.
// The score order, for head_dim d: elements [0, d & ~63) go to 4 x 16 F32 lanes
// (lane (j, l) takes elements i + 16 j + l, fused multiply-add), then lanes 0 += 2, 1 += 3,
// 0 += 1, then the 16 lanes are summed pairwise (l += l + 8, l += l + 4, l += l + 2, 0 + 1); the
// remaining elements are added one by one in double precision and the total rounded to F32.
// expf is the C library's, as in llama.cpp (both link the same libm).
// Prompts of 64 rows or more take a tiled F32 path in llama.cpp; this mode rounds them the same
// way as short batches, which is closer to it than the F32 path but not identical.
#include <algorithm>
#include <cmath>

#include "kernels/ops.h"
#include "kernels/ops_internal.h"
#include "runtime/thread_pool.h"

namespace lp {

namespace {

constexpr int kLaneCount = 16;  // F32 lanes of one AVX-512 register
constexpr int kLaneRegs = 4;    // accumulator registers of the F16 dot loop
constexpr int kDotStep = kLaneCount * kLaneRegs;

// Score = k . q16 in the summation order described at the top of the file.
float dot_f16_ordered(const fp16_t* k, const float* q16, int n) {
  const int np = n & ~(kDotStep - 1);
  float lanes[kLaneRegs][kLaneCount] = {};
  for (int i = 0; i < np; i += kDotStep) {
    for (int j = 0; j < kLaneRegs; ++j) {
      for (int l = 0; l < kLaneCount; ++l) {
        const int e = i + j * kLaneCount + l;
        lanes[j][l] = std::fma(fp16_to_fp32(k[e]), q16[e], lanes[j][l]);
      }
    }
  }
  float c[kLaneCount];
  for (int l = 0; l < kLaneCount; ++l) {
    c[l] = (lanes[0][l] + lanes[2][l]) + (lanes[1][l] + lanes[3][l]);
  }
  for (int half = kLaneCount / 2; half >= 1; half /= 2) {
    for (int l = 0; l < half; ++l) c[l] = c[l] + c[l + half];
  }
  double sum = c[0];
  for (int e = np; e < n; ++e) sum += double(fp16_to_fp32(k[e]) * q16[e]);
  return float(sum);
}

struct Row {
  const float* q;   // one query head, head_dim floats
  const fp16_t* k;  // K of the head's KV head at position 0; rows kv_row_stride apart
  const fp16_t* v;
  int64_t kv_row_stride;
  int t_lo, t_hi;  // visible keys [t_lo, t_hi)
  float scale;
  float* out;
  float softcap;  // 0: none; else scale was divided by it
};

void attend_row(const Row& r, int hd, float* q16, fp16_t* acc) {
  for (int d = 0; d < hd; ++d) q16[d] = fp16_to_fp32(fp32_to_fp16(r.q[d]));
  std::fill(acc, acc + hd, fp16_t(0));
  float sum = 0.0f, max = -INFINITY;
  for (int t = r.t_lo; t < r.t_hi; ++t) {
    float s = dot_f16_ordered(r.k + int64_t(t) * r.kv_row_stride, q16, hd) * r.scale;
    if (r.softcap > 0) s = r.softcap * std::tanh(s);
    float ms = 1.0f, vs = 1.0f;
    if (s > max) {
      ms = std::exp(max - s);
      max = s;
      for (int d = 0; d < hd; ++d) acc[d] = fp32_to_fp16(fp16_to_fp32(acc[d]) * ms);
    } else {
      vs = std::exp(s - max);
    }
    const fp16_t* v_row = r.v + int64_t(t) * r.kv_row_stride;
    for (int d = 0; d < hd; ++d) {
      acc[d] = fp32_to_fp16(std::fma(fp16_to_fp32(v_row[d]), vs, fp16_to_fp32(acc[d])));
    }
    sum = sum * ms + vs;
  }
  const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
  for (int d = 0; d < hd; ++d) r.out[d] = fp16_to_fp32(acc[d]) * inv;
}

}  // namespace

namespace ops_detail {

size_t attention_f16acc_scratch_floats(const AttentionShape& shape) {
  // q16 (head_dim floats) + the F16 accumulator (head_dim halves, rounded up to floats).
  return size_t(shape.head_dim) + size_t(shape.head_dim + 1) / 2;
}

void attention_f16acc(const float* q, int64_t q_row_stride, const fp16_t* k, const fp16_t* v,
                      int64_t kv_row_stride, int nq, int p0, const AttentionShape& shape, float scale,
                      float* out, int64_t out_row_stride, float* scratch, size_t per_thread,
                      ThreadPool& pool) {
  const int hd = shape.head_dim;
  const int group = shape.n_head / shape.n_head_kv;
  const int64_t n_items = int64_t(nq) * shape.n_head;
  auto& counter = pool.chunk_counter();
  counter.store(0);
  pool.run([&](int ith, int) {
    float* q16 = scratch + size_t(ith) * per_thread;
    fp16_t* acc = reinterpret_cast<fp16_t*>(q16 + hd);
    for (int64_t item; (item = counter.fetch_add(1)) < n_items;) {
      const int i = int(item / shape.n_head), h = int(item % shape.n_head);
      const int p = p0 + i, g = h / group;
      const int t_lo = shape.sliding_window > 0 ? std::max(0, p - shape.sliding_window + 1) : 0;
      const Row row{q + int64_t(i) * q_row_stride + int64_t(h) * hd,
                    k + int64_t(g) * hd,
                    v + int64_t(g) * hd,
                    kv_row_stride,
                    t_lo,
                    p + 1,
                    scale,
                    out + int64_t(i) * out_row_stride + int64_t(h) * hd,
                    shape.softcap};
      attend_row(row, hd, q16, acc);
    }
  });
}

}  // namespace ops_detail

}  // namespace lp
