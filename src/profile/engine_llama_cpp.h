// llama.cpp's command-line program as a user runs it: llama-completion (plain prompt -> text,
// -no-cnv so a chat template does not start a conversation). Its figures come from its own
// output, parsed here (the formats are llama.cpp's facts, checked against the pinned bundle):
//   common_perf_print:        load time =   123.45 ms
//   common_perf_print: prompt eval time =  10.00 ms /    12 tokens (...)
//   common_perf_print:        eval time =  50.00 ms /    63 runs   (...)
//   common_perf_print:    sampling time =   1.00 ms
//   common_perf_print:    samplers time =   0.90 ms /    67 tokens   (prompt tokens included)
//   system_info: n_threads = 2 (n_threads_batch = 2) / 2 | CPU : SSE3 = 1 | AVX = 1 | ... |
// each with a "0.00.088.117 I " time-and-level prefix when stderr is not a terminal.
// (llama_perf_context_print / llama_perf_sampler_print print the same lines under their names.)
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lp::profile {

// The timings and the build's features from llama.cpp's log (stderr): load_ms, prompt_ms,
// prompt_tokens, eval_ms, eval_runs, sampling_ms, sample_tokens, total_ms (those found), and
// build_features (["AVX", "AVX2", ...], the CPU backend's "NAME = 1" entries). Empty when no
// perf line is present.
nlohmann::json parse_llama_cpp_log(const std::string& log);

// The x86 vector features this CPU and OS can use but a llama.cpp build does not list, in
// llama.cpp's names (AVX2, AVX512, AVX512_VNNI ...).
std::vector<std::string> missing_vector_features(const std::vector<std::string>& build_features);

// llama-completion: DIR/llama-completion, DIR/bin/..., DIR/build/bin/... for --llama-cpp DIR; else
// PATH; else the newest finished build in scripts/setup's cache
// (${XDG_CACHE_HOME:-~/.cache}/llamaprof/llama.cpp/*/build/bin). Empty when none is found.
std::string find_llama_completion(const std::string& dir);

}  // namespace lp::profile
