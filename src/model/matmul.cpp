#include "model/matmul.h"

#include <algorithm>
#include <atomic>

#include "kernels/kernel_table.h"
#include "runtime/thread_pool.h"

namespace lp {
namespace {

// Weight rows per work item. Small enough that every thread gets many items (the last ones even
// out the imbalance), large enough that the shared counter is touched rarely. Decode (one
// activation row) streams the weights from DRAM, and every item boundary breaks the kernels'
// prefetch stream, so there each thread gets two items: 7B Q4_0 decode +6% over 16 items per
// thread (docs/benchmarks.md).
int64_t rows_per_chunk(int64_t n_rows, int nth, int64_t nb) {
  int64_t c = nb == 1 ? (n_rows + 2 * nth - 1) / (2 * nth)
                      : std::clamp<int64_t>(n_rows / (int64_t(nth) * 16), 16, 256);
  return (c + 15) / 16 * 16;
}

// Activation rows per gemm work item: a block of this many quantized rows stays in L2 while a
// chunk of weight rows is multiplied with it.
constexpr int64_t kActRowsPerChunk = 64;

// Activations this small are quantized on the calling thread: a synchronization would cost more
// (decode's one row; the few copies of it a mixture-of-experts layer gives its selected experts).
constexpr int64_t kQuantizeInlineElements = 32768;

}  // namespace

void Activations::need(const WeightView& v, int64_t max_rows) {
  if (!v.present()) return;
  const TensorType act = type_traits(v.type).vec_dot_type;
  if (act == TensorType::F32) return;  // read x directly
  const size_t bytes = row_size(act, v.n_cols) * size_t(max_rows);
  for (auto& s : slots_) {
    if (s.type == act) {
      s.bytes = std::max(s.bytes, bytes);
      return;
    }
  }
  slots_.push_back(Slot{act, false, nullptr, bytes});
}

Activations::Activations(const ModelWeights& w, int64_t max_rows, int64_t max_cols) {
  need(w.output, max_rows);
  for (const auto& l : w.layers) {
    for (const WeightView* v : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down, &l.ffn_gate_inp})
      need(*v, max_rows);
  }
  (void)max_cols;
  for (auto& s : slots_) s.data.reset(new uint8_t[s.bytes]);
}

Activations::Activations(std::span<const WeightView* const> weights, int64_t max_rows) {
  for (const WeightView* v : weights) need(*v, max_rows);
  for (auto& s : slots_) s.data.reset(new uint8_t[s.bytes]);
}

const void* Activations::get(TensorType type, ThreadPool& pool) {
  if (type == TensorType::F32) return x_;
  for (auto& s : slots_) {
    if (s.type != type) continue;
    if (!s.valid) {
      const auto quantize = kernels().quantize_row[uint32_t(type)];
      const size_t row_bytes = row_size(type, n_);
      const float* x = x_;
      const int64_t n = n_, nb = nb_;
      uint8_t* dst = s.data.get();
      if (nb * n <= kQuantizeInlineElements) {
        for (int64_t j = 0; j < nb; ++j) quantize(x + j * n, dst + size_t(j) * row_bytes, n);
      } else {
        pool.run([&](int ith, int nth) {
          for (int64_t j = ith; j < nb; j += nth) quantize(x + j * n, dst + size_t(j) * row_bytes, n);
        });
      }
      s.valid = true;
    }
    return s.data.get();
  }
  return nullptr;  // unreachable: the constructor sized a slot for every weight's type
}

void matmul(std::span<const MatmulJob> jobs, Activations& acts, ThreadPool& pool) {
  struct Prepared {
    MatmulJob job;
    const uint8_t* a;  // the job's first activation row
    size_t a_row_bytes;
    int64_t nb;          // the job's activation rows
    int64_t act_blocks;  // work items per chunk of weight rows: blocks of kActRowsPerChunk rows
    int64_t chunk_rows;
    int64_t first_item;  // items [first_item, first_item + n_items) belong to this job
  };
  // Reused across calls (no allocation per call once it has grown); filled before the parallel
  // region by the calling thread, only read inside it -- through this reference: a thread_local
  // named inside the lambda would be each worker's own, empty, vector.
  thread_local std::vector<Prepared> prep_storage;
  std::vector<Prepared>& prep = prep_storage;
  prep.clear();
  const int64_t n = acts.cols();
  const int nth = pool.size();
  int64_t n_items = 0;
  for (const MatmulJob& job : jobs) {
    const TensorType act = type_traits(job.w->type).vec_dot_type;
    Prepared p;
    p.job = job;
    p.a_row_bytes = row_size(act, n);
    p.a = static_cast<const uint8_t*>(acts.get(act, pool)) + size_t(job.a_row0) * p.a_row_bytes;
    p.nb = job.a_rows < 0 ? acts.rows() - job.a_row0 : job.a_rows;
    if (p.nb <= 0) continue;
    p.act_blocks = (p.nb + kActRowsPerChunk - 1) / kActRowsPerChunk;
    p.chunk_rows = rows_per_chunk(job.w->n_rows, nth, p.nb);
    p.first_item = n_items;
    n_items += (job.w->n_rows + p.chunk_rows - 1) / p.chunk_rows * p.act_blocks;
    prep.push_back(p);
  }
  const KernelTable& k = kernels();
  std::atomic<int64_t>& counter = pool.chunk_counter();
  counter.store(0, std::memory_order_relaxed);
  pool.run([&](int, int) {
    size_t jx = 0;
    for (;;) {
      const int64_t item = counter.fetch_add(1, std::memory_order_relaxed);
      if (item >= n_items) break;
      // Items are taken in increasing order: the job of this one is at or after the last one's.
      while (jx + 1 < prep.size() && item >= prep[jx + 1].first_item) ++jx;
      const Prepared& p = prep[jx];
      const WeightView& w = *p.job.w;
      const int64_t local = item - p.first_item;
      // Row chunk major: consecutive items reuse one chunk of weight rows across activation blocks.
      const int64_t rc = local / p.act_blocks, ab = local % p.act_blocks;
      const int64_t r0 = rc * p.chunk_rows, r1 = std::min(w.n_rows, r0 + p.chunk_rows);
      // Decode (one activation row) runs gemm with nb = 1, not vec_dot per row: the kernels'
      // mat-vec paths prepare the activation block once for several weight rows.
      const int64_t j0 = ab * kActRowsPerChunk, j1 = std::min(p.nb, j0 + kActRowsPerChunk);
      k.gemm[uint32_t(w.type)](n, r0, r1, w.data, w.row_bytes, p.a + size_t(j0) * p.a_row_bytes, p.a_row_bytes,
                               j1 - j0, p.job.y + j0 * p.job.ldy, p.job.ldy);
    }
  });
}

}  // namespace lp
