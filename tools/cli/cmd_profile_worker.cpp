// `llamaprof profile-worker` (hidden): one profiled run in this process, for `llamaprof profile`,
// which spawns it once per run. Prints one JSON record on stdout (see src/profile/worker.h);
// python/llamaprof/profile_worker.py is the Python front end's twin and takes the same options.
#include <cstdio>
#include <fstream>
#include <iterator>

#include "commands.h"
#include "llamaprof/error.h"
#include "profile/worker.h"

namespace lp::cli {
namespace {

// Taken during static initialization, as close to process start as this program gets.
const profile::CpuSample g_process_start = profile::sample_now();

struct WorkerCli {
  profile::WorkerOptions w;
  std::string prompt_file;
};

}  // namespace

void register_profile_worker(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<WorkerCli>();
  auto* cmd = app.add_subcommand("profile-worker", "one profiled run (spawned by `llamaprof profile`)");
  cmd->group("");  // hidden from --help
  cmd->add_option("-m,--model", o->w.model, "GGUF model file")->required();
  auto* p = cmd->add_option("-p,--prompt", o->w.prompt, "prompt text");
  cmd->add_option("--prompt-file", o->prompt_file, "read the prompt from a file")->excludes(p);
  cmd->add_option("-t,--threads", o->w.n_threads, "threads (0: one per physical core)")->check(CLI::NonNegativeNumber);
  cmd->add_option("-n,--max-tokens", o->w.max_tokens, "tokens to generate")->check(CLI::PositiveNumber);
  cmd->add_option("--ctx", o->w.n_ctx, "context length (0: the engine's default)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--trace", o->w.trace_path, "write one JSON line per generated token to FILE");
  cmd->add_option("--top", o->w.top_candidates, "candidates per token in the trace")->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", o->w.seed, "sampler seed");
  cmd->add_option("--draft-max", o->w.draft_max, "speculative decoding by prompt lookup: drafts per pass (0: off)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--load-only", o->w.load_only, "load the model and context, then stop");
  cmd->callback([o, exit_code] {
    if (!o->prompt_file.empty()) {
      std::ifstream f(o->prompt_file, std::ios::binary);
      if (!f) throw Error(ErrorKind::FileNotFound, "cannot open prompt file " + o->prompt_file);
      o->w.prompt.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
    if (o->w.prompt.empty() && !o->w.load_only) o->w.prompt = " ";
    const nlohmann::json rec = profile::run_worker(o->w, g_process_start);
    const std::string line = profile::dump_json_line(rec);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    *exit_code = 0;
  });
}

}  // namespace lp::cli
