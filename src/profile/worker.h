// One profiled run inside the current process (the body of the hidden `llamaprof profile-worker`
// subcommand, which `llamaprof profile` spawns once per run so that load and page-cache effects
// are real). The result is one JSON record; python/llamaprof/profile_worker.py writes the same
// record through the Python binding, so the two front ends can be compared field by field.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "profile/phase_clock.h"

namespace lp::profile {

struct WorkerOptions {
  std::string model;
  std::string prompt;
  int n_threads = 0;       // 0: one per physical core
  int max_tokens = 64;
  int n_ctx = 0;           // 0: the engine's default
  int n_batch = 512;
  int top_candidates = 10; // per-token trace detail
  uint64_t seed = 42;
  std::string trace_path;  // one JSON line per generated token; empty: no trace
  int draft_max = 0;       // speculative decoding by prompt lookup: drafts per pass (0: off)
  bool load_only = false;  // load the model and the context, then stop (cold-load benchmarks)
};

// Loads, generates and measures. `process_start` is the sample taken first thing in main().
// Throws lp::Error from the engine (a missing or corrupt model, a prompt that does not fit).
//
// Record fields (seconds unless named _ms): front_end, model, n_threads, max_tokens, n_ctx, seed,
// time_load (model + context), load_ms (the engine's own),
// time_prompt (generate() call to the first token), time_gen (first token to the end), time_infer
// (= prompt + gen), prompt_tokens, comp_tokens, prompt_tps, gen_tps, sample_ms, finish_reason,
// output, cpu.{start,load,prompt,gen}.{wall_s,user_s,sys_s,util}, threads.{busy_s,spin_s,sleep_s,
// busy,spin,sleep} (shares of the pool's wall time during inference), decode_evals, decode_ms
// (generation forward passes and their time: the roofline's denominator), draft_max,
// gen_passes, draft_tokens, draft_accepted (speculative decoding; gen_passes = decode_evals).
nlohmann::json run_worker(const WorkerOptions& options, const CpuSample& process_start);

// The trace line format shared with `llamaprof run --trace`: index, id, text, latency_ms,
// candidates [{id, text, p, logprob}].
std::string dump_json_line(const nlohmann::json& j);

}  // namespace lp::profile
