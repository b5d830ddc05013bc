// `llamaprof bench`: llama-bench style pp/tg tables over models x threads x batch sizes, plus cold
// and warm load (fresh processes) and time to first token. See src/profile/bench.h.
#include <cstdio>

#include "commands.h"
#include "llamaprof/error.h"
#include "profile/bench.h"

namespace lp::cli {

void register_bench(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<profile::BenchOptions>();
  auto format = std::make_shared<std::string>("md");
  auto* cmd = app.add_subcommand("bench", "llama-bench style throughput tests (pp, tg) plus cold load and time to first token");
  cmd->add_option("-m,--model", o->models, "GGUF model (repeatable or comma-separated)")->delimiter(',')->required();
  cmd->add_option("-t,--threads", o->threads, "thread counts (default: physical cores)")->delimiter(',');
  cmd->add_option("-b,--batch-size", o->batch_sizes, "prompt batch sizes")->delimiter(',')->capture_default_str();
  cmd->add_option("-p,--n-prompt", o->prompt_lengths, "prompt lengths (0: no pp test)")->delimiter(',')->capture_default_str();
  cmd->add_option("-n,--n-gen", o->gen_lengths, "generation lengths (0: no tg test)")->delimiter(',')->capture_default_str();
  cmd->add_option("-r,--repetitions", o->repetitions, "repetitions of each test")->capture_default_str();
  cmd->add_option("-o,--output", *format, "output format: md, csv or json")
      ->check(CLI::IsMember({"md", "csv", "json"}))
      ->capture_default_str();
  cmd->add_flag("--no-load", [o](int64_t) { o->load_tests = false; }, "skip the cold/warm load tests");
  cmd->add_flag("--no-ttft", [o](int64_t) { o->ttft_tests = false; }, "skip the time-to-first-token tests");
  cmd->callback([o, format, exit_code] {
    auto progress = [](const profile::BenchRow& r) {
      std::fprintf(stderr, "bench: %s %s, %d threads: %.2f ± %.2f %s\n", r.model.c_str(), r.test.c_str(), r.threads, r.mean,
                   r.stddev, r.unit.c_str());
    };
    const auto rows = profile::run_bench(*o, progress);
    std::string out;
    if (*format == "md") out = profile::bench_markdown(rows);
    else if (*format == "csv") out = profile::bench_csv(rows);
    else out = profile::bench_json(rows).dump(2) + "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    *exit_code = 0;
  });
}

}  // namespace lp::cli
