// Weight mat-muls of the forward pass: y[j][r] = dot(weight row r, x row j).
// The activation rows are quantized once (per activation type) into what the weight's kernel
// expects, then weight rows are split into chunks handed out by the pool's atomic chunk counter:
// the gemm kernel serves both one activation row (decode) and several (prompt batches).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

#include "model/weights.h"
#include "quant/type_traits.h"

namespace lp {

class ThreadPool;

// The activation rows of the next mat-muls, quantized lazily per activation type and reused by
// every weight that wants the same type (Q, K and V share one quantization; so do gate and up).
class Activations {
 public:
  // Sizes the buffers for every activation type the weights use, for up to max_rows rows of at
  // most max_cols floats. Called once per context.
  Activations(const ModelWeights& w, int64_t max_rows, int64_t max_cols);
  // The same for the given weights only (the mixture-of-experts step's own rows).
  Activations(std::span<const WeightView* const> weights, int64_t max_rows);

  // The floats the next mat-muls read: nb rows of n floats, contiguous. Invalidates quantizations.
  void set(const float* x, int64_t nb, int64_t n) {
    x_ = x, nb_ = nb, n_ = n;
    for (auto& s : slots_) s.valid = false;
  }

  int64_t rows() const { return nb_; }
  int64_t cols() const { return n_; }
  // x quantized to type (F32: x itself). Quantizes on first use (in parallel when nb > 1).
  const void* get(TensorType type, ThreadPool& pool);

 private:
  void need(const WeightView& v, int64_t max_rows);

  struct Slot {
    TensorType type;
    bool valid = false;
    std::unique_ptr<uint8_t[]> data;
    size_t bytes = 0;
  };
  const float* x_ = nullptr;
  int64_t nb_ = 0, n_ = 0;
  std::vector<Slot> slots_;
};

struct MatmulJob {
  const WeightView* w;
  float* y;       // [rows][w->n_rows], row j at y + j * ldy
  int64_t ldy;
  // The activation rows this job multiplies: [a_row0, a_row0 + a_rows) of acts (a_rows < 0: all).
  // The experts of a mixture-of-experts layer each take their own tokens' rows of one batch.
  int64_t a_row0 = 0;
  int64_t a_rows = -1;
};

// Runs the jobs (all reading `acts`) in ONE parallel region: chunks of weight rows of all jobs
// share one chunk counter, so small matrices do not each pay a synchronization.
void matmul(std::span<const MatmulJob> jobs, Activations& acts, ThreadPool& pool);
inline void matmul(std::initializer_list<MatmulJob> jobs, Activations& acts, ThreadPool& pool) {
  matmul(std::span<const MatmulJob>(jobs.begin(), jobs.size()), acts, pool);
}

}  // namespace lp
