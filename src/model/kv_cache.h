// The KV cache of one context: for every layer, K and V as [n_ctx][n_head_kv * head_dim] rows,
// slot t holding the token at position t (the layout src/kernels/ops.h attention() reads), in F16
// (the default), F32 or Q8_0 (llama-cpp-python's type_k / type_v). Allocated once, untouched until
// written, so unused context costs address space, not RSS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/ops.h"

namespace lp {

class KvCache {
 public:
  KvCache(int n_layer, int n_ctx, int row_width, KvType type_k = KvType::F16, KvType type_v = KvType::F16)
      : n_layer_(n_layer), n_ctx_(n_ctx), row_width_(row_width), type_k_(type_k), type_v_(type_v),
        k_bytes_(kv_bytes(type_k, int64_t(n_ctx) * row_width)), v_bytes_(kv_bytes(type_v, int64_t(n_ctx) * row_width)),
        // Default-initialized (not zeroed): large allocations come straight from mmap, so pages
        // stay unmapped until a token is stored there.
        data_(new unsigned char[size_t(n_layer) * (k_bytes_ + v_bytes_)]) {}

  int n_ctx() const { return n_ctx_; }
  int row_width() const { return row_width_; }  // n_head_kv * head_dim (elements)
  int n_past() const { return n_past_; }
  KvType type_k() const { return type_k_; }
  KvType type_v() const { return type_v_; }
  size_t bytes() const { return size_t(n_layer_) * (k_bytes_ + v_bytes_); }
  // Bytes of the first n rows of one layer's K (V).
  size_t k_row_bytes(int n) const { return kv_bytes(type_k_, int64_t(n) * row_width_); }
  size_t v_row_bytes(int n) const { return kv_bytes(type_v_, int64_t(n) * row_width_); }

  // One layer's [n_ctx][row_width] elements of type_k() (type_v()).
  void* k(int layer) { return data_.get() + size_t(layer) * (k_bytes_ + v_bytes_); }
  void* v(int layer) { return data_.get() + size_t(layer) * (k_bytes_ + v_bytes_) + k_bytes_; }
  const void* k(int layer) const { return data_.get() + size_t(layer) * (k_bytes_ + v_bytes_); }
  const void* v(int layer) const { return data_.get() + size_t(layer) * (k_bytes_ + v_bytes_) + k_bytes_; }

  // Positions [0, n) hold valid rows. Rows past n_past are stale and are overwritten before use
  // (attention only reads positions < p0 + nq).
  void set_n_past(int n) { n_past_ = n; }

 private:
  int n_layer_, n_ctx_, row_width_;
  KvType type_k_, type_v_;
  size_t k_bytes_, v_bytes_;  // per layer
  int n_past_ = 0;
  std::unique_ptr<unsigned char[]> data_;
};

}  // namespace lp
