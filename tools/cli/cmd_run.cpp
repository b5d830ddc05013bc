// `llamaprof run`: load a model, generate from a prompt, stream the text to stdout and print a
// timings summary on stderr (or one JSON object with --json). --trace writes one JSON line per
// generated token with its latency and top candidates (the seed's "top 10 candidates" log).
#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "generation_options.h"
#include "llamaprof/chat_session.h"
#include "llamaprof/context.h"
#include "llamaprof/error.h"
#include "llamaprof/generate.h"
#include "llamaprof/model.h"
#include "gguf/reader.h"

namespace lp::cli {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted.store(true); }

struct RunOptions {
  std::string model;
  std::string prompt;
  bool has_prompt = false;
  std::string prompt_file;
  std::string prompt_ids_file;  // JSON array of token ids, evaluated as given
  bool ignore_eos = false;
  std::string force_ids_file;   // teacher forcing: emit these ids instead of sampling
  int n_predict = 128;
  int threads = 0;
  int ctx = 0;
  int batch = 512;
  KvType cache_type_k = KvType::F16, cache_type_v = KvType::F16;
  SamplerParams sampler;
  std::vector<std::string> stop;
  int top_candidates = 0;
  bool mlock = false;
  bool no_mmap = false;
  bool no_bos = false;
  bool json = false;
  std::string trace;
  // --chat: the prompt is the user message (or --messages), formatted with the chat template.
  bool chat = false;
  std::string system;
  std::string messages_file;
  std::string chat_template;
  GrammarOptions grammar;
  SpeculativeParams speculative;  // --draft-max, --lookup-ngram-min/max
  std::string draft_oracle_file;  // benchmarks: draft these ids (JSON array) instead of lookup
  std::string draft_model;        // a model with the same vocabulary drafting greedily
};

std::string read_all(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string load_prompt(const RunOptions& o) {
  if (o.has_prompt) return o.prompt;
  if (!o.prompt_file.empty()) {
    std::ifstream f(o.prompt_file, std::ios::binary);
    if (!f) throw Error(ErrorKind::FileNotFound, "cannot open prompt file " + o.prompt_file);
    return read_all(f);
  }
  return read_all(std::cin);
}

// Token text can be a partial UTF-8 sequence (byte tokens): replace invalid bytes when dumping.
std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json candidates_json(const std::vector<TokenCandidate>& cands) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& c : cands) arr.push_back({{"id", c.id}, {"text", c.text}, {"p", c.p}, {"logprob", c.logprob}});
  return arr;
}

nlohmann::json timings_json(const Timings& t) {
  return {{"load_ms", t.load_ms},       {"prompt_tokens", t.prompt_tokens}, {"prompt_ms", t.prompt_ms},
          {"prompt_tps", t.prompt_tps}, {"gen_tokens", t.gen_tokens},       {"gen_ms", t.gen_ms},
          {"gen_tps", t.gen_tps},       {"sample_ms", t.sample_ms},         {"gen_passes", t.gen_passes},
          {"draft_tokens", t.draft_tokens}, {"draft_accepted", t.draft_accepted}};
}

// A JSON array of token ids (benchmarks feed both engines the very same ids; parity tests score
// llama.cpp's continuation).
std::vector<TokenId> load_prompt_ids(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorKind::FileNotFound, "cannot open prompt ids file " + path);
  try {
    return nlohmann::json::parse(read_all(f)).get<std::vector<TokenId>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::InvalidArgument, path + ": expected a JSON array of token ids (" + e.what() + ")");
  }
}

// The chat messages of --chat: --messages FILE, or [--system, the prompt as the user message].
nlohmann::ordered_json load_messages(const RunOptions& o) {
  if (o.messages_file.empty()) {
    nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
    if (!o.system.empty()) msgs.push_back({{"role", "system"}, {"content", o.system}});
    msgs.push_back({{"role", "user"}, {"content", load_prompt(o)}});
    return msgs;
  }
  std::ifstream f(o.messages_file, std::ios::binary);
  if (!f) throw Error(ErrorKind::FileNotFound, "cannot open messages file " + o.messages_file);
  try {
    return nlohmann::ordered_json::parse(read_all(f));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::InvalidFile, o.messages_file + ": not JSON (" + e.what() + ")");
  }
}

// Renders and tokenizes the chat prompt. A message or template that fails is bad input data
// (exit 1), not bad usage: InvalidArgument becomes InvalidFile with the source named.
std::vector<TokenId> chat_prompt_ids(const Model& model, const RunOptions& o, const nlohmann::ordered_json& msgs,
                                     std::string& text) {
  ChatFormat fmt = ChatFormat::for_model(model, o.chat_template);
  try {
    text = fmt.render(msgs, /*add_generation_prompt=*/true);
    return fmt.tokenize(text);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::InvalidArgument) throw;
    throw Error(ErrorKind::InvalidFile, (o.messages_file.empty() ? "chat prompt" : o.messages_file) + ": " + e.what());
  }
}

int run(const RunOptions& o) {
  const std::shared_ptr<const Grammar> grammar = load_grammar(o.grammar);  // bad input fails before the load
  std::vector<TokenId> prompt_ids;
  std::string prompt;
  nlohmann::ordered_json messages;
  if (o.chat) {
    messages = load_messages(o);
  } else if (!o.prompt_ids_file.empty()) {
    prompt_ids = load_prompt_ids(o.prompt_ids_file);
  } else {
    prompt = load_prompt(o);
  }

  ModelParams mp;
  mp.use_mmap = !o.no_mmap;
  mp.use_mlock = o.mlock;
  Model model = Model::load(o.model, mp);

  ContextParams cp;
  cp.n_ctx = o.ctx;
  cp.n_batch = o.batch;
  cp.n_threads = o.threads;
  cp.type_k = o.cache_type_k;
  cp.type_v = o.cache_type_v;
  Context ctx(model, cp);
  // The draft model gets a context as long as the target's, with the same threads and batch.
  std::optional<Model> draft_model;
  std::optional<Context> draft_ctx;
  if (!o.draft_model.empty()) {
    draft_model.emplace(Model::load(o.draft_model, mp));
    ContextParams dp = cp;
    dp.n_ctx = ctx.n_ctx();
    draft_ctx.emplace(*draft_model, dp);
  }
  std::string chat_text;  // the rendered chat prompt
  if (o.chat) prompt_ids = chat_prompt_ids(model, o, messages, chat_text);
  const bool from_ids = o.chat || !o.prompt_ids_file.empty();

  std::ofstream trace;
  if (!o.trace.empty()) {
    trace.open(o.trace, std::ios::binary | std::ios::trunc);
    if (!trace) throw Error(ErrorKind::InvalidArgument, "cannot write trace file " + o.trace);
  }

  GenerateParams gp;
  gp.max_tokens = o.n_predict;
  gp.sampler = o.sampler;
  gp.stop = o.stop;
  gp.top_candidates = o.top_candidates > 0 ? o.top_candidates : (trace.is_open() ? 10 : 0);
  if (o.no_bos) gp.add_bos = false;
  gp.ignore_eos = o.ignore_eos;
  if (!o.force_ids_file.empty()) gp.forced_tokens = load_prompt_ids(o.force_ids_file);
  gp.grammar = grammar;
  gp.speculative = o.speculative;
  if (!o.draft_oracle_file.empty()) {
    gp.speculative.oracle = load_prompt_ids(o.draft_oracle_file);
  }
  if (draft_ctx) gp.speculative.draft_context = &*draft_ctx;
  gp.cancel = &g_interrupted;
  size_t printed = 0;
  gp.on_token = [&](const GenerateStep& step) {
    if (!o.json && !step.piece.empty()) {
      std::fwrite(step.piece.data(), 1, step.piece.size(), stdout);
      std::fflush(stdout);
      printed += step.piece.size();
    }
    if (trace.is_open()) {
      nlohmann::json line = {{"index", step.index},
                             {"id", step.id},
                             {"text", model.token_to_piece(step.id)},
                             {"latency_ms", step.latency_ms},
                             {"candidates", candidates_json(step.candidates)}};
      trace << dump(line) << '\n';
    }
    return true;
  };

  std::signal(SIGINT, on_sigint);
  GenerateResult r = from_ids ? generate(ctx, std::span<const TokenId>(prompt_ids), gp) : generate(ctx, prompt, gp);
  std::signal(SIGINT, SIG_DFL);

  // After the run every weight was read once, so every page is mapped.
  const std::optional<double> huge = model.weights_huge_pages_pct();
  if (o.json) {
    nlohmann::json out = {{"tokens", r.tokens},
                          {"prompt_ids", r.prompt_tokens},
                          {"text", r.text},
                          {"finish_reason", r.finish_reason},
                          {"timings", timings_json(r.timings)}};
    if (o.top_candidates > 0) {
      nlohmann::json steps = nlohmann::json::array();
      for (const auto& s : r.steps) steps.push_back(candidates_json(s.candidates));
      out["candidates"] = steps;
    }
    if (huge) out["weights_huge_pages_pct"] = *huge;
    if (o.chat) out["chat_prompt"] = chat_text;
    std::string s = dump(out);
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fputc('\n', stdout);
  } else {
    // The streamed pieces are a prefix of the text; print what the decoder held back at the end.
    if (printed < r.text.size()) std::fwrite(r.text.data() + printed, 1, r.text.size() - printed, stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    const Timings& t = r.timings;
    std::fprintf(stderr, "\n");
    std::fprintf(stderr, "load:     %10.2f ms\n", t.load_ms);
    std::fprintf(stderr, "prompt:   %10.2f ms / %5d tokens (%8.2f tokens/s)\n", t.prompt_ms, t.prompt_tokens,
                 t.prompt_tps);
    std::fprintf(stderr, "generate: %10.2f ms / %5d tokens (%8.2f tokens/s)\n", t.gen_ms, t.gen_tokens,
                 t.gen_tps);
    std::fprintf(stderr, "sampling: %10.2f ms\n", t.sample_ms);
    if (gp.speculative.draft_max > 0) {
      std::fprintf(stderr, "drafts:   %5d accepted of %5d (%5.1f%%), %d passes, %.2f tokens/pass\n", t.draft_accepted,
                   t.draft_tokens, t.draft_tokens ? 100.0 * t.draft_accepted / t.draft_tokens : 0.0, t.gen_passes,
                   t.gen_passes ? double(t.gen_tokens - 1) / t.gen_passes : 0.0);
    }
    std::fprintf(stderr, "finish:   %s (%d threads, ctx %d, batch %d)\n", r.finish_reason.c_str(),
                 ctx.n_threads(), ctx.n_ctx(), ctx.n_batch());
    if (huge) {
      std::fprintf(stderr, "weights:  %10.0f%% on 2 MiB pages (%s)\n", *huge,
                   model.file().is_mapped() ? "mapped from the page cache" : "read into memory");
    }
  }
  return 0;
}

}  // namespace

void register_run(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand("run", "generate text from a prompt, streaming it, then print timings");
  cmd->add_option("-m,--model", o->model, "GGUF model file")->required();
  auto* p = cmd->add_option("-p,--prompt", o->prompt, "prompt text (default: read stdin)");
  auto* f = cmd->add_option("-f,--file", o->prompt_file, "read the prompt from a file")->excludes(p);
  auto* ids = cmd->add_option("--prompt-ids", o->prompt_ids_file, "evaluate the token ids in FILE (a JSON array) as the prompt")
      ->excludes(p)
      ->excludes(f);
  cmd->add_option("--force-ids", o->force_ids_file,
                  "teacher forcing: emit the ids in FILE (a JSON array) instead of sampling, to score a continuation");
  cmd->add_flag("--ignore-eos", o->ignore_eos, "keep generating past end-of-sequence (fixed-length benchmarks)");
  cmd->add_option("-n,--n-predict", o->n_predict, "tokens to generate (<= 0: until EOS or the context is full)")
      ->capture_default_str();
  add_context_options(cmd, o->threads, o->ctx, o->batch);
  add_cache_type_options(cmd, o->cache_type_k, o->cache_type_v);
  add_sampling_options(cmd, o->sampler);
  add_grammar_options(cmd, o->grammar);
  auto* draft_max = cmd->add_option("--draft-max", o->speculative.draft_max,
                  "speculative decoding (prompt lookup, or --draft-model): draft up to K tokens per forward "
                  "pass (0: off)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  auto* ngram_min =
      cmd->add_option("--lookup-ngram-min", o->speculative.ngram_min, "prompt lookup: the shortest n-gram matched")
      ->check(CLI::PositiveNumber)
      ->needs(draft_max)
      ->capture_default_str();
  auto* ngram_max =
      cmd->add_option("--lookup-ngram-max", o->speculative.ngram_max, "prompt lookup: the longest n-gram, tried first")
      ->check(CLI::PositiveNumber)
      ->needs(draft_max)
      ->capture_default_str();
  auto* oracle = cmd->add_option("--draft-oracle", o->draft_oracle_file,
                  "benchmarks only: draft the ids in FILE (a JSON array: a reference continuation) instead "
                  "of prompt lookup")
      ->needs(draft_max)
      ->excludes(ngram_min)
      ->excludes(ngram_max);
  cmd->add_option("--draft-model", o->draft_model,
                  "speculative decoding with a draft model (a smaller GGUF file with the same vocabulary) instead of "
                  "prompt lookup: it proposes --draft-max tokens greedily")
      ->needs(draft_max)
      ->excludes(ngram_min)
      ->excludes(ngram_max)
      ->excludes(oracle);
  cmd->add_option("--stop", o->stop, "stop string (repeatable); not included in the output");
  cmd->add_option("--top-candidates", o->top_candidates,
                  "record the K most likely tokens per step (with p and logprob) in --json/--trace")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--mlock", o->mlock, "lock the model in RAM");
  cmd->add_flag("--no-mmap", o->no_mmap, "read the model into memory instead of mapping it");
  auto* no_bos = cmd->add_flag("--no-bos", o->no_bos, "do not prepend BOS to the prompt");
  auto* chat = cmd->add_flag("--chat", o->chat,
                             "format the prompt as a user message with the chat template (BOS as the template says)")
                   ->excludes(no_bos)
                   ->excludes(ids);
  auto* sys = cmd->add_option("--system", o->system, "with --chat: a system message before the prompt")->needs(chat);
  cmd->add_option("--messages", o->messages_file, "with --chat: the conversation from FILE (an OpenAI-style JSON array)")
      ->needs(chat)
      ->excludes(p)
      ->excludes(f)
      ->excludes(sys);
  cmd->add_option("--chat-template", o->chat_template,
                  "with --chat: a built-in format (chatml, llama2, llama3, mistral-v7, gemma, phi3, zephyr) or a "
                  "Jinja file (default: the model's tokenizer.chat_template)")
      ->needs(chat);
  cmd->add_flag("--json", o->json, "print one JSON object instead of streaming text");
  cmd->add_option("--trace", o->trace, "write one JSON line per generated token to FILE");
  cmd->callback([o, p, exit_code] {
    o->has_prompt = p->count() > 0;
    *exit_code = run(*o);
  });
}

}  // namespace lp::cli
