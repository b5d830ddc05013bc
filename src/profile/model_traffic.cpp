#include "profile/model_traffic.h"

#include "llamaprof/model.h"
#include "model/weights.h"

namespace lp::profile {

ModelTraffic model_traffic(const Model& model) {
  ModelTraffic t;
  t.file_bytes = model.file_size();
  t.weight_bytes = model.weight_bytes();
  t.n_params = model.n_params();
  const ModelWeights& w = model.weights();
  const uint64_t embd_bytes = uint64_t(w.token_embd.row_bytes) * uint64_t(w.token_embd.n_rows);
  // Untied: the embedding matrix is read one row per token; tied: it is read whole as the output.
  t.bytes_per_token = w.output_tied ? t.weight_bytes : t.weight_bytes - embd_bytes + w.token_embd.row_bytes;
  return t;
}

}  // namespace lp::profile
