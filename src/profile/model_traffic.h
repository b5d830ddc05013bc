// How many bytes of weights one decoded token reads: the numerator of the roofline. A decode
// step multiplies the single activation row by every weight matrix once, so it reads all of
// them, except token_embd, of which it reads one row (unless the output projection is tied to
// it, in which case the whole matrix is read as the output). A mixture-of-experts layer reads its
// router and only the expert_used_count experts its token selected: exactly that many per layer
// per token, so the count is exact, not an estimate.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

namespace lp {
class Model;
}

namespace lp::profile {

struct ModelTraffic {
  uint64_t file_bytes = 0;
  uint64_t weight_bytes = 0;      // all tensor data
  uint64_t bytes_per_token = 0;   // read by one decode forward pass (weights only; KV is extra)
  uint64_t expert_bytes = 0;      // all experts' matrices (MoE; 0 for dense models)
  uint64_t expert_bytes_per_token = 0;  // the part of bytes_per_token that is experts' matrices
  uint64_t n_params = 0;
};

ModelTraffic model_traffic(const Model& model);

}  // namespace lp::profile
