// The context and sampling options `llamaprof run` and `llamaprof chat` share.
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <memory>
#include <string>

#include "llamaprof/kv_type.h"
#include "sampling/sampler.h"

namespace lp {
class Grammar;
}

namespace lp::cli {

inline void add_context_options(CLI::App* cmd, int& threads, int& ctx, int& batch) {
  cmd->add_option("-t,--threads", threads, "worker threads (0: one per physical core)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--ctx", ctx, "context length in tokens (0: the model's, at most 4096)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", batch, "prompt tokens per forward pass")->check(CLI::PositiveNumber)->capture_default_str();
}

// llama.cpp's --cache-type-k / --cache-type-v: the KV cache's element types (f16, f32, q8_0).
inline void add_cache_type_options(CLI::App* cmd, KvType& k, KvType& v) {
  const std::map<std::string, KvType> names = {{"f16", KvType::F16}, {"f32", KvType::F32}, {"q8_0", KvType::Q8_0}};
  cmd->add_option("--cache-type-k", k, "KV cache type of K: f16, f32 or q8_0 (about half of f16)")
      ->transform(CLI::CheckedTransformer(names, CLI::ignore_case))
      ->default_str("f16");
  cmd->add_option("--cache-type-v", v, "KV cache type of V: f16, f32 or q8_0")
      ->transform(CLI::CheckedTransformer(names, CLI::ignore_case))
      ->default_str("f16");
}

inline void add_sampling_options(CLI::App* cmd, SamplerParams& s) {
  cmd->add_option("--temp", s.temperature, "temperature (0: greedy)")->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--top-k", s.top_k, "top-k (0: off)")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--top-p", s.top_p, "top-p (1: off)")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option("--min-p", s.min_p, "min-p (0: off)")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option("--repeat-penalty", s.repeat_penalty, "repetition penalty (1: off)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--seed", s.seed, "sampler seed")->capture_default_str();
}

// --grammar / --grammar-file / --json-schema: constrained generation.
struct GrammarOptions {
  std::string grammar;      // GBNF text, or a file (text is anything containing "::=")
  std::string grammar_file;
  std::string json_schema;  // schema text (starting with '{'), or a file
};

inline void add_grammar_options(CLI::App* cmd, GrammarOptions& g) {
  auto* gr = cmd->add_option("--grammar", g.grammar, "constrain the output to a GBNF grammar: its text, or a file");
  auto* gf = cmd->add_option("--grammar-file", g.grammar_file, "constrain the output to the GBNF grammar in FILE")->excludes(gr);
  cmd->add_option("-j,--json-schema", g.json_schema,
                  "constrain the output to JSON that validates against a JSON schema: its text, or a file")
      ->excludes(gr)
      ->excludes(gf);
}

// The compiled grammar (nullptr without any of the options). Warnings of the JSON schema
// conversion (keywords it does not use) go to stderr. Throws lp::Error for a missing file or a
// bad grammar / schema.
std::shared_ptr<const Grammar> load_grammar(const GrammarOptions& g);

}  // namespace lp::cli
