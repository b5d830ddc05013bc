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
  // Experts: a decode step reads n_expert_used of every layer's n_expert (all the same size).
  const HParams& hp = model.hparams();
  for (const LayerWeights& l : w.layers) {
    for (const WeightView* e : {&l.ffn_gate_exps, &l.ffn_up_exps, &l.ffn_down_exps}) {
      if (!e->present()) continue;
      const uint64_t all = uint64_t(e->row_bytes) * uint64_t(e->n_rows);
      const uint64_t used = all / uint64_t(e->n_mats) * uint64_t(hp.n_expert_used);
      t.expert_bytes += all;
      t.expert_bytes_per_token += used;
      t.bytes_per_token -= all - used;
    }
  }
  return t;
}

}  // namespace lp::profile
