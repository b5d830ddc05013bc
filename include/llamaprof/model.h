// A loaded GGUF model: hyperparameters, zero-copy weight views into the mapped file, the tokenizer
// and the metadata. A Model is immutable after load() and may be shared by several Contexts
// (each Context holds a reference: the Model must outlive them).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lp {

namespace gguf { class File; }
class Tokenizer;
struct ModelWeights;  // src/model/weights.h: the views the forward pass reads

using TokenId = int32_t;

struct ModelParams {
  bool use_mmap = true;    // false: read the whole file into memory instead of mapping it
  bool use_mlock = false;  // lock the mapping in RAM (needs RLIMIT_MEMLOCK)
  bool prefetch = false;   // madvise(WILLNEED) the tensor data
  // Tokenizer and metadata only (llama-cpp-python's vocab_only): no weights are bound, so a
  // vocabulary file without tensors loads; creating a Context on such a Model throws.
  bool vocab_only = false;
};

// Hyperparameters of a model, read from the GGUF keys "<arch>.*" (the same keys for every
// architecture llamaprof runs; the families' own keys below default to "not used").
struct HParams {
  std::string arch;           // general.architecture ("llama", "qwen2", "gemma3", ...)
  int n_vocab = 0;            // rows of token_embd.weight
  int n_ctx_train = 0;        // <arch>.context_length
  int n_embd = 0;             // <arch>.embedding_length
  int n_layer = 0;            // <arch>.block_count
  int n_ff = 0;               // <arch>.feed_forward_length
  int n_head = 0;             // <arch>.attention.head_count
  int n_head_kv = 0;          // <arch>.attention.head_count_kv (default n_head: no GQA)
  int head_dim = 0;           // <arch>.attention.key_length (default n_embd / n_head); Qwen3 and
                              // Mistral Nemo have n_head * head_dim != n_embd
  int n_rot = 0;              // <arch>.rope.dimension_count (default head_dim)
  float rms_eps = 1e-5f;      // <arch>.attention.layer_norm_rms_epsilon
  float rope_freq_base = 10000.0f;  // <arch>.rope.freq_base
  float rope_freq_scale = 1.0f;     // 1 / <arch>.rope.scaling.factor for "linear" scaling
  int sliding_window = 0;     // <arch>.attention.sliding_window; 0: full causal attention
  // Which layers use the window: 0 all of them; n (gemma2: 2, gemma3: 6, from
  // <arch>.attention.sliding_window_pattern) every layer il with il % n < n - 1, as llama.cpp.
  int swa_period = 0;
  float rope_freq_base_swa = 10000.0f;  // gemma: <arch>.rope.freq_base_swa, the windowed layers' base
  float rope_freq_scale_swa = 1.0f;     // the windowed layers do not scale positions
  float rope_attn_factor = 1.0f;        // <arch>.rope.scaling.attn_factor: cos/sin multiplier (phi3)
  int n_ctx_orig = 0;                   // <arch>.rope.scaling.original_context_length (default n_ctx_train)
  float attn_scale = 0.0f;              // query scale applied to Q before attention; 0: 1/sqrt(head_dim)
  float attn_softcap = 0.0f;            // gemma2 <arch>.attn_logit_softcapping; 0: none
  float final_softcap = 0.0f;           // gemma2/3 <arch>.final_logit_softcapping; 0: none
  // Mixture of experts (qwen3moe): <arch>.expert_count, expert_used_count,
  // expert_feed_forward_length; the top-k router weights are renormalized to sum 1, then scaled.
  int n_expert = 0;
  int n_expert_used = 0;
  int n_ff_exp = 0;
  float expert_weights_scale = 1.0f;

  bool layer_is_swa(int il) const {
    return sliding_window > 0 && (swa_period == 0 || il % swa_period < swa_period - 1);
  }
  int n_embd_q() const { return n_head * head_dim; }      // width of one Q row (and of Wo's input)
  int n_embd_kv() const { return n_head_kv * head_dim; }  // width of one K (or V) row
};

class GrammarVocab;

class Model {
 public:
  // Maps path and binds every weight. Throws lp::Error: FileNotFound, InvalidFile (a missing
  // tensor or a wrong shape, named), Unsupported (architecture or tensor type, named).
  static Model load(const std::string& path, const ModelParams& params = {});
  // Binds an already opened file (tests build small GGUFs in memory).
  static Model from_file(gguf::File file, bool vocab_only = false);

  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  const HParams& hparams() const;
  const std::string& path() const;
  double load_ms() const;             // open + parse + bind, wall clock
  uint64_t file_size() const;         // bytes
  uint64_t weight_bytes() const;      // bytes of all tensor data
  uint64_t n_params() const;          // elements of all tensors
  std::string type_name() const;      // the most common matrix type ("Q4_K", "F16", ...)
  bool vocab_only() const;            // loaded with ModelParams::vocab_only: no weights
  // Percent of the file's bytes mapped by 2 MiB pages right now (nullopt without /proc/self/smaps).
  // Decode is 5-9% slower on 4 KiB pages (runtime/huge_pages.h); pages are mapped as they are first
  // read, so ask after a forward pass.
  std::optional<double> weights_huge_pages_pct() const;

  // Tokenizer conveniences (the full interface is tokenizer()).
  int n_vocab() const;
  TokenId bos() const;
  TokenId eos() const;
  bool add_bos_default() const;  // tokenizer.ggml.add_bos_token (default true for llama)
  std::vector<TokenId> tokenize(std::string_view text, bool add_bos, bool parse_special = false) const;
  std::string token_to_piece(TokenId id) const;
  std::string detokenize(const std::vector<TokenId>& ids) const;

  // A metadata value rendered as text (arrays abbreviated), or nullopt when the key is absent.
  std::optional<std::string> metadata(std::string_view key) const;
  std::vector<std::string> metadata_keys() const;

  // Internals for the engine's own parts (profiler, binding helpers): include the src/ headers.
  const Tokenizer& tokenizer() const;
  const gguf::File& file() const;
  const ModelWeights& weights() const;
  // The vocabulary as grammars see it (sampling/grammar_stage.h): built on first use, then shared
  // by every constrained generation on this model. Thread-safe.
  std::shared_ptr<const GrammarVocab> grammar_vocab() const;

 private:
  struct Impl;
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lp
