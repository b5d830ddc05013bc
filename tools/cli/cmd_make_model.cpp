// `llamaprof make-model`: writes a random-weight GGUF (any architecture of model/arch.h) with a preset's real
// shapes and vocabulary (the Llama 2 one, or the preset's own from the llama.cpp bundle), in any
// recipe's types (see src/model/make_model.h).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "commands.h"
#include "gguf/writer.h"
#include "llamaprof/error.h"
#include "model/make_model.h"
#include "model/presets.h"
#include "quant/recipe.h"

namespace lp::cli {
namespace {

struct MakeModelArgs {
  std::string preset;
  std::string type;
  std::string output;
  uint64_t seed = 0;
  int threads = 0;
  bool list = false;
  bool pooled_blocks = false;
  std::string vocab_file;
  std::string vocab_from;
};

std::string human_size(uint64_t bytes) {
  char buf[32];
  if (bytes >= (uint64_t(1) << 30)) {
    std::snprintf(buf, sizeof buf, "%.2fG", double(bytes) / double(uint64_t(1) << 30));
  } else {
    std::snprintf(buf, sizeof buf, "%.0fM", double(bytes) / double(1 << 20));
  }
  return buf;
}

// The preset's own vocabulary file in the llama.cpp bundle (empty when it uses the Llama 2 one).
std::string preset_vocab_path(const model::ModelPreset& p) {
  if (p.vocab.empty()) return {};
  return (std::filesystem::path(LLAMAPROF_VOCAB_DIR) / std::string(p.vocab)).string();
}

void print_presets() {
  std::printf("presets (sizes are tensor data, MiB/GiB):\n");
  for (const model::ModelPreset& p : model::presets()) {
    // The real-vocabulary presets' sizes need their token count: read it when the file is there.
    int64_t n_vocab = model::kLlama2VocabSize;
    std::string vocab = "Llama 2 vocabulary";
    if (!p.vocab.empty()) {
      vocab = std::string(p.vocab);
      const std::string path = preset_vocab_path(p);
      if (std::filesystem::exists(path)) n_vocab = model::vocab_size(model::tokenizer_keys_from_gguf(path));
      else vocab += " (not found; sizes with 32000 tokens)";
    }
    std::printf("\n%-15s %s\n", std::string(p.name).c_str(), std::string(p.description).c_str());
    std::printf("  %s, dim %d, layers %d, ffn %d, heads %d, kv heads %d (head dim %d), ctx %d, rope theta %g",
                std::string(p.arch).c_str(), p.n_embd, p.n_layer, p.n_ff, p.n_head, p.n_head_kv, p.head_dim(),
                p.n_ctx_train, double(p.rope_theta));
    if (p.sliding_window > 0) std::printf(", sliding window %d", p.sliding_window);
    if (p.llama3_rope.factor > 0) std::printf(", llama3 rope x%g", double(p.llama3_rope.factor));
    if (p.tied_output) std::printf(", tied output");
    std::printf("\n  %s, %lld tokens; %.1fM parameters\n ", vocab.c_str(), (long long)n_vocab,
                double(model::parameter_count(p, n_vocab)) / 1e6);
    int column = 0;
    for (const Recipe& r : recipes()) {
      if (column++ == 7) std::printf("\n ");
      std::printf(" %s %s", r.name.c_str(), human_size(model::tensor_data_size(p, r, n_vocab)).c_str());
    }
    std::printf("\n");
  }
}

// --vocab-file, else $LLAMAPROF_VOCAB, else the path compiled in (exported by scripts/setup).
std::string vocab_path(const MakeModelArgs& a) {
  if (!a.vocab_file.empty()) return a.vocab_file;
  if (const char* env = std::getenv("LLAMAPROF_VOCAB"); env && *env) return env;
  return LLAMAPROF_VOCAB_FILE;
}

// --vocab-from, else --vocab-file, else the preset's own vocabulary GGUF, else the Llama 2 TSV
// ($LLAMAPROF_VOCAB or the compiled-in path).
model::TokenizerKeys load_vocab(const MakeModelArgs& a, const model::ModelPreset& preset) {
  if (!a.vocab_from.empty()) return model::tokenizer_keys_from_gguf(a.vocab_from);
  if (a.vocab_file.empty() && !preset.vocab.empty()) {
    const std::string path = preset_vocab_path(preset);
    if (!std::filesystem::exists(path)) {
      throw Error(ErrorKind::FileNotFound, "vocabulary file " + path + " of preset " + std::string(preset.name) +
                                               " not found: run scripts/setup (it checks out the llama.cpp "
                                               "bundle's models/), or pass --vocab-from OTHER.gguf");
    }
    return model::tokenizer_keys_from_gguf(path);
  }
  const std::string path = vocab_path(a);
  if (!std::filesystem::exists(path)) {
    throw Error(ErrorKind::FileNotFound,
                "vocabulary file " + path +
                    " not found: run scripts/setup (it exports it from llama-tokenizer-js), or pass "
                    "--vocab-file, LLAMAPROF_VOCAB or --vocab-from OTHER.gguf");
  }
  return model::read_vocab_tsv(path);
}

int run_make_model(const MakeModelArgs& a) {
  if (a.list) {
    print_presets();
    return 0;
  }
  if (a.preset.empty() || a.type.empty() || a.output.empty()) {
    throw Error(ErrorKind::InvalidArgument, "make-model needs --preset, --type and -o (or --list)");
  }
  const model::ModelPreset* preset = model::find_preset(a.preset);
  if (!preset) {
    std::string names;
    for (const auto& p : model::presets()) names += (names.empty() ? "" : ", ") + std::string(p.name);
    throw Error(ErrorKind::InvalidArgument, "unknown preset '" + a.preset + "' (known: " + names + ")");
  }
  const auto recipe = find_recipe(a.type);
  if (!recipe) {
    std::string names;
    for (const auto& r : recipes()) names += (names.empty() ? "" : ", ") + r.name;
    throw Error(ErrorKind::InvalidArgument, "unknown type '" + a.type + "' (known: " + names + ")");
  }
  const model::TokenizerKeys tokenizer = load_vocab(a, *preset);
  const auto start = std::chrono::steady_clock::now();
  gguf::Writer writer;
  model::add_model(writer, *preset, *recipe, tokenizer, {a.seed, a.threads, a.pooled_blocks});
  writer.write(a.output);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "make-model: %s %s seed %llu -> %s (%s) in %.1f s\n", std::string(preset->name).c_str(),
               recipe->name.c_str(), (unsigned long long)a.seed, a.output.c_str(),
               human_size(std::filesystem::file_size(a.output)).c_str(), seconds);
  return 0;
}

}  // namespace

void register_make_model(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<MakeModelArgs>();
  auto* cmd = app.add_subcommand("make-model",
                                 "Write a random-weight GGUF (llama, qwen2, qwen3, gemma2, gemma3, phi3, qwen3moe) with real shapes and vocabulary");
  cmd->add_option("--preset", args->preset, "Architecture preset (see --list)");
  cmd->add_option("--type", args->type, "Quantization recipe: F32, F16, BF16, Q8_0, Q4_0, ..., Q4_K_M, Q6_K");
  cmd->add_option("-o,--output", args->output, "Output GGUF path");
  cmd->add_option("--seed", args->seed, "Random seed (same seed, same bytes)")->default_val(0);
  cmd->add_option("--threads", args->threads, "Generator threads (0: all cores; output does not depend on it)")
      ->default_val(0)
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--pooled-blocks", args->pooled_blocks,
                "Build quantized rows from a pool of random quantized blocks: the same distribution, "
                "memcpy speed (for multi-GB benchmark files; the bytes differ from the default)");
  cmd->add_flag("--list", args->list, "List the presets with their shapes and size per type");
  cmd->add_option("--vocab-file", args->vocab_file,
                  "Vocabulary TSV (default: the preset's own vocabulary from " LLAMAPROF_VOCAB_DIR
                  " if it has one, else $LLAMAPROF_VOCAB, else " LLAMAPROF_VOCAB_FILE ")");
  cmd->add_option("--vocab-from", args->vocab_from, "Copy the tokenizer.* keys of another GGUF file instead");
  cmd->callback([args, exit_code] { *exit_code = run_make_model(*args); });
}

}  // namespace lp::cli
