#include "profile/worker.h"

#include <fstream>
#include <string>
#include <optional>
#include <vector>

#include "llamaprof/context.h"
#include "llamaprof/error.h"
#include "llamaprof/generate.h"
#include "llamaprof/model.h"
#include "runtime/thread_pool.h"

namespace lp::profile {
namespace {

struct PoolTimes {
  double busy = 0, spin = 0, sleep = 0;
  ContentionStats contention;
};

PoolTimes sum_times(const ThreadPool& pool) {
  PoolTimes t;
  t.contention = pool.contention();
  for (const ThreadTimes& x : pool.times()) {
    t.busy += x.busy_s;
    t.spin += x.spin_s;
    t.sleep += x.sleep_s;
  }
  return t;
}

nlohmann::json threads_json(const PoolTimes& before, const PoolTimes& after) {
  const double busy = after.busy - before.busy, spin = after.spin - before.spin, sleep = after.sleep - before.sleep;
  const double total = busy + spin + sleep;
  auto share = [&](double v) { return total > 0 ? v / total : 0.0; };
  // Regions the pool ran on the caller alone because a worker had been descheduled mid-part.
  const int64_t regions = after.contention.regions - before.contention.regions;
  const int64_t solo = after.contention.solo_regions - before.contention.solo_regions;
  return {{"busy_s", busy},        {"spin_s", spin},        {"sleep_s", sleep},
          {"busy", share(busy)},   {"spin", share(spin)},   {"sleep", share(sleep)},
          {"stalls", after.contention.stalls - before.contention.stalls},
          {"solo_regions", regions > 0 ? double(solo) / double(regions) : 0.0}};
}

// The process's peak resident set (VmHWM, MB): unlike ru_maxrss it is this process's own, not
// inherited from the parent across exec.
double peak_rss_mb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // "VmHWM:  1234 kB"
  }
  return 0.0;
}

nlohmann::json candidates_json(const std::vector<TokenCandidate>& cands) {
  nlohmann::json arr = nlohmann::json::array();
  for (const TokenCandidate& c : cands) {
    arr.push_back({{"id", c.id}, {"text", c.text}, {"p", c.p}, {"logprob", c.logprob}});
  }
  return arr;
}

}  // namespace

std::string dump_json_line(const nlohmann::json& j) {
  // Token text can be a partial UTF-8 sequence (byte tokens): replace invalid bytes.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json run_worker(const WorkerOptions& o, const CpuSample& process_start) {
  nlohmann::json rec;
  rec["front_end"] = "cli";
  rec["model"] = o.model;
  rec["max_tokens"] = o.max_tokens;
  rec["seed"] = o.seed;

  const CpuSample before_load = sample_now();
  Model model = Model::load(o.model);
  ContextParams cp;
  cp.n_threads = o.n_threads;
  cp.n_ctx = o.n_ctx;
  cp.n_batch = o.n_batch;
  Context ctx(model, cp);
  const CpuSample after_load = sample_now();

  rec["n_threads"] = ctx.n_threads();
  rec["n_ctx"] = ctx.n_ctx();
  rec["n_batch"] = ctx.n_batch();
  rec["time_load"] = after_load.wall_s - before_load.wall_s;
  rec["load_ms"] = model.load_ms();
  rec["model_type"] = model.type_name();
  rec["cpu"]["start"] = to_json(phase_between(process_start, before_load));
  rec["cpu"]["load"] = to_json(phase_between(before_load, after_load));
  if (o.load_only) {
    rec["peak_rss_mb"] = peak_rss_mb();
    return rec;
  }

  std::ofstream trace;
  if (!o.trace_path.empty()) {
    trace.open(o.trace_path, std::ios::binary | std::ios::trunc);
    if (!trace) throw Error(ErrorKind::InvalidArgument, "cannot write trace file " + o.trace_path);
  }

  ctx.reset_stats();
  const PoolTimes pool_before = sum_times(ctx.thread_pool());
  std::optional<CpuSample> first_token;
  GenerateParams gp;
  gp.max_tokens = o.max_tokens;
  gp.sampler.seed = o.seed;
  gp.top_candidates = o.top_candidates;
  gp.speculative.draft_max = o.draft_max;
  gp.ignore_eos = true;  // every engine of the matrix generates max_tokens (llama.cpp: --ignore-eos)
  gp.on_token = [&](const GenerateStep& step) {
    if (!first_token) first_token = sample_now();
    if (trace.is_open()) {
      trace << dump_json_line({{"index", step.index},
                               {"id", step.id},
                               {"text", model.token_to_piece(step.id)},
                               {"latency_ms", step.latency_ms},
                               {"candidates", candidates_json(step.candidates)}})
            << '\n';
    }
    return true;
  };
  const CpuSample gen_start = sample_now();
  const GenerateResult r = generate(ctx, o.prompt, gp);
  const CpuSample gen_end = sample_now();
  const PoolTimes pool_after = sum_times(ctx.thread_pool());
  const EvalStats stats = ctx.stats();
  const CpuSample prompt_end = first_token.value_or(gen_end);

  const Timings& t = r.timings;
  rec["time_prompt"] = prompt_end.wall_s - gen_start.wall_s;
  rec["time_gen"] = gen_end.wall_s - prompt_end.wall_s;
  rec["time_infer"] = gen_end.wall_s - gen_start.wall_s;
  rec["prompt_tokens"] = t.prompt_tokens;
  rec["comp_tokens"] = t.gen_tokens;
  rec["prompt_ms"] = t.prompt_ms;
  rec["gen_ms"] = t.gen_ms;
  rec["prompt_tps"] = t.prompt_tps;
  rec["gen_tps"] = t.gen_tps;
  rec["sample_ms"] = t.sample_ms;
  rec["finish_reason"] = r.finish_reason;
  rec["output"] = r.text;
  rec["cpu"]["prompt"] = to_json(phase_between(gen_start, prompt_end));
  rec["cpu"]["gen"] = to_json(phase_between(prompt_end, gen_end));
  rec["threads"] = threads_json(pool_before, pool_after);
  // Single-token passes = all passes minus the prompt's ceil(n / n_batch); their time = all eval
  // time minus the prompt's. The Python worker derives them the same way from the same counters.
  const int64_t prompt_evals = (int64_t(t.prompt_tokens) + ctx.n_batch() - 1) / ctx.n_batch();
  rec["decode_evals"] = stats.n_evals - prompt_evals;
  rec["decode_ms"] = stats.eval_ms - t.prompt_ms;
  rec["draft_max"] = o.draft_max;
  rec["gen_passes"] = t.gen_passes;
  rec["draft_tokens"] = t.draft_tokens;
  rec["draft_accepted"] = t.draft_accepted;
  rec["peak_rss_mb"] = peak_rss_mb();
  if (const auto huge = model.weights_huge_pages_pct()) rec["weights_huge_pages_pct"] = *huge;
  return rec;
}

}  // namespace lp::profile
