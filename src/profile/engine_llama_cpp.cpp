#include "profile/engine_llama_cpp.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "profile/engine.h"
#include "runtime/cpu_features.h"

namespace lp::profile {
namespace fs = std::filesystem;
namespace {

bool executable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && access(p.c_str(), X_OK) == 0;
}

// The number after "KEY =" on a line, and the integer after the next '/', if any.
bool number_after(const std::string& line, const std::string& key, double& value, long* count) {
  const size_t k = line.find(key);
  if (k == std::string::npos) return false;
  const char* p = line.c_str() + k + key.size();
  char* end = nullptr;
  value = std::strtod(p, &end);
  if (end == p) return false;
  if (count) {
    const size_t slash = line.find('/', size_t(end - line.c_str()));
    *count = slash == std::string::npos ? -1 : std::strtol(line.c_str() + slash + 1, nullptr, 10);
  }
  return true;
}

std::string cache_home() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return x;
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache";
  return "";
}

// "0.01.122.690 I ..." (minutes.seconds.ms.us since the log started): seconds, or -1.
double log_time(const std::string& line) {
  int m = 0, sec = 0, ms = 0, us = 0, used = 0;
  if (std::sscanf(line.c_str(), "%d.%d.%d.%d %n", &m, &sec, &ms, &us, &used) != 4 || used == 0) return -1;
  return m * 60.0 + sec + ms / 1e3 + us / 1e6;
}

}  // namespace

nlohmann::json parse_llama_cpp_log(const std::string& log) {
  nlohmann::json j = nlohmann::json::object();
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    double v = 0;
    long n = -1;
    // Phase boundaries in the log's own clock: generation starts at "generate:", ends at the
    // first perf line.
    const double t = log_time(line);
    if (t >= 0 && line.find(" generate: ") != std::string::npos) j["log_generate_s"] = t;
    if (t >= 0 && line.find("_print:") != std::string::npos && !j.contains("log_perf_s")) j["log_perf_s"] = t;
    if (line.find("_print:") != std::string::npos) {
      // "prompt eval time" before "eval time": the latter's key is a suffix of the former's line.
      if (number_after(line, "prompt eval time =", v, &n)) {
        j["prompt_ms"] = v;
        j["prompt_tokens"] = n;
      } else if (number_after(line, "eval time =", v, &n)) {
        j["eval_ms"] = v;
        j["eval_runs"] = n;
      } else if (number_after(line, "load time =", v, nullptr)) {
        j["load_ms"] = v;
      } else if (number_after(line, "sampling time =", v, nullptr)) {
        j["sampling_ms"] = v;
      } else if (number_after(line, "samplers time =", v, &n)) {
        j["samplers_ms"] = v;
        j["sample_tokens"] = n;
      } else if (number_after(line, "total time =", v, nullptr)) {
        j["total_ms"] = v;
      }
    } else if (const size_t si = line.find("system_info:"); si != std::string::npos) {
      j["system_info"] = line.substr(si);  // after the log's "0.00.081.145 I " prefix, if any
      // "| CPU : SSE3 = 1 | AVX = 1 | ... |": the entries after the CPU backend's name.
      const size_t cpu = line.find("CPU :");
      nlohmann::json feats = nlohmann::json::array();
      if (cpu != std::string::npos) {
        std::istringstream parts(line.substr(cpu + 5));
        std::string part;
        while (std::getline(parts, part, '|')) {
          const size_t eq = part.find('=');
          if (eq == std::string::npos) continue;
          auto trim = [](std::string s) {
            s.erase(0, s.find_first_not_of(' '));
            s.erase(s.find_last_not_of(' ') + 1);
            return s;
          };
          const std::string name = trim(part.substr(0, eq)), value = trim(part.substr(eq + 1));
          if (name.find(':') != std::string::npos) break;  // the next backend
          if (value != "0") feats.push_back(name);
        }
      }
      j["build_features"] = feats;
    }
  }
  return j;
}

std::vector<std::string> missing_vector_features(const std::vector<std::string>& build) {
  const CpuFeatures& f = cpu_features();
  const bool avx = f.os_avx, z = f.os_avx512;
  const std::pair<const char*, bool> usable[] = {
      {"AVX", avx && f.avx},           {"AVX2", avx && f.avx2},           {"FMA", avx && f.fma},
      {"F16C", avx && f.f16c},         {"AVX_VNNI", avx && f.avx_vnni},   {"AVX512", z && f.avx512f},
      {"AVX512_VBMI", z && f.avx512_vbmi}, {"AVX512_VNNI", z && f.avx512_vnni}, {"AVX512_BF16", z && f.avx512_bf16}};
  std::vector<std::string> missing;
  for (const auto& [name, ok] : usable) {
    if (!ok) continue;
    bool has = false;
    for (const auto& b : build) has = has || b == name;
    if (!has) missing.push_back(name);
  }
  return missing;
}

std::string find_llama_completion(const std::string& dir) {
  const char* prog = "llama-completion";
  if (!dir.empty()) {
    for (const char* sub : {"", "bin", "build/bin"}) {
      const fs::path p = fs::path(dir) / sub / prog;
      if (executable(p)) return p.string();
    }
    return "";
  }
  if (const char* path = std::getenv("PATH")) {
    std::istringstream parts(path);
    std::string d;
    while (std::getline(parts, d, ':')) {
      if (!d.empty() && executable(fs::path(d) / prog)) return (fs::path(d) / prog).string();
    }
  }
  // scripts/setup's builds: build-seconds marks a finished one; the newest wins.
  const fs::path cache = fs::path(cache_home()) / "llamaprof" / "llama.cpp";
  std::error_code ec;
  fs::path best;
  fs::file_time_type best_time{};
  for (fs::directory_iterator it(cache, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path marker = it->path() / "build-seconds", exe = it->path() / "build" / "bin" / prog;
    if (!fs::exists(marker, ec) || !executable(exe)) continue;
    const auto t = fs::last_write_time(marker, ec);
    if (best.empty() || t > best_time) best = exe, best_time = t;
  }
  return best.string();
}

namespace {

class LlamaCppEngine : public Engine {
 public:
  explicit LlamaCppEngine(const EngineConfig& c) : c_(c), exe_(find_llama_completion(c.llama_cpp_dir)) {}
  std::string name() const override { return "llama.cpp"; }

  std::string unavailable() const override {
    if (!exe_.empty()) return "";
    if (!c_.llama_cpp_dir.empty()) return "no executable llama-completion in " + c_.llama_cpp_dir + " (nor its bin/, build/bin/)";
    return "llama-completion not found on PATH nor in scripts/setup's cache (run scripts/setup, or pass --llama-cpp DIR)";
  }

  std::vector<std::string> command(const RunSpec& r) const override {
    // The sampler of llamaprof's workers (SamplerParams defaults), spelled out: llama.cpp's
    // defaults differ between versions. --ignore-eos: every engine generates max_tokens.
    return {exe_, "-m", r.model, "-f", r.prompt_file, "-n", std::to_string(r.max_tokens),
            "-t", std::to_string(r.n_threads), "-c", std::to_string(r.n_ctx), "-b", "512",
            "--seed", std::to_string(r.seed), "--temp", "0.8", "--top-k", "40", "--top-p", "0.95",
            "--min-p", "0.05", "--repeat-penalty", "1.1", "--ignore-eos", "-no-cnv", "--no-display-prompt"};
  }

  nlohmann::json parse(const ChildResult& child, const RunSpec& r) const override {
    const nlohmann::json log = parse_llama_cpp_log(child.stderr_text);
    for (const char* k : {"load_ms", "prompt_ms", "eval_ms"}) {
      if (!log.contains(k)) {
        throw EngineFailure(std::string("llama-completion exited 0 but printed no ") + k +
                            " perf line (an unexpected output format, or its log cut short); stdout ends: " +
                            tail(child.stdout_text) + "; stderr ends: " + tail(child.stderr_text),
                            /*transient_failure=*/true);
      }
    }
    nlohmann::json rec;
    rec["model"] = r.model;
    rec["n_threads"] = r.n_threads;
    rec["n_ctx"] = r.n_ctx;
    rec["max_tokens"] = r.max_tokens;
    rec["seed"] = r.seed;
    rec["candidates_per_token"] = 0;  // llama-completion reports none
    rec["ignore_eos"] = true;
    rec["program"] = exe_;
    const double load = log["load_ms"], prompt = log["prompt_ms"], eval = log["eval_ms"];
    const double sampling = log.value("sampling_ms", 0.0);
    const int prompt_tokens = log.value("prompt_tokens", 0);
    // Tokens generated: each but the last is evaluated again ("eval time ... / N runs"); the
    // samplers' count also includes the prompt's tokens, so it is not used.
    const int comp = log.value("eval_runs", 0) + 1;
    rec["time_load"] = load / 1000;
    rec["load_ms"] = load;
    rec["time_prompt"] = prompt / 1000;
    rec["time_gen"] = (eval + sampling) / 1000;
    rec["time_infer"] = (prompt + eval + sampling) / 1000;
    rec["prompt_tokens"] = prompt_tokens;
    rec["comp_tokens"] = comp;
    rec["prompt_ms"] = prompt;
    rec["gen_ms"] = eval + sampling;
    rec["sample_ms"] = sampling;
    rec["prompt_tps"] = prompt > 0 ? 1000.0 * prompt_tokens / prompt : 0.0;
    rec["gen_tps"] = eval + sampling > 0 ? 1000.0 * comp / (eval + sampling) : 0.0;
    rec["decode_evals"] = log.value("eval_runs", 0);
    rec["decode_ms"] = eval;
    rec["finish_reason"] = "length";
    std::string out = child.stdout_text;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    rec["output"] = out;
    rec["llama_cpp"] = log;
    // Per-phase CPU comes from the matrix's /proc samples at these instants (process start + log time).
    if (log.contains("log_generate_s") && log.contains("log_perf_s")) {
      rec["phase_marks"] = {{"load", {0.0, log["log_generate_s"]}}, {"infer", {log["log_generate_s"], log["log_perf_s"]}}};
    }
    if (log.contains("build_features")) {
      const auto feats = log["build_features"].get<std::vector<std::string>>();
      rec["build_features"] = feats;
      rec["build_missing_features"] = missing_vector_features(feats);
    } else {
      rec["build_missing_features"] = nullptr;
    }
    rec["missing"] = {"per-token latencies and candidates (llama-completion prints neither)",
                      "per-phase CPU from llama.cpp itself (cpu.load / cpu.infer are interpolated from /proc samples "
                      "every 50 ms at its log's phase times)"};
    return rec;
  }

 private:
  static std::string tail(const std::string& s) { return s.size() > 400 ? s.substr(s.size() - 400) : s; }
  EngineConfig c_;
  std::string exe_;
};

}  // namespace

std::unique_ptr<Engine> make_llama_cpp_engine(const EngineConfig& config) {
  return std::make_unique<LlamaCppEngine>(config);
}

}  // namespace lp::profile
