// An OpenAI-compatible HTTP server (llama.cpp's llama-server, vLLM, llama-cpp-python's server...):
// one streaming POST {base}/completions per run, timed from this process: time to first token,
// the inter-token latency distribution, and with --server-pid the server's CPU time per thread
// and peak RSS from /proc. The HTTP client is cpp-httplib (Debian libcpp-httplib-dev).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>

#include "llamaprof/error.h"
#include "profile/engine.h"
#include "profile/proc_monitor.h"
#include "profile/stats.h"

#ifdef LLAMAPROF_HAVE_HTTPLIB
#include <httplib.h>
#endif

namespace lp::profile {
namespace {

struct Url {
  std::string host;
  int port = 80;
  std::string base;  // "/v1"
};

Url parse_url(const std::string& url) {
  const std::string rest = url.substr(7);  // after "http://"
  const size_t slash = rest.find('/');
  const std::string hostport = rest.substr(0, slash);
  Url u;
  u.base = slash == std::string::npos ? "" : rest.substr(slash);
  while (!u.base.empty() && u.base.back() == '/') u.base.pop_back();
  const size_t colon = hostport.rfind(':');
  u.host = hostport.substr(0, colon);
  if (colon != std::string::npos) {
    try {
      size_t used = 0;
      u.port = std::stoi(hostport.substr(colon + 1), &used);
      if (used != hostport.size() - colon - 1 || u.port < 1 || u.port > 65535) throw std::out_of_range("port");
    } catch (const std::exception&) {
      throw Error(ErrorKind::InvalidArgument, "--engines: bad port in " + url);
    }
  }
  if (u.host.empty()) throw Error(ErrorKind::InvalidArgument, "--engines: no host in " + url);
  return u;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[size_t(q * double(v.size() - 1) + 0.5)];
}

// CPU seconds per thread between two samples of the server (threads that started meanwhile count
// from zero).
nlohmann::json server_delta(const nlohmann::json& a, const nlohmann::json& b, double wall_s) {
  std::map<long, double> before;
  for (const auto& t : a) before[t.value("tid", 0L)] = t.value("cpu_s", 0.0);
  nlohmann::json threads = nlohmann::json::array();
  double total = 0;
  for (const auto& t : b) {
    const double d = t.value("cpu_s", 0.0) - before[t.value("tid", 0L)];
    total += d;
    threads.push_back({{"tid", t["tid"]}, {"name", t["name"]}, {"cpu_s", d}, {"util", wall_s > 0 ? d / wall_s : 0.0}});
  }
  std::sort(threads.begin(), threads.end(), [](const auto& x, const auto& y) { return x["cpu_s"] > y["cpu_s"]; });
  return {{"cpu_s", total}, {"util", wall_s > 0 ? total / wall_s : 0.0}, {"threads", threads}};
}

class HttpEngine : public Engine {
 public:
  HttpEngine(const std::string& url, const EngineConfig& c) : url_(url), u_(parse_url(url)), c_(c) {}
  std::string name() const override { return url_; }
  bool spawns() const override { return false; }
  std::vector<std::string> command(const RunSpec&) const override { return {}; }
  nlohmann::json parse(const ChildResult&, const RunSpec&) const override { return {}; }

  std::string unavailable() const override {
#ifndef LLAMAPROF_HAVE_HTTPLIB
    return "llamaprof was built without cpp-httplib (install libcpp-httplib-dev and reconfigure)";
#else
    if (c_.server_pid > 0 && !std::ifstream("/proc/" + std::to_string(c_.server_pid) + "/stat")) {
      return "--server-pid " + std::to_string(c_.server_pid) + ": no such process";
    }
    return "";
#endif
  }

  nlohmann::json run(const RunSpec& r) const override {
#ifndef LLAMAPROF_HAVE_HTTPLIB
    (void)r;
    throw EngineFailure(unavailable());
#else
    std::ifstream pf(r.prompt_file, std::ios::binary);
    const std::string prompt((std::istreambuf_iterator<char>(pf)), std::istreambuf_iterator<char>());
    // The workers' sampler; ignore_eos, top_k, min_p and repeat_penalty are llama.cpp server
    // extensions that other servers ignore (comp_tokens shows whether EOS stopped it early).
    const nlohmann::json body = {{"prompt", prompt},       {"max_tokens", r.max_tokens}, {"temperature", 0.8},
                                 {"top_p", 0.95},          {"top_k", 40},                {"min_p", 0.05},
                                 {"repeat_penalty", 1.1},  {"seed", r.seed},             {"stream", true},
                                 {"ignore_eos", true},     {"logprobs", r.top_candidates}, {"model", r.model}};
    httplib::Client cli(u_.host, u_.port);
    const time_t to = time_t(r.timeout_s > 0 ? r.timeout_s : 600);
    cli.set_connection_timeout(to, 0);
    cli.set_read_timeout(to, 0);
    std::optional<ThreadSampler> server;
    nlohmann::json server_before;
    if (c_.server_pid > 0) {
      server.emplace(c_.server_pid);
      server->sample();
      server_before = server->threads_json(0);
    }
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    auto since = [&](clock::time_point t) { return std::chrono::duration<double>(t - t0).count(); };
    std::string buffer, output, finish;
    std::vector<double> token_times;  // seconds since the request, one per token event
    size_t candidates_per_token = 0;  // the most top_logprobs any token event carried
    std::ofstream trace(r.trace_path, std::ios::binary | std::ios::trunc);
    bool done = false;
    std::string bad;
    httplib::Request req;
    req.method = "POST";
    req.path = u_.base + "/completions";
    req.body = body.dump();
    req.set_header("Content-Type", "application/json");
    req.set_header("Accept", "text/event-stream");
    // Server-sent events: "data: {json}" lines separated by blank lines, "data: [DONE]" last.
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      buffer.append(data, n);
      for (size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
        std::string line = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.rfind("data:", 0) != 0) continue;
        const std::string payload = line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
        if (payload == "[DONE]") {
          done = true;
          continue;
        }
        const nlohmann::json ev = nlohmann::json::parse(payload, nullptr, false);
        if (ev.is_discarded() || !ev.contains("choices") || !ev["choices"].is_array() || ev["choices"].empty()) {
          bad = "an event that is not a completion chunk: " + payload.substr(0, 200);
          return false;
        }
        const nlohmann::json& ch = ev["choices"][0];
        const std::string text = ch.value("text", "");
        if (ch.contains("finish_reason") && ch["finish_reason"].is_string()) finish = ch["finish_reason"];
        if (text.empty() && finish.size()) continue;  // the closing chunk
        const double t = since(clock::now());
        const double lat = 1000.0 * (t - (token_times.empty() ? 0.0 : token_times.back()));
        token_times.push_back(t);
        output += text;
        nlohmann::json step = {{"index", token_times.size() - 1}, {"text", text}, {"latency_ms", lat}};
        if (ch.contains("logprobs") && ch["logprobs"].is_object() && ch["logprobs"].contains("top_logprobs")) {
          nlohmann::json cands = nlohmann::json::array();
          for (const auto& top : ch["logprobs"]["top_logprobs"]) {
            if (!top.is_object()) continue;
            for (auto it = top.begin(); it != top.end(); ++it) {
              if (it.value().is_number()) {
                cands.push_back({{"text", it.key()}, {"logprob", it.value()}, {"p", std::exp(it.value().get<double>())}});
              }
            }
          }
          candidates_per_token = std::max(candidates_per_token, cands.size());
          step["candidates"] = cands;
        }
        trace << step.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
      }
      return true;
    };
    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    const bool ok = cli.send(req, res, err);
    const double total = since(clock::now());
    if (!bad.empty()) throw EngineFailure(url_ + " sent " + bad);
    if (!ok) throw EngineFailure(url_ + ": " + httplib::to_string(err));
    if (res.status != 200) throw EngineFailure(url_ + " answered HTTP " + std::to_string(res.status) + ": " + res.body.substr(0, 300));
    if (token_times.empty()) throw EngineFailure(url_ + " streamed no tokens");
    if (!done) throw EngineFailure(url_ + " ended the stream without data: [DONE]");

    std::vector<double> itl;
    for (size_t i = 1; i < token_times.size(); ++i) itl.push_back(1000.0 * (token_times[i] - token_times[i - 1]));
    nlohmann::json rec;
    rec["model"] = r.model;
    rec["n_threads"] = r.n_threads;  // the server's own setting; recorded for the matrix cell
    rec["seed"] = r.seed;
    rec["url"] = url_;
    rec["time_load"] = 0.0;  // the server loaded the model before the run
    rec["time_prompt"] = token_times.front();
    rec["time_to_first_token"] = token_times.front();
    rec["time_gen"] = total - token_times.front();
    rec["time_infer"] = total;
    rec["time_script"] = total;
    rec["comp_tokens"] = token_times.size();
    rec["gen_ms"] = 1000.0 * (total - token_times.front());
    rec["gen_tps"] = total > token_times.front() ? double(token_times.size() - 1) / (total - token_times.front()) : 0.0;
    rec["inter_token_ms"] = {{"n", itl.size()},
                             {"median", percentile(itl, 0.5)},
                             {"p90", percentile(itl, 0.9)},
                             {"p99", percentile(itl, 0.99)},
                             {"max", itl.empty() ? 0.0 : *std::max_element(itl.begin(), itl.end())}};
    rec["finish_reason"] = finish;
    rec["ignore_eos"] = int(token_times.size()) >= r.max_tokens;
    rec["candidates_per_token"] = candidates_per_token;
    rec["output"] = output;
    if (server) {
      server->sample();
      rec["server"] = server_delta(server_before, server->threads_json(0), total);
      rec["server"]["peak_rss_mb"] = server->peak_rss_mb();
      rec["peak_rss_mb"] = server->peak_rss_mb();
    }
    rec["missing"] = {"load time and page-cache effects (the server loaded the model before the run)"};
    if (!server) rec["missing"].push_back("server CPU and memory (pass --server-pid)");
    return rec;
#endif
  }

 private:
  std::string url_;
  Url u_;
  EngineConfig c_;
};

}  // namespace

std::unique_ptr<Engine> make_http_engine(const std::string& url, const EngineConfig& config) {
  return std::make_unique<HttpEngine>(url, config);
}

}  // namespace lp::profile
