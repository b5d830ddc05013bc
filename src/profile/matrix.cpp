#include "profile/matrix.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "kernels/kernel_table.h"
#include "llamaprof/error.h"
#include "llamaprof/model.h"
#include "profile/demo_models.h"
#include "profile/engine.h"
#include "profile/model_traffic.h"
#include "profile/page_cache.h"
#include "profile/proc_monitor.h"
#include "profile/records.h"
#include "profile/spawn.h"
#include "profile/stats.h"
#include "profile/worker.h"
#include "profile/summary.h"
#include "runtime/cpu_features.h"
#include "runtime/cpu_topology.h"
#include "runtime/membw.h"
#include "runtime/thread_pool.h"

namespace lp::profile {
namespace fs = std::filesystem;
namespace {

struct ModelEntry {
  std::string path;
  std::string name;  // file name
  ModelTraffic traffic;
  std::string type;
};

void check_options(const MatrixOptions& o) {
  auto bad = [](const std::string& m) { throw Error(ErrorKind::InvalidArgument, m); };
  if (o.iterations < 1) bad("--iterations must be at least 1 (got " + std::to_string(o.iterations) + ")");
  if (o.max_tokens < 1) bad("--max-tokens must be at least 1 (got " + std::to_string(o.max_tokens) + ")");
  for (int t : o.threads) {
    if (t < 1 || t > 1024) bad("--threads: each count must be 1..1024 (got " + std::to_string(t) + ")");
  }
  for (const auto& c : o.cache_modes) {
    if (c != "cold" && c != "warm" && c != "as-is") bad("--cache: unknown mode '" + c + "' (cold, warm or as-is)");
  }
  if (o.cache_modes.empty()) bad("--cache: give at least one mode");
  if (o.front_ends.empty()) bad("--engines: give at least one engine");
  if (o.prompt.empty()) bad("the prompt is empty");
  if (o.timeout_s < 0) bad("--timeout must be >= 0 seconds");
  if (o.until_stable && o.max_iterations < o.iterations) {
    bad("--max-iterations (" + std::to_string(o.max_iterations) + ") is below --iterations (" +
        std::to_string(o.iterations) + ")");
  }
  if (o.shard_count < 1 || o.shard_index < 1 || o.shard_index > o.shard_count) bad("--shard must be K/N with 1 <= K <= N");
  if (o.server_pid < 0) bad("--server-pid must be a process id");
  if (o.draft_max < 0) bad("--draft-max must be >= 0");
  for (const auto& e : o.front_ends) {
    if (o.draft_max > 0 && e != "llamaprof" && e != "cli" && e != "llamaprof-python" && e != "python") {
      bad("--draft-max: engine '" + e + "' has no prompt-lookup decoding here (only llamaprof and llamaprof-python)");
    }
  }
}

// Loads each model once in this process (mapping only: no weight page is touched) for its
// traffic figures; a missing or corrupt model fails here, before any run.
ModelEntry inspect_model(const std::string& path) {
  if (!fs::exists(path)) throw Error(ErrorKind::FileNotFound, "model file not found: " + path);
  Model m = Model::load(path);
  return {path, fs::path(path).filename().string(), model_traffic(m), m.type_name()};
}

// "cold" / "warm" / "partial" from the fraction of the file resident before the load.
std::string cache_state(double fraction) {
  if (fraction <= 0.05) return "cold";
  if (fraction >= 0.95) return "warm";
  return "partial";
}

}  // namespace

const std::string& default_prompt() {
  static const std::string p =
      "Q: Name three planets in our solar system, in order of size, with one fact about each.\nA:";
  return p;
}

std::pair<int, int> parse_shard(const std::string& text) {
  const size_t slash = text.find('/');
  int k = 0, n = 0;
  try {
    if (slash == std::string::npos) throw std::invalid_argument(text);
    size_t used = 0;
    k = std::stoi(text.substr(0, slash), &used);
    if (used != slash) throw std::invalid_argument(text);
    n = std::stoi(text.substr(slash + 1), &used);
    if (used != text.size() - slash - 1) throw std::invalid_argument(text);
  } catch (const std::exception&) {
    throw Error(ErrorKind::InvalidArgument, "--shard: expected K/N such as 1/2 (got '" + text + "')");
  }
  if (n < 1 || k < 1 || k > n) throw Error(ErrorKind::InvalidArgument, "--shard " + text + ": need 1 <= K <= N");
  return {k, n};
}

std::string default_python_path(const std::string& cli) {
  if (const char* p = std::getenv("LLAMAPROF_PYTHONPATH"); p && *p) return p;
  if (cli.empty()) return "";
  // build/tools/cli/llamaprof -> build/python/pkg (python/CMakeLists.txt builds the package there).
  const fs::path pkg = fs::path(cli).parent_path().parent_path().parent_path() / "python" / "pkg";
  std::error_code ec;
  if (fs::exists(pkg / "llamaprof", ec)) return pkg.string();
  return "";
}


namespace {

struct Cell {
  size_t model;
  std::string cache;
  int threads;
  size_t engine;
};

// Prepares the page cache for one run: returns the residency right before the engine starts.
Residency prepare_cache(const std::string& mode, const std::string& path, std::string& eviction,
                        const std::function<void(const std::string&)>& note) {
  if (mode == "cold") {
    const EvictResult ev = evict_file(path);
    eviction = ev.complete() ? "complete" : "incomplete";
    if (!ev.complete() && note) {
      note("cold cache: eviction of " + path + " was incomplete: " + std::to_string(ev.after.resident_pages) + " of " +
           std::to_string(ev.after.pages) + " pages stayed in the page cache (another process probably maps or locks the file)");
    }
    return ev.after;
  }
  if (mode == "warm") return warm_file(path);
  return file_residency(path);
}

std::string child_failure(const ChildResult& c, double timeout_s) {
  if (c.timed_out) return "timed out after " + std::to_string(int(timeout_s)) + " s (killed)";
  std::string err = c.stderr_text;
  while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
  if (err.size() > 600) err = "..." + err.substr(err.size() - 600);
  return (c.signal ? "killed by signal " + std::to_string(c.signal) : "exit code " + std::to_string(c.exit_code)) +
         (err.empty() ? "" : ": " + err);
}

// A cold read of the whole file by `dd` right after evicting it: the disk's share of a cold load.
nlohmann::json dd_cold_read(const std::string& path) {
  const EvictResult ev = evict_file(path);
  const ChildResult r = run_child({"dd", "if=" + path, "of=/dev/null", "bs=1M"}, {}, {300, 0.05, {}});
  if (r.exit_code != 0) return {{"failed", child_failure(r, 300)}};
  return {{"seconds", r.wall_s}, {"eviction", ev.complete() ? "complete" : "incomplete"}};
}

}  // namespace

std::vector<nlohmann::json> run_matrix(const MatrixOptions& in, const std::function<void(const nlohmann::json&)>& on_run,
                                       const std::function<void(const std::string&)>& note) {
  MatrixOptions o = in;
  if (o.cli.empty()) o.cli = self_executable();
  if (o.prompt.empty()) o.prompt = default_prompt();
  if (o.threads.empty()) {
    for (int t = 1; t <= std::max(1, default_thread_count()); ++t) o.threads.push_back(t);
  }
  check_options(o);
  if (o.python_path.empty()) o.python_path = default_python_path(o.cli);
  const int n_ctx = o.n_ctx > 0 ? o.n_ctx : kDefaultCtx;

  EngineConfig ec;
  ec.cli = o.cli;
  ec.python = o.python;
  ec.python_path = o.python_path;
  ec.llama_cpp_dir = o.llama_cpp_dir;
  ec.server_pid = o.server_pid;
  std::vector<std::unique_ptr<Engine>> engines;
  for (const std::string& spec : o.front_ends) {
    std::unique_ptr<Engine> e = make_engine(spec, ec);
    for (const auto& other : engines) {
      if (other->name() == e->name()) throw Error(ErrorKind::InvalidArgument, "--engines: " + e->name() + " is listed twice");
    }
    const std::string why = e->unavailable();
    if (!why.empty()) {
      const std::string msg = "the " + e->name() + " engine is unavailable: " + why;
      if (o.front_ends_given) throw Error(ErrorKind::InvalidArgument, msg);
      if (note) note(msg + " -- profiling without it");
      continue;
    }
    engines.push_back(std::move(e));
  }
  if (engines.empty()) throw Error(ErrorKind::InvalidArgument, "no engine is available");
  // Flags for engines that are not in the matrix would be silently ignored: say so.
  auto has = [&](const std::function<bool(const Engine&)>& p) {
    return std::any_of(engines.begin(), engines.end(), [&](const auto& e) { return p(*e); });
  };
  if (!o.llama_cpp_dir.empty() && !has([](const Engine& e) { return e.name() == "llama.cpp"; }) && note) {
    note("--llama-cpp is ignored: llama.cpp is not among the engines");
  }
  if (o.server_pid > 0 && !has([](const Engine& e) { return !e.spawns(); }) && note) {
    note("--server-pid is ignored: no http:// engine is among the engines");
  }

  std::vector<std::string> paths = o.models;
  if (paths.empty()) paths = ensure_demo_models(demo_models_dir(), o.cli, note);
  std::vector<ModelEntry> models;
  for (const auto& p : paths) models.push_back(inspect_model(p));

  // The roofline: the cached read bandwidth per thread count, measured on first use by a
  // `llamaprof membw` child (its 2 GiB buffer would otherwise raise this process's RSS high-water
  // mark, which wait4 folds into every child's ru_maxrss).
  std::map<int, double> bw;
  bool missing = false;
  for (int t : o.threads) missing = missing || !cached_read_bandwidth(t);
  if (missing) {
    std::string list;
    for (int t : o.threads) list += (list.empty() ? "" : ",") + std::to_string(t);
    if (note) note("measuring the memory read bandwidth for threads " + list + " (cached for later runs)");
    run_child({o.cli, "membw", "--threads", list});
  }
  for (int t : o.threads) {
    const auto cached = cached_read_bandwidth(t);
    bw[t] = cached ? cached->gbps_best : read_bandwidth_gbps(t);
  }

  const fs::path out(o.out_dir);
  fs::create_directories(out / "traces");
  const fs::path prompt_file = out / "prompt.txt";
  {
    std::ofstream f(prompt_file, std::ios::binary | std::ios::trunc);
    if (!f) throw Error(ErrorKind::InvalidArgument, "cannot write to --out directory " + o.out_dir);
    f << o.prompt;
  }
  const std::string cpu_model = cpu_info().model_name;
  const std::string isa = isa_name(kernels().isa);
  const std::string host = host_name();
  const std::string features = cpu_feature_names(cpu_features());

  // The cells of this shard, in matrix order: model, cache state, threads, engine.
  std::vector<Cell> cells;
  size_t index = 0;
  for (size_t mi = 0; mi < models.size(); ++mi) {
    for (const std::string& cache : o.cache_modes) {
      for (int threads : o.threads) {
        for (size_t ei = 0; ei < engines.size(); ++ei, ++index) {
          if (int(index % size_t(o.shard_count)) == o.shard_index - 1) cells.push_back({mi, cache, threads, ei});
        }
      }
    }
  }
  // Cold reads by dd, once per model, for the cold-load comparison.
  std::map<size_t, nlohmann::json> dd;
  if (std::find(o.cache_modes.begin(), o.cache_modes.end(), "cold") != o.cache_modes.end()) {
    for (const Cell& c : cells) {
      if (!dd.count(c.model)) dd[c.model] = dd_cold_read(models[c.model].path);
    }
  }

  std::ofstream jsonl(out / "runs.jsonl", std::ios::binary | std::ios::trunc);
  std::vector<nlohmann::json> records;
  std::map<size_t, std::vector<double>> cell_infer;  // cell -> time_infer of its good runs
  std::set<size_t> stable;
  int run = 0;
  const int last_iter = o.until_stable ? o.max_iterations : o.iterations;
  for (int iter = 1; iter <= last_iter; ++iter) {
    if (iter > o.iterations && stable.size() == cells.size()) break;
    for (size_t ci = 0; ci < cells.size(); ++ci) {
      if (iter > o.iterations && stable.count(ci)) continue;
      const Cell& cell = cells[ci];
      const ModelEntry& m = models[cell.model];
      const Engine& engine = *engines[cell.engine];
      ++run;
      char trace_name[64];
      std::snprintf(trace_name, sizeof trace_name, "traces/run-%04d.jsonl", run);
      RunSpec spec;
      spec.model = m.path;
      spec.prompt = o.prompt;
      spec.prompt_file = prompt_file.string();
      spec.n_threads = cell.threads;
      spec.max_tokens = o.max_tokens;
      spec.n_ctx = n_ctx;
      spec.seed = o.seed;
      spec.top_candidates = o.top_candidates;
      spec.draft_max = o.draft_max;
      spec.trace_path = (out / trace_name).string();
      spec.timeout_s = o.timeout_s;
      std::error_code rm;
      fs::remove(spec.trace_path, rm);

      std::string eviction;
      Residency before;
      nlohmann::json rec;
      std::string failure, retried_after;
      MachineSample m0;
      ChildResult child;
      std::optional<ThreadSampler> sampler;
      double spawn_s = 0;
      for (int attempt = 0;; ++attempt) {
        eviction.clear();
        before = prepare_cache(cell.cache, m.path, eviction, note);
        m0 = machine_sample();
        sampler.reset();
        bool transient = false;
        try {
          if (engine.spawns()) {
            RunLimits limits;
            limits.timeout_s = o.timeout_s;
            limits.on_sample = [&](pid_t pid) {
              if (!sampler) sampler.emplace(pid);
              sampler->sample();
            };
            spawn_s = steady_now_s();
            child = run_child(engine.command(spec), engine.environment(), limits);
            if (child.exit_code != 0) throw EngineFailure(child_failure(child, o.timeout_s));
            rec = engine.parse(child, spec);
          } else {
            rec = engine.run(spec);
          }
        } catch (const EngineFailure& e) {
          failure = e.what();
          transient = e.transient;
        } catch (const Error& e) {
          failure = e.what();  // cannot start the program
        }
        if (failure.empty() || !transient || attempt > 0) break;
        // The run's report was lost, not the run: once more, and the record says why.
        retried_after = failure;
        failure.clear();
        fs::remove(spec.trace_path, rm);
      }
      const MachineSample m1 = machine_sample();
      if (!failure.empty()) {
        rec = nlohmann::json::object();
        rec["status"] = "failed";
        rec["failure"] = failure;
        if (note) note("run " + std::to_string(run) + " (" + engine.name() + ", " + m.name + ", " +
                       std::to_string(cell.threads) + " threads) failed: " + failure);
      } else {
        rec["status"] = "ok";
      }
      if (!retried_after.empty()) rec["retried_after"] = retried_after;
      rec["engine"] = engine.name();
      if (!rec.contains("front_end")) rec["front_end"] = engine.name();
      rec["run"] = run;
      rec["model_num"] = int(cell.model) + 1;
      rec["iter"] = iter;
      rec["cell"] = ci;
      rec["n_threads"] = rec.value("n_threads", cell.threads);
      rec["max_tokens"] = o.max_tokens;
      rec["cache"] = cell.cache;
      rec["cache_state"] = cache_state(before.fraction());
      rec["residency_pct"] = 100.0 * before.fraction();
      rec["resident_bytes_before"] = before.resident_pages * 4096ull;
      rec["residency_after_pct"] = 100.0 * file_residency(m.path).fraction();
      if (!eviction.empty()) rec["eviction"] = eviction;
      if (dd.count(cell.model)) rec["dd_cold_read"] = dd[cell.model];
      rec["model_fn"] = m.path;
      rec["model_name"] = m.name;
      rec["model_type"] = m.type;
      rec["file_bytes"] = m.traffic.file_bytes;
      rec["n_params"] = m.traffic.n_params;
      rec["bytes_per_token"] = m.traffic.bytes_per_token;
      if (m.traffic.expert_bytes > 0) rec["expert_bytes_per_token"] = m.traffic.expert_bytes_per_token;
      rec["host"] = host;
      rec["cpu_model"] = cpu_model;
      rec["cpu_features"] = features;
      rec["isa"] = isa;
      // The engine's own CPU is not noise: the child's, or a measured server's.
      double own_cpu = child.user_s + child.sys_s;
      if (!engine.spawns() && rec.contains("server") && rec["server"].is_object()) own_cpu = rec["server"].value("cpu_s", 0.0);
      rec["noise"] = noise_json(m0, m1, own_cpu);
      if (!engine.spawns() && !rec.contains("server")) {
        rec["noise"]["note"] = "a local server's CPU counts as other processes' without --server-pid";
      }
      rec["disturbed"] = rec["noise"]["disturbed"];
      if (engine.spawns()) {
        rec["time_script"] = child.wall_s;
        rec["cpu_user_s"] = child.user_s;
        rec["cpu_sys_s"] = child.sys_s;
        rec["cpu_util_pct"] = child.wall_s > 0 ? 100.0 * (child.user_s + child.sys_s) / child.wall_s : 0.0;
        // wait4's ru_maxrss also counts this parent's own high-water mark (Linux keeps the
        // larger of the two across exec), so the engine's VmHWM (its own, or sampled) is the peak.
        rec["maxrss_wait4_mb"] = child.max_rss_mb;
        if (sampler) {
          rec["os_threads"] = sampler->threads_json(child.wall_s);
          // Engines that only say when their phases end (process-relative seconds) get each
          // phase's CPU from the samples.
          if (rec.contains("phase_marks") && rec["phase_marks"].is_object()) {
            for (auto it = rec["phase_marks"].begin(); it != rec["phase_marks"].end(); ++it) {
              const auto& span = it.value();
              if (!span.is_array() || span.size() != 2 || rec["cpu"].contains(it.key())) continue;
              rec["cpu"][it.key()] = sampler->cpu_between(spawn_s + span[0].get<double>(), spawn_s + span[1].get<double>());
            }
          }
          rec["os_samples"] = sampler->samples();
          if (!rec.contains("peak_rss_mb") && sampler->peak_rss_mb() > 0) rec["peak_rss_mb"] = sampler->peak_rss_mb();
        }
        if (!rec.contains("peak_rss_mb")) rec["peak_rss_mb"] = child.max_rss_mb;
      }
      if (failure.empty()) {
        // Achieved bandwidth as a user sees it: bytes per token x generated tokens / generation
        // time (decode passes + sampling + the front end's per-token work). decode_gbps counts
        // the forward passes alone.
        const double bpt = double(m.traffic.bytes_per_token);
        const double gen_s = rec.value("gen_ms", 0.0) / 1000.0;
        const double gbps = gen_s > 0 ? bpt * rec.value("comp_tokens", 0.0) / gen_s / 1e9 : 0.0;
        const double decode_s = rec.value("decode_ms", 0.0) / 1000.0;
        rec["gen_gbps"] = gbps;
        rec["decode_gbps"] = decode_s > 0 ? bpt * rec.value("decode_evals", 0.0) / decode_s / 1e9 : 0.0;
        rec["bw_limit_gbps"] = bw[cell.threads];
        // Speculative decoding reads the weights once per pass for several tokens: the weight
        // bytes per generated token (the first token is the prompt pass's).
        const double passes = rec.value("gen_passes", 0.0), tokens = rec.value("comp_tokens", 0.0);
        if (passes > 0 && tokens > 1) rec["effective_bytes_per_token"] = bpt * passes / (tokens - 1);
        rec["pct_bw_limit"] = bw[cell.threads] > 0 ? 100.0 * gbps / bw[cell.threads] : 0.0;
        if (fs::exists(spec.trace_path, rm)) rec["trace_file"] = trace_name;
        if (!rec["disturbed"].get<bool>()) cell_infer[ci].push_back(rec.value("time_infer", 0.0));
        if (o.until_stable && cell_infer[ci].size() >= 2 &&
            bootstrap_median(cell_infer[ci]).rel_half_width() < o.stable_rel_half_width) {
          stable.insert(ci);
        }
      }
      records.push_back(rec);
      jsonl << dump_json_line(rec) << '\n' << std::flush;  // kept as runs finish
      if (on_run) on_run(rec);
    }
  }
  if (o.until_stable && note && stable.size() < cells.size()) {
    note(std::to_string(cells.size() - stable.size()) + " of " + std::to_string(cells.size()) +
         " cells did not reach a 95% CI within " + std::to_string(int(100 * o.stable_rel_half_width + 0.5)) +
         "% of the median in " + std::to_string(o.max_iterations) + " iterations");
  }
  jsonl.close();
  write_csv((out / "runs.csv").string(), records);
  {
    std::ofstream f(out / "summary.json", std::ios::binary | std::ios::trunc);
    f << summarize_runs(records).dump(2) << '\n';
  }
  return records;
}

}  // namespace lp::profile
