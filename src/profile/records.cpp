#include "profile/records.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "llamaprof/error.h"
#include "profile/worker.h"

namespace lp::profile {
namespace {

void flatten(const nlohmann::json& j, const std::string& prefix, std::vector<std::pair<std::string, std::string>>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    }
  } else if (j.is_string()) {
    out.emplace_back(prefix, j.get<std::string>());
  } else if (j.is_null()) {
    out.emplace_back(prefix, "");
  } else {
    out.emplace_back(prefix, dump_json_line(j));
  }
}

// RFC 4180: quote fields holding a comma, quote or line break; double the quotes.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

std::string num(const nlohmann::json& j, const char* key, const char* fmt) {
  if (!j.contains(key) || !j[key].is_number()) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, j[key].get<double>());
  return buf;
}

}  // namespace

void write_jsonl(const std::string& path, const std::vector<nlohmann::json>& records) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error(ErrorKind::InvalidArgument, "cannot write " + path);
  for (const auto& r : records) f << dump_json_line(r) << '\n';
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorKind::FileNotFound, "cannot open runs file " + path);
  std::vector<nlohmann::json> out;
  std::string line;
  for (int n = 1; std::getline(f, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      throw Error(ErrorKind::InvalidFile, path + ":" + std::to_string(n) + ": not a JSON object");
    }
    out.push_back(std::move(j));
  }
  return out;
}

void write_csv(const std::string& path, const std::vector<nlohmann::json>& records) {
  std::vector<std::vector<std::pair<std::string, std::string>>> rows;
  std::vector<std::string> columns;
  std::set<std::string> seen;
  for (const auto& r : records) {
    rows.emplace_back();
    flatten(r, "", rows.back());
    for (const auto& kv : rows.back()) {
      if (seen.insert(kv.first).second) columns.push_back(kv.first);
    }
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error(ErrorKind::InvalidArgument, "cannot write " + path);
  for (size_t i = 0; i < columns.size(); ++i) f << (i ? "," : "") << csv_field(columns[i]);
  f << "\r\n";
  for (const auto& row : rows) {
    std::map<std::string, std::string> m(row.begin(), row.end());
    for (size_t i = 0; i < columns.size(); ++i) {
      auto it = m.find(columns[i]);
      f << (i ? "," : "") << (it == m.end() ? "" : csv_field(it->second));
    }
    f << "\r\n";
  }
}

std::string run_block(const nlohmann::json& r) {
  auto str = [&](const char* k) { return r.contains(k) && r[k].is_string() ? r[k].get<std::string>() : "-"; };
  auto cpu = [&](const char* phase) {
    if (!r.contains("cpu") || !r["cpu"].contains(phase)) return std::string("-");
    const auto& p = r["cpu"][phase];
    char buf[96];
    std::snprintf(buf, sizeof buf, "user %.2f s, sys %.2f s, util %.0f%%", p.value("user_s", 0.0),
                  p.value("sys_s", 0.0), 100.0 * p.value("util", 0.0));
    return std::string(buf);
  };
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf, "### MODEL_NUM: %d | ITER: %d ###\n", r.value("model_num", 0), r.value("iter", 0));
  out += buf;
  auto line = [&](const char* name, const std::string& value) {
    out += name;
    out += std::string(size_t(std::max(1, 14 - int(std::string(name).size()))), ' ');
    out += value;
    out += '\n';
  };
  line("ENGINE:", str("engine") + (r.contains("host") ? " on " + str("host") : ""));
  if (r.value("status", "ok") != "ok") {
    line("STATUS:", "FAILED: " + str("failure"));
    line("model_fn:", str("model_fn"));
    return out;
  }
  line("time_load:", num(r, "time_load", "%.3f"));
  line("time_prompt:", num(r, "time_prompt", "%.3f"));
  line("time_infer:", num(r, "time_infer", "%.3f"));
  line("time_script:", num(r, "time_script", "%.3f"));
  line("prompt_tokens:", num(r, "prompt_tokens", "%.0f"));
  line("comp_tokens:", num(r, "comp_tokens", "%.0f"));
  line("tokens/s:", "prompt " + num(r, "prompt_tps", "%.1f") + ", gen " + num(r, "gen_tps", "%.1f"));
  line("N_THREADS:", num(r, "n_threads", "%.0f"));
  line("MAX_TOKENS:", num(r, "max_tokens", "%.0f"));
  line("FRONT_END:", str("front_end"));
  line("CACHE:", str("cache") + " (resident before load " + num(r, "residency_pct", "%.0f") + "%" +
                     (r.value("eviction", "") == "incomplete" ? ", EVICTION INCOMPLETE" : "") +
                     (r.contains("weights_huge_pages_pct")
                          ? ", weights on 2 MiB pages " + num(r, "weights_huge_pages_pct", "%.0f") + "%"
                          : "") +
                     ")");
  line("cpu load:", cpu("load"));
  line("cpu prompt:", cpu("prompt"));
  line("cpu gen:", cpu("gen"));
  if (r.contains("cpu") && r["cpu"].contains("infer")) line("cpu infer:", cpu("infer"));
  line("cpu process:", "user " + num(r, "cpu_user_s", "%.2f") + " s, sys " + num(r, "cpu_sys_s", "%.2f") +
                           " s, util " + num(r, "cpu_util_pct", "%.0f") + "%");
  if (r.contains("threads")) {
    const auto& t = r["threads"];
    std::snprintf(buf, sizeof buf, "busy %.0f%%, spin %.0f%%, sleep %.0f%%", 100 * t.value("busy", 0.0),
                  100 * t.value("spin", 0.0), 100 * t.value("sleep", 0.0));
    std::string threads = buf;
    if (t.value("stalls", int64_t(0)) > 0) {
      std::snprintf(buf, sizeof buf, "; %lld stalls (a worker descheduled mid-part), %.0f%% of regions on one thread",
                    static_cast<long long>(t.value("stalls", int64_t(0))), 100 * t.value("solo_regions", 0.0));
      threads += buf;
    }
    line("threads:", threads);
  }
  line("peak_rss:", num(r, "peak_rss_mb", "%.1f") + " MB");
  if (r.contains("os_threads") && r["os_threads"].is_array() && !r["os_threads"].empty()) {
    std::string busiest;
    for (size_t i = 0; i < r["os_threads"].size() && i < 4; ++i) {
      const auto& t = r["os_threads"][i];
      std::snprintf(buf, sizeof buf, "%s%s %.2f s (%.0f%%)", i ? ", " : "", t.value("name", "?").c_str(),
                    t.value("cpu_s", 0.0), 100 * t.value("util", 0.0));
      busiest += buf;
    }
    line("os threads:", busiest + (r["os_threads"].size() > 4 ? ", ..." : ""));
  }
  if (r.contains("noise")) {
    const auto& n = r["noise"];
    std::snprintf(buf, sizeof buf, "load avg %.2f, steal %.1f%%, others %.2f cores%s", n.value("loadavg1_before", 0.0),
                  n.value("steal_pct", 0.0), n.value("others_cores", 0.0), n.value("disturbed", false) ? " -- DISTURBED" : "");
    line("noise:", buf);
  }
  line("bandwidth:", num(r, "gen_gbps", "%.2f") + " GB/s = " + num(r, "pct_bw_limit", "%.1f") + "% of " +
                         num(r, "bw_limit_gbps", "%.1f") + " GB/s");
  if (r.value("draft_max", 0) > 0) {  // speculative decoding: weights read per token produced
    std::snprintf(buf, sizeof buf, "%lld of %lld drafts accepted, %lld passes, %.1f MB weights per token",
                  static_cast<long long>(r.value("draft_accepted", int64_t(0))),
                  static_cast<long long>(r.value("draft_tokens", int64_t(0))),
                  static_cast<long long>(r.value("gen_passes", int64_t(0))),
                  r.value("effective_bytes_per_token", 0.0) / 1e6);
    line("speculative:", buf);
  }
  line("model_fn:", str("model_fn"));
  std::string output = str("output");
  for (char& c : output) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  line("output:", output);
  return out;
}

}  // namespace lp::profile
