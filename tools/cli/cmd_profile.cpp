// `llamaprof profile`: the seed's timing script as a command. Runs models x cache states x threads
// x engines x iterations, each run a fresh process, prints the seed's per-run block as each run
// finishes and then the summary tables; writes runs.jsonl, runs.csv, summary.json and per-token
// traces under --out. See src/profile/matrix.h.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <tuple>

#include "commands.h"
#include "llamaprof/error.h"
#include "profile/matrix.h"
#include "profile/records.h"
#include "profile/summary.h"

namespace lp::cli {
namespace {

struct ProfileCli {
  profile::MatrixOptions m;
  std::string prompt_file;
  std::string shard;
};

}  // namespace

void register_profile(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ProfileCli>();
  auto* cmd = app.add_subcommand(
      "profile", "time models x threads x engines (llamaprof, llama.cpp, llama-cpp-python, OpenAI-compatible servers) x "
      "iterations, each run a fresh process (default: the demo models)");
  cmd->add_option("models", o->m.models, "GGUF model files (default: the demo models, made on first use)");
  cmd->add_option("-i,--iterations", o->m.iterations, "runs per configuration")->capture_default_str();
  cmd->add_option("-t,--threads", o->m.threads, "thread counts, comma-separated (default: 1 .. physical cores)")
      ->delimiter(',');
  cmd->add_option("-n,--max-tokens", o->m.max_tokens, "tokens to generate per run")->capture_default_str();
  auto* p = cmd->add_option("-p,--prompt", o->m.prompt, "prompt text (default: the seed's question)");
  cmd->add_option("--prompt-file", o->prompt_file, "read the prompt from a file")->excludes(p);
  cmd->add_option("--cache", o->m.cache_modes,
                  "page cache before each run, comma-separated: cold (evict the model), warm (read it first), "
                  "as-is (leave it)")
      ->delimiter(',')
      ->capture_default_str();
  auto* fe = cmd->add_option("--engines,--front-ends", o->m.front_ends,
                             "engines, comma-separated: llamaprof (alias cli), llamaprof-python (alias python), "
                             "llama.cpp, llama-cpp-python, http://HOST:PORT/v1 (an OpenAI-compatible server)")
                 ->delimiter(',')
                 ->capture_default_str();
  cmd->add_option("--llama-cpp", o->m.llama_cpp_dir,
                  "directory with llama.cpp's llama-completion (default: PATH, then scripts/setup's build)");
  cmd->add_option("--server-pid", o->m.server_pid, "process id of the HTTP engine's server, to measure its CPU and RSS");
  cmd->add_option("--timeout", o->m.timeout_s, "seconds per run before it is killed and recorded as failed (0: none)")
      ->capture_default_str();
  cmd->add_flag("--until-stable", o->m.until_stable,
                "repeat each configuration until the 95% CI of time_infer is within 2% of the median");
  cmd->add_option("--max-iterations", o->m.max_iterations, "the cap for --until-stable")->capture_default_str();
  cmd->add_option("--shard", o->shard, "run the K-th of N shares of the matrix (K/N), e.g. one per machine");
  cmd->add_option("-o,--out", o->m.out_dir, "directory for runs.jsonl, runs.csv, summary.json, traces/")
      ->capture_default_str();
  cmd->add_option("--top", o->m.top_candidates, "candidates per token in the traces")->capture_default_str();
  cmd->add_option("--seed", o->m.seed, "sampler seed (the same in every run)")->capture_default_str();
  cmd->add_option("--draft-max", o->m.draft_max,
                  "speculative decoding by prompt lookup in the llamaprof engines: drafts per pass (0: off)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--ctx", o->m.n_ctx, "context length, the same for every engine (0: 2048)");
  cmd->add_option("--python", o->m.python, "Python interpreter for llamaprof-python and llama-cpp-python")
      ->capture_default_str();
  cmd->callback([o, fe, exit_code] {
    o->m.front_ends_given = fe->count() > 0;
    if (!o->shard.empty()) std::tie(o->m.shard_index, o->m.shard_count) = profile::parse_shard(o->shard);
    if (!o->prompt_file.empty()) {
      std::ifstream f(o->prompt_file, std::ios::binary);
      if (!f) throw Error(ErrorKind::FileNotFound, "cannot open prompt file " + o->prompt_file);
      o->m.prompt.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
      if (o->m.prompt.empty()) throw Error(ErrorKind::InvalidArgument, "prompt file " + o->prompt_file + " is empty");
    }
    auto on_run = [](const nlohmann::json& rec) {
      const std::string block = profile::run_block(rec);
      std::fwrite(block.data(), 1, block.size(), stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
    };
    auto note = [](const std::string& msg) { std::fprintf(stderr, "llamaprof profile: %s\n", msg.c_str()); };
    const auto records = profile::run_matrix(o->m, on_run, note);
    const std::string text = profile::summary_text(profile::summarize_runs(records));
    std::fwrite(text.data(), 1, text.size(), stdout);
    size_t failed = 0;
    for (const auto& r : records) failed += r.value("status", "ok") != "ok";
    if (failed) std::printf("\n%zu of %zu runs FAILED (see the failures above and in runs.jsonl)\n", failed, records.size());
    *exit_code = failed ? 3 : 0;  // 3: the matrix finished, some runs failed
    std::printf("\n%zu runs written to %s/runs.jsonl and runs.csv (traces in %s/traces/)\n", records.size(),
                o->m.out_dir.c_str(), o->m.out_dir.c_str());
  });
}

}  // namespace lp::cli
