// `llamaprof profile`: the seed's timing script as a command. Runs models x cache states x threads
// x front ends x iterations, each run a fresh process, prints the seed's per-run block as each run
// finishes and then the summary tables; writes runs.jsonl, runs.csv, summary.json and per-token
// traces under --out. See src/profile/matrix.h.
#include <cstdio>
#include <fstream>
#include <iterator>

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
};

}  // namespace

void register_profile(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ProfileCli>();
  auto* cmd = app.add_subcommand(
      "profile", "time models x threads x front ends x iterations, each run a fresh process (default: the demo models)");
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
  auto* fe = cmd->add_option("--front-ends", o->m.front_ends, "front ends, comma-separated: cli, python")
                 ->delimiter(',')
                 ->capture_default_str();
  cmd->add_option("-o,--out", o->m.out_dir, "directory for runs.jsonl, runs.csv, summary.json, traces/")
      ->capture_default_str();
  cmd->add_option("--top", o->m.top_candidates, "candidates per token in the traces")->capture_default_str();
  cmd->add_option("--seed", o->m.seed, "sampler seed (the same in every run)")->capture_default_str();
  cmd->add_option("--ctx", o->m.n_ctx, "context length (0: the engine's default)");
  cmd->add_option("--python", o->m.python, "Python interpreter for the python front end")->capture_default_str();
  cmd->callback([o, fe, exit_code] {
    o->m.front_ends_given = fe->count() > 0;
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
    std::printf("\n%zu runs written to %s/runs.jsonl and runs.csv (traces in %s/traces/)\n", records.size(),
                o->m.out_dir.c_str(), o->m.out_dir.c_str());
    *exit_code = 0;
  });
}

}  // namespace lp::cli
