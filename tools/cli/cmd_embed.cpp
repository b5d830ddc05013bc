// `llamaprof embed`: a text's embedding (the final hidden states, pooled), as llama.cpp's
// llama-embedding prints it.
//   llamaprof embed -m MODEL [-p TEXT | -f FILE] [--pooling mean|cls|last|none] [--normalize] [--json]
// Without -p/-f the text is read from stdin. Plain output: one line per row (the pooled vector,
// or one per token with --pooling none), values separated by spaces. --json: one object
// {"model", "pooling", "n_tokens", "normalized", "embedding": [...] or [[...], ...]}.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "generation_options.h"
#include "llamaprof/context.h"
#include "llamaprof/embed.h"
#include "llamaprof/error.h"
#include "llamaprof/model.h"

namespace lp::cli {
namespace {

struct EmbedOptions {
  std::string model, prompt, prompt_file, pooling;
  bool has_prompt = false, normalize = false, json = false;
  int threads = 0, ctx = 0, batch = 512;
};

std::string read_text(const EmbedOptions& o) {
  if (o.has_prompt) return o.prompt;
  if (!o.prompt_file.empty()) {
    std::ifstream f(o.prompt_file, std::ios::binary);
    if (!f) throw Error(ErrorKind::FileNotFound, "cannot open " + o.prompt_file);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  }
  return {std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
}

int run_embed(const EmbedOptions& o) {
  const Model model = Model::load(o.model);
  const Pooling pooling = o.pooling.empty() ? default_pooling(model) : pooling_from_name(o.pooling);
  const std::string text = read_text(o);
  const std::vector<TokenId> tokens = model.tokenize(text, model.add_bos_default());
  ContextParams cp;
  cp.n_threads = o.threads;
  cp.n_batch = o.batch;
  cp.n_ctx = o.ctx > 0 ? o.ctx : int(tokens.size());  // just the text: no cache beyond it
  cp.embeddings = true;
  Context ctx(model, cp);
  const std::vector<std::vector<float>> rows = embed(ctx, tokens, pooling, o.normalize);
  if (o.json) {
    nlohmann::json j = {{"model", o.model}, {"pooling", pooling_name(pooling)}, {"n_tokens", tokens.size()},
                        {"normalized", o.normalize}};
    j["embedding"] = pooling == Pooling::None ? nlohmann::json(rows) : nlohmann::json(rows[0]);
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  for (const auto& r : rows) {
    for (size_t k = 0; k < r.size(); ++k) std::printf(k ? " %.6f" : "%.6f", double(r[k]));
    std::printf("\n");
  }
  return 0;
}

}  // namespace

void register_embed(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<EmbedOptions>();
  auto* cmd = app.add_subcommand("embed", "print a text's embedding (final hidden states, pooled)");
  cmd->add_option("-m,--model", o->model, "GGUF model file")->required();
  auto* p = cmd->add_option("-p,--prompt", o->prompt, "text to embed (default: read stdin)");
  cmd->add_option("-f,--file", o->prompt_file, "read the text from a file")->excludes(p);
  cmd->add_option("--pooling", o->pooling,
                  "mean, cls, last or none (one row per token); default: the model's <arch>.pooling_type, else none")
      ->check(CLI::IsMember({"mean", "cls", "last", "none"}));
  cmd->add_flag("--normalize", o->normalize, "divide each row by its Euclidean norm");
  cmd->add_flag("--json", o->json, "print one JSON object");
  add_context_options(cmd, o->threads, o->ctx, o->batch);
  cmd->callback([o, p, exit_code] {
    o->has_prompt = p->count() > 0;
    *exit_code = run_embed(*o);
  });
}

}  // namespace lp::cli
