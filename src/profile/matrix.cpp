#include "profile/matrix.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "kernels/kernel_table.h"
#include "llamaprof/error.h"
#include "llamaprof/model.h"
#include "profile/demo_models.h"
#include "profile/model_traffic.h"
#include "profile/page_cache.h"
#include "profile/records.h"
#include "profile/spawn.h"
#include "profile/worker.h"
#include "profile/summary.h"
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
  for (const auto& f : o.front_ends) {
    if (f != "cli" && f != "python") bad("--front-ends: unknown front end '" + f + "' (cli or python)");
  }
  if (o.cache_modes.empty()) bad("--cache: give at least one mode");
  if (o.front_ends.empty()) bad("--front-ends: give at least one front end");
  if (o.prompt.empty()) bad("the prompt is empty");
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

std::string python_import_error(const MatrixOptions& o, const std::string& python_path) {
  std::map<std::string, std::string> env;
  if (!python_path.empty()) env["PYTHONPATH"] = python_path;
  try {
    const ChildResult r = run_child({o.python, "-c", "import llamaprof._llamaprof, llamaprof.profile_worker"}, env);
    if (r.exit_code == 0) return "";
    const size_t nl = r.stderr_text.find_last_of('\n', r.stderr_text.size() >= 2 ? r.stderr_text.size() - 2 : 0);
    return r.stderr_text.substr(nl == std::string::npos ? 0 : nl + 1);
  } catch (const Error& e) {
    return e.what();
  }
}

}  // namespace

const std::string& default_prompt() {
  static const std::string p =
      "Q: Name three planets in our solar system, in order of size, with one fact about each.\nA:";
  return p;
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

  // Front ends: Python needs the built module.
  for (size_t i = 0; i < o.front_ends.size(); ++i) {
    if (o.front_ends[i] != "python") continue;
    const std::string err = python_import_error(o, o.python_path);
    if (err.empty()) continue;
    const std::string msg = "the Python front end is unavailable (" + o.python + " cannot import llamaprof" +
                            (o.python_path.empty() ? "" : " from " + o.python_path) + ": " + err +
                            "); build the module with -DLLAMAPROF_PYTHON=ON or set LLAMAPROF_PYTHONPATH";
    if (o.front_ends_given) throw Error(ErrorKind::InvalidArgument, msg);
    if (note) note(msg + " -- profiling the cli front end only");
    o.front_ends.erase(o.front_ends.begin() + ptrdiff_t(i--));
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

  std::ofstream jsonl(out / "runs.jsonl", std::ios::binary | std::ios::trunc);
  std::vector<nlohmann::json> records;
  int run = 0;
  for (size_t mi = 0; mi < models.size(); ++mi) {
    const ModelEntry& m = models[mi];
    for (int iter = 1; iter <= o.iterations; ++iter) {
      for (const std::string& cache : o.cache_modes) {
        for (int threads : o.threads) {
          for (const std::string& fe : o.front_ends) {
            ++run;
            char trace_name[64];
            std::snprintf(trace_name, sizeof trace_name, "traces/run-%04d.jsonl", run);
            const std::string trace_path = (out / trace_name).string();

            // Page cache, right before the process starts.
            std::string eviction;
            Residency before;
            if (cache == "cold") {
              const EvictResult ev = evict_file(m.path);
              before = ev.after;
              eviction = ev.complete() ? "complete" : "incomplete";
              if (!ev.complete() && note) {
                note("cold cache: eviction of " + m.path + " was incomplete: " + std::to_string(ev.after.resident_pages) +
                     " of " + std::to_string(ev.after.pages) +
                     " pages stayed in the page cache (another process probably maps or locks the file)");
              }
            } else if (cache == "warm") {
              before = warm_file(m.path);
            } else {
              before = file_residency(m.path);
            }

            std::vector<std::string> argv;
            std::map<std::string, std::string> env;
            if (fe == "cli") {
              argv = {o.cli, "profile-worker"};
            } else {
              argv = {o.python, "-m", "llamaprof.profile_worker"};
              if (!o.python_path.empty()) env["PYTHONPATH"] = o.python_path;
            }
            const std::vector<std::string> common = {
                "--model",      m.path,
                "--threads",    std::to_string(threads),
                "--max-tokens", std::to_string(o.max_tokens),
                "--prompt-file", prompt_file.string(),
                "--trace",      trace_path,
                "--top",        std::to_string(o.top_candidates),
                "--seed",       std::to_string(o.seed),
                "--ctx",        std::to_string(o.n_ctx)};
            argv.insert(argv.end(), common.begin(), common.end());

            const ChildResult child = run_child(argv, env);
            if (child.exit_code != 0) {
              throw Error(ErrorKind::Runtime,
                          "run " + std::to_string(run) + " (" + fe + " front end, " + m.name + ", " +
                              std::to_string(threads) + " threads) failed" +
                              (child.signal ? " with signal " + std::to_string(child.signal)
                                            : " with exit code " + std::to_string(child.exit_code)) +
                              ": " + child.stderr_text);
            }
            // The worker prints its record as the last line of stdout.
            std::string text = child.stdout_text;
            while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
            const size_t nl = text.rfind('\n');
            nlohmann::json rec = nlohmann::json::parse(nl == std::string::npos ? text : text.substr(nl + 1), nullptr, false);
            if (rec.is_discarded() || !rec.is_object()) {
              throw Error(ErrorKind::Runtime, "run " + std::to_string(run) + " (" + fe +
                                                  " front end) printed no JSON record: " + child.stdout_text.substr(0, 200));
            }

            rec["run"] = run;
            rec["model_num"] = int(mi) + 1;
            rec["iter"] = iter;
            rec["cache"] = cache;
            rec["cache_state"] = cache_state(before.fraction());
            rec["residency_pct"] = 100.0 * before.fraction();
            rec["resident_bytes_before"] = before.resident_pages * 4096ull;
            if (!eviction.empty()) rec["eviction"] = eviction;
            rec["model_fn"] = m.path;
            rec["model_name"] = m.name;
            rec["model_type"] = m.type;
            rec["file_bytes"] = m.traffic.file_bytes;
            rec["n_params"] = m.traffic.n_params;
            rec["bytes_per_token"] = m.traffic.bytes_per_token;
            rec["time_script"] = child.wall_s;
            rec["cpu_user_s"] = child.user_s;
            rec["cpu_sys_s"] = child.sys_s;
            rec["cpu_util_pct"] = child.wall_s > 0 ? 100.0 * (child.user_s + child.sys_s) / child.wall_s : 0.0;
            // wait4's ru_maxrss also counts this parent's own high-water mark (Linux keeps the
            // larger of the two across exec), so the worker's VmHWM is the peak; both are kept.
            rec["maxrss_wait4_mb"] = child.max_rss_mb;
            if (!rec.contains("peak_rss_mb")) rec["peak_rss_mb"] = child.max_rss_mb;
            // Achieved bandwidth as a user sees it: bytes per token x generated tokens / generation
            // time (decode passes + sampling + the front end's per-token work). decode_gbps counts
            // the forward passes alone.
            const double bpt = double(m.traffic.bytes_per_token);
            const double gen_s = rec.value("gen_ms", 0.0) / 1000.0;
            const double gbps = gen_s > 0 ? bpt * rec.value("comp_tokens", 0.0) / gen_s / 1e9 : 0.0;
            const double decode_s = rec.value("decode_ms", 0.0) / 1000.0;
            rec["gen_gbps"] = gbps;
            rec["decode_gbps"] = decode_s > 0 ? bpt * rec.value("decode_evals", 0.0) / decode_s / 1e9 : 0.0;
            rec["bw_limit_gbps"] = bw[threads];
            rec["pct_bw_limit"] = bw[threads] > 0 ? 100.0 * gbps / bw[threads] : 0.0;
            rec["trace_file"] = trace_name;
            rec["cpu_model"] = cpu_model;
            rec["isa"] = isa;
            records.push_back(rec);
            jsonl << dump_json_line(rec) << '\n' << std::flush;  // kept as runs finish
            if (on_run) on_run(rec);
          }
        }
      }
    }
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
