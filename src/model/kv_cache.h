// The F16 KV cache of one context: for every layer, K and V as [n_ctx][n_head_kv * head_dim]
// rows, slot t holding the token at position t (the layout src/kernels/ops.h attention() reads).
// Allocated once, untouched until written, so unused context costs address space, not RSS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "quant/fp16.h"

namespace lp {

class KvCache {
 public:
  KvCache(int n_layer, int n_ctx, int row_width)
      : n_layer_(n_layer), n_ctx_(n_ctx), row_width_(row_width),
        // Default-initialized (not zeroed): large allocations come straight from mmap, so pages
        // stay unmapped until a token is stored there.
        data_(new fp16_t[size_t(n_layer) * 2 * size_t(n_ctx) * size_t(row_width)]) {}

  int n_ctx() const { return n_ctx_; }
  int row_width() const { return row_width_; }  // n_head_kv * head_dim
  int n_past() const { return n_past_; }
  size_t bytes() const { return size_t(n_layer_) * 2 * size_t(n_ctx_) * size_t(row_width_) * sizeof(fp16_t); }

  // [n_ctx][row_width] F16 of one layer.
  fp16_t* k(int layer) { return data_.get() + (size_t(layer) * 2) * size_t(n_ctx_) * size_t(row_width_); }
  fp16_t* v(int layer) { return data_.get() + (size_t(layer) * 2 + 1) * size_t(n_ctx_) * size_t(row_width_); }

  // Positions [0, n) hold valid rows. Rows past n_past are stale and are overwritten before use
  // (attention only reads positions < p0 + nq).
  void set_n_past(int n) { n_past_ = n; }

 private:
  int n_layer_, n_ctx_, row_width_;
  int n_past_ = 0;
  std::unique_ptr<fp16_t[]> data_;
};

}  // namespace lp
