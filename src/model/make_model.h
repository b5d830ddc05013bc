// Random-weight GGUF files of every architecture llamaprof runs (model/arch.h) with real shapes and a real vocabulary
// (`llamaprof make-model`): benchmarks need the shapes, and parity tests against llama.cpp need
// weights that make attention sharp and logits spread out (see weight_scale in make_model.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gguf/value.h"
#include "gguf/writer.h"
#include "model/presets.h"
#include "quant/recipe.h"

namespace lp::model {

// The tokenizer.* metadata keys of the file, in order.
using TokenizerKeys = std::vector<std::pair<std::string, gguf::Value>>;

// Reads the vocabulary TSV written by tools/oracle/export-vocab.mjs: "#" lines are comments, other
// lines are `id \t score \t type \t text` with ids 0..n-1 in order and \\ \t \n \r escaped in text.
// Returns the SentencePiece ("llama") tokenizer keys: model, tokens, scores, token_type, the
// bos (1) / eos (2) / unknown (0) ids, add_bos_token=true, add_eos_token=false.
// Throws lp::Error(FileNotFound) or lp::Error(InvalidFile) naming the path and line.
TokenizerKeys read_vocab_tsv(const std::string& path);
// Every tokenizer.* key of another GGUF file (its vocabulary, as is).
TokenizerKeys tokenizer_keys_from_gguf(const std::string& path);
// Number of tokens (tokenizer.ggml.tokens); throws InvalidArgument if the key is missing.
int64_t vocab_size(const TokenizerKeys& keys);

// One tensor of the model: its GGUF name and shape (ne[0] first) and the type the recipe gives it.
struct TensorPlan {
  std::string name;
  std::vector<int64_t> shape;
  TensorType type;
  uint64_t nbytes;
};
std::vector<TensorPlan> plan_tensors(const ModelPreset& preset, const Recipe& recipe, int64_t n_vocab);
// Bytes of tensor data (the file is this plus a few hundred KB of metadata with a 32000 vocab).
uint64_t tensor_data_size(const ModelPreset& preset, const Recipe& recipe, int64_t n_vocab);
uint64_t parameter_count(const ModelPreset& preset, int64_t n_vocab);

// rope_freqs.weight of a preset with llama3 RoPE scaling: [head_dim / 2] frequency divisors.
std::vector<float> llama3_rope_factors(const ModelPreset& preset);

// rope_factors_long/short.weight of a phi3 preset with n_ctx_orig: [head_dim / 2] divisors.
std::vector<float> longrope_factors(const ModelPreset& preset, bool long_factors);

// llama.cpp's general.file_type (llama_ftype) for a recipe name ("Q4_K_M" -> 15).
uint32_t llama_file_type(const Recipe& recipe);

struct MakeModelOptions {
  uint64_t seed = 0;
  int threads = 0;  // 0: hardware concurrency
  // Build the rows of quantized tensors from a small pool of quantized random blocks instead of
  // quantizing every row: the same weight distribution, hundreds of times faster (benchmark files).
  bool pooled_blocks = false;
};

// Adds the metadata and every tensor (as a producer: nothing is generated before write()) to
// writer. The bytes depend only on (preset, recipe, tokenizer, seed), never on the thread count.
void add_model(gguf::Writer& writer, const ModelPreset& preset, const Recipe& recipe,
               const TokenizerKeys& tokenizer, const MakeModelOptions& options);

}  // namespace lp::model
