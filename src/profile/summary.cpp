#include "profile/summary.h"

#include <algorithm>
#include <functional>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "profile/findings.h"
#include "profile/stats.h"

namespace lp::profile {
namespace {

using nlohmann::json;
using Records = std::vector<const json*>;

const char* const kMetrics[] = {"time_load", "time_prompt", "time_infer", "time_script", "gen_tps", "prompt_tps"};

double num(const json& r, const char* key) { return r.contains(key) && r[key].is_number() ? r[key].get<double>() : 0.0; }

json stats_json(const std::vector<double>& v) {
  const Summary s = summarize(v);
  const Interval ci = bootstrap_median(v);
  return {{"n", s.n},       {"median", s.median}, {"min", s.min},      {"max", s.max},
          {"mean", s.mean}, {"cv", s.cv},         {"ci_lo", ci.lo},    {"ci_hi", ci.hi}};
}

json interval_json(const Interval& iv) { return {{"n", iv.n}, {"value", iv.median}, {"ci_lo", iv.lo}, {"ci_hi", iv.hi}}; }

// End-to-end inference time per generated token: comparable across engines whose phases differ.
double infer_ms_per_token(const json& r) {
  const double n = r.value("comp_tokens", 0.0);
  return n > 0 ? 1000.0 * r.value("time_infer", 0.0) / n : 0.0;
}

template <class F>
double median_of(const Records& rs, F value) {
  std::vector<double> v;
  for (const json* r : rs) v.push_back(value(*r));
  return summarize(v).median;
}

double median_key(const Records& rs, const char* key) {
  return median_of(rs, [key](const json& r) { return num(r, key); });
}

Records where(const Records& rs, const std::function<bool(const json&)>& pred) {
  Records out;
  for (const json* r : rs) {
    if (pred(*r)) out.push_back(r);
  }
  return out;
}

// Warm runs when there are any: the steady-state figures the comparisons are about.
Records steady(const Records& rs) {
  Records w = where(rs, [](const json& r) { return r.value("cache_state", "") == "warm"; });
  return w.empty() ? rs : w;
}

double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// A fixed-width table: the first column left-aligned, the others right-aligned.
std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(head.size());
  for (size_t i = 0; i < head.size(); ++i) w[i] = head[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < w.size(); ++i) w[i] = std::max(w[i], row[i].size());
  }
  auto line = [&](const std::vector<std::string>& row) {
    std::string s;
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string pad(w[i] - row[i].size(), ' ');
      s += (i ? "  " : "") + (i == 0 ? row[i] + pad : pad + row[i]);
    }
    return s + "\n";
  };
  std::string out = line(head);
  size_t total = 0;
  for (size_t x : w) total += x + 2;
  out += std::string(total - 2, '-') + "\n";
  for (const auto& row : rows) out += line(row);
  return out;
}

}  // namespace

json summarize_runs(const std::vector<json>& records) {
  Records all;  // the runs that completed; failed ones are listed, not measured
  json failures = json::array(), disturbed = json::array();
  std::set<std::string> hosts;
  for (const json& r : records) {
    hosts.insert(r.value("host", ""));
    if (r.value("status", "ok") != "ok") {
      failures.push_back({{"run", r.value("run", 0)}, {"engine", r.value("engine", r.value("front_end", "?"))},
                          {"model", r.value("model_name", "?")}, {"n_threads", r.value("n_threads", 0)},
                          {"cache", r.value("cache", "")}, {"host", r.value("host", "")},
                          {"failure", r.value("failure", "")}});
      continue;
    }
    if (r.value("disturbed", false)) {
      disturbed.push_back({{"run", r.value("run", 0)}, {"engine", r.value("front_end", "?")},
                           {"reason", r.contains("noise") ? r["noise"].value("disturbed_reason", "") : ""}});
    }
    all.push_back(&r);
  }
  std::vector<std::string> models;  // in run order
  std::set<int> thread_set;
  std::set<std::string> front_ends;
  for (const json* r : all) {
    const std::string m = r->value("model_name", "?");
    if (std::find(models.begin(), models.end(), m) == models.end()) models.push_back(m);
    thread_set.insert(r->value("n_threads", 0));
    front_ends.insert(r->value("front_end", "?"));
  }
  auto of_model = [&](const std::string& m) { return where(all, [&](const json& r) { return r.value("model_name", "?") == m; }); };

  json s;
  s["n_runs"] = records.size();
  s["n_failed"] = failures.size();
  s["failures"] = failures;
  s["disturbed"] = disturbed;
  hosts.erase("");
  s["hosts"] = std::vector<std::string>(hosts.begin(), hosts.end());
  s["models"] = models;
  s["threads"] = std::vector<int>(thread_set.begin(), thread_set.end());
  s["front_ends"] = std::vector<std::string>(front_ends.begin(), front_ends.end());
  s["cpu_model"] = records.empty() ? "" : records[0].value("cpu_model", "");
  s["isa"] = records.empty() ? "" : records[0].value("isa", "");
  // Runs merged from several machines: each host's runs are grouped and compared apart.
  const bool multi_host = s["hosts"].size() > 1;
  auto host_of = [&](const json& r) { return multi_host ? r.value("host", "") : std::string(); };

  // Groups: host x model x front end x threads x observed cache state.
  std::map<std::tuple<std::string, size_t, std::string, int, std::string>, Records> groups;
  for (const json* r : all) {
    const size_t mi = size_t(std::find(models.begin(), models.end(), r->value("model_name", "?")) - models.begin());
    groups[{host_of(*r), mi, r->value("front_end", "?"), r->value("n_threads", 0), r->value("cache_state", "?")}]
        .push_back(r);
  }
  s["groups"] = json::array();
  for (const auto& [key, rs] : groups) {
    json g = {{"model", models[std::get<1>(key)]},
              {"front_end", std::get<2>(key)},
              {"n_threads", std::get<3>(key)},
              {"cache_state", std::get<4>(key)}};
    if (multi_host) g["host"] = std::get<0>(key);
    for (const char* m : kMetrics) {
      std::vector<double> v;
      for (const json* r : rs) v.push_back(num(*r, m));
      g[m] = stats_json(v);
    }
    std::vector<double> per_token;
    for (const json* r : rs) per_token.push_back(infer_ms_per_token(*r));
    g["infer_ms_per_token"] = stats_json(per_token);
    g["n_disturbed"] = where(rs, [](const json& r) { return r.value("disturbed", false); }).size();
    s["groups"].push_back(g);
  }

  // Engines against each other (steady state): for every pair, the later engine's inference time
  // per token over the earlier one's, per host, model and thread count, with a 95% bootstrap
  // interval.
  s["engine_ratios"] = json::array();
  {
    std::vector<std::string> order;  // engines in run order; the first is the baseline
    for (const json* r : all) {
      const std::string fe = r->value("front_end", "?");
      if (std::find(order.begin(), order.end(), fe) == order.end()) order.push_back(fe);
    }
    std::set<std::string> host_keys;
    for (const json* r : all) host_keys.insert(host_of(*r));
    for (const auto& h : host_keys) {
      for (const auto& m : models) {
        for (int t : thread_set) {
          Records rs = steady(where(of_model(m), [&](const json& r) {
            return r.value("n_threads", 0) == t && host_of(r) == h;
          }));
          auto values = [&](const std::string& fe) {
            std::vector<double> v;
            for (const json* r : rs) {
              if (r->value("front_end", "") == fe) v.push_back(infer_ms_per_token(*r));
            }
            return v;
          };
          if (order.size() < 2) break;
          // Every pair, the engine that ran first as the baseline.
          for (size_t j = 0; j < order.size(); ++j) {
            const std::vector<double> base = values(order[j]);
            if (base.empty()) continue;
            for (size_t i = j + 1; i < order.size(); ++i) {
              const std::vector<double> v = values(order[i]);
              if (v.empty()) continue;
              json row = {{"model", m}, {"n_threads", t}, {"engine", order[i]}, {"baseline", order[j]},
                          {"metric", "infer_ms_per_token"}};
              if (multi_host) row["host"] = h;
              row["engine_ms"] = summarize(v).median;
              row["baseline_ms"] = summarize(base).median;
              row["ratio"] = interval_json(bootstrap_ratio(v, base));
              s["engine_ratios"].push_back(row);
            }
          }
        }
      }
    }
  }
  // The same model, thread count and engine on different machines: each host over the first.
  s["host_ratios"] = json::array();
  if (multi_host) {
    const std::string h0 = s["hosts"][0];
    for (const auto& m : models) {
      for (const auto& fe : front_ends) {
        for (int t : thread_set) {
          Records rs = steady(where(of_model(m), [&](const json& r) {
            return r.value("n_threads", 0) == t && r.value("front_end", "") == fe;
          }));
          auto values = [&](const std::string& h) {
            std::vector<double> v;
            for (const json* r : rs) {
              if (r->value("host", "") == h) v.push_back(infer_ms_per_token(*r));
            }
            return v;
          };
          const std::vector<double> base = values(h0);
          if (base.empty()) continue;
          for (size_t i = 1; i < s["hosts"].size(); ++i) {
            const std::vector<double> v = values(s["hosts"][i]);
            if (v.empty()) continue;
            s["host_ratios"].push_back({{"model", m}, {"engine", fe}, {"n_threads", t}, {"host", s["hosts"][i]},
                                        {"baseline_host", h0}, {"ratio", interval_json(bootstrap_ratio(v, base))}});
          }
        }
      }
    }
  }

  // Cold against warm: load, first token (load + prompt: mmap faults the weights in during the
  // first forward pass, so a cold cache shows there as much as in the load), whole process.
  s["cold_warm"] = json::array();
  for (const auto& m : models) {
    for (const auto& fe : front_ends) {
      Records rs = where(of_model(m), [&](const json& r) { return r.value("front_end", "") == fe; });
      Records cold = where(rs, [](const json& r) { return r.value("cache_state", "") == "cold"; });
      Records warm = where(rs, [](const json& r) { return r.value("cache_state", "") == "warm"; });
      if (cold.empty() || warm.empty()) continue;
      auto ttft = [](const json& r) { return num(r, "time_load") + num(r, "time_prompt"); };
      json c = {{"model", m}, {"front_end", fe}};
      c["load_cold"] = median_key(cold, "time_load");
      c["load_warm"] = median_key(warm, "time_load");
      c["first_token_cold"] = median_of(cold, ttft);
      c["first_token_warm"] = median_of(warm, ttft);
      c["script_cold"] = median_key(cold, "time_script");
      c["script_warm"] = median_key(warm, "time_script");
      c["load_ratio"] = ratio(c["load_cold"], c["load_warm"]);
      c["first_token_ratio"] = ratio(c["first_token_cold"], c["first_token_warm"]);
      c["script_ratio"] = ratio(c["script_cold"], c["script_warm"]);
      auto values = [](const Records& rs, double (*f)(const json&)) {
        std::vector<double> v;
        for (const json* r : rs) v.push_back(f(*r));
        return v;
      };
      auto first_token = [](const json& r) { return num(r, "time_load") + num(r, "time_prompt"); };
      auto load = [](const json& r) { return num(r, "time_load"); };
      c["first_token_ratio_ci"] = interval_json(bootstrap_ratio(values(cold, first_token), values(warm, first_token)));
      c["load_ratio_ci"] = interval_json(bootstrap_ratio(values(cold, load), values(warm, load)));
      s["cold_warm"].push_back(c);
    }
  }

  // Thread scaling (steady-state runs): tokens/s against the fewest threads, and where the
  // threads' time went.
  s["scaling"] = json::array();
  const int t0 = thread_set.empty() ? 1 : *thread_set.begin();
  for (const auto& m : models) {
    for (const auto& fe : front_ends) {
      Records rs = steady(where(of_model(m), [&](const json& r) { return r.value("front_end", "") == fe; }));
      Records base = where(rs, [&](const json& r) { return r.value("n_threads", 0) == t0; });
      for (int t : thread_set) {
        Records at = where(rs, [&](const json& r) { return r.value("n_threads", 0) == t; });
        if (at.empty()) continue;
        json row = {{"model", m}, {"front_end", fe}, {"n_threads", t}};
        row["gen_tps"] = median_key(at, "gen_tps");
        row["prompt_tps"] = median_key(at, "prompt_tps");
        row["gen_speedup"] = base.empty() ? 0.0 : ratio(row["gen_tps"], median_key(base, "gen_tps"));
        row["prompt_speedup"] = base.empty() ? 0.0 : ratio(row["prompt_tps"], median_key(base, "prompt_tps"));
        row["busy"] = median_of(at, [](const json& r) { return r.contains("threads") ? num(r["threads"], "busy") : 0.0; });
        row["spin"] = median_of(at, [](const json& r) { return r.contains("threads") ? num(r["threads"], "spin") : 0.0; });
        row["sleep"] = median_of(at, [](const json& r) { return r.contains("threads") ? num(r["threads"], "sleep") : 0.0; });
        row["cpu_util_gen"] = median_of(at, [](const json& r) {
          return r.contains("cpu") && r["cpu"].contains("gen") ? num(r["cpu"]["gen"], "util") : 0.0;
        });
        s["scaling"].push_back(row);
      }
    }
  }

  // Front-end gap (steady state): Python over C++; above 1 means Python is slower.
  s["front_end_gap"] = json::array();
  if (front_ends.count("cli") && front_ends.count("python")) {
    for (const auto& m : models) {
      for (int t : thread_set) {
        Records rs = steady(where(of_model(m), [&](const json& r) { return r.value("n_threads", 0) == t; }));
        Records cli = where(rs, [](const json& r) { return r.value("front_end", "") == "cli"; });
        Records py = where(rs, [](const json& r) { return r.value("front_end", "") == "python"; });
        if (cli.empty() || py.empty()) continue;
        json g = {{"model", m}, {"n_threads", t}};
        g["infer_cli"] = median_key(cli, "time_infer");
        g["infer_python"] = median_key(py, "time_infer");
        g["infer_ratio"] = ratio(g["infer_python"], g["infer_cli"]);
        g["gen_tps_ratio"] = ratio(median_key(cli, "gen_tps"), median_key(py, "gen_tps"));
        g["load_ratio"] = ratio(median_key(py, "time_load"), median_key(cli, "time_load"));
        g["script_ratio"] = ratio(median_key(py, "time_script"), median_key(cli, "time_script"));
        s["front_end_gap"].push_back(g);
      }
    }
  }

  // Bandwidth (steady state, both front ends).
  s["bandwidth"] = json::array();
  for (const auto& m : models) {
    for (int t : thread_set) {
      Records rs = steady(where(of_model(m), [&](const json& r) { return r.value("n_threads", 0) == t; }));
      if (rs.empty()) continue;
      json b = {{"model", m}, {"n_threads", t}};
      b["bytes_per_token"] = num(*rs[0], "bytes_per_token");
      if (rs[0]->contains("expert_bytes_per_token")) b["expert_bytes_per_token"] = num(*rs[0], "expert_bytes_per_token");
      b["gen_gbps"] = median_key(rs, "gen_gbps");
      b["bw_limit_gbps"] = median_key(rs, "bw_limit_gbps");
      b["pct_bw_limit"] = median_key(rs, "pct_bw_limit");
      // Decode is 5-9% slower on 4 KiB pages: the share on 2 MiB pages explains part of a low figure.
      const Records paged = where(rs, [](const json& r) { return r.contains("weights_huge_pages_pct"); });
      if (!paged.empty()) b["huge_pages_pct"] = median_key(paged, "weights_huge_pages_pct");
      s["bandwidth"].push_back(b);
    }
  }

  // Speculative decoding (--draft-max): acceptance over all steady runs, weights read per token.
  s["speculative"] = json::array();
  for (const auto& m : models) {
    for (int t : thread_set) {
      Records rs = steady(where(of_model(m), [&](const json& r) {
        return r.value("n_threads", 0) == t && r.value("draft_max", 0) > 0 && r.contains("effective_bytes_per_token");
      }));
      if (rs.empty()) continue;
      double drafted = 0, accepted = 0;
      for (const json* r : rs) {
        drafted += num(*r, "draft_tokens");
        accepted += num(*r, "draft_accepted");
      }
      s["speculative"].push_back({{"model", m},
                                  {"n_threads", t},
                                  {"draft_max", rs[0]->value("draft_max", 0)},
                                  {"acceptance", drafted > 0 ? accepted / drafted : 0.0},
                                  {"effective_bytes_per_token", median_key(rs, "effective_bytes_per_token")},
                                  {"bytes_per_token", num(*rs[0], "bytes_per_token")}});
    }
  }

  // Headline: medians across models of the comparisons above.
  json h;
  auto med = [](const json& arr, const char* key, const std::function<bool(const json&)>& keep) {
    std::vector<double> v;
    for (const json& x : arr) {
      if (keep(x)) v.push_back(num(x, key));
    }
    return v.empty() ? json() : json(summarize(v).median);
  };
  auto any = [](const json&) { return true; };
  const int tmax = thread_set.empty() ? 1 : *thread_set.rbegin();
  h["cold_warm_first_token_ratio"] = med(s["cold_warm"], "first_token_ratio", any);
  h["cold_warm_load_ratio"] = med(s["cold_warm"], "load_ratio", any);
  h["thread_scaling"] = med(s["scaling"], "gen_speedup", [&](const json& x) {
    return x.value("n_threads", 0) == tmax && x.value("front_end", "") == "cli";
  });
  h["thread_scaling_from"] = t0;
  h["thread_scaling_to"] = tmax;
  h["front_end_gap"] = med(s["front_end_gap"], "infer_ratio", any);
  h["pct_bw_limit"] = med(s["bandwidth"], "pct_bw_limit", [&](const json& x) { return x.value("n_threads", 0) == tmax; });
  h["gen_gbps"] = med(s["bandwidth"], "gen_gbps", [&](const json& x) { return x.value("n_threads", 0) == tmax; });
  h["bw_limit_gbps"] = med(s["bandwidth"], "bw_limit_gbps", [&](const json& x) { return x.value("n_threads", 0) == tmax; });
  s["headline"] = h;
  s["findings"] = findings(s, all);
  return s;
}

std::string summary_text(const json& s) {
  std::string out;
  if (!s["failures"].empty()) {
    out += "== Failed runs ==\n";
    for (const json& x : s["failures"]) {
      out += "run " + std::to_string(x.value("run", 0)) + " " + x.value("engine", "?") + " " + x.value("model", "?") + " " +
             std::to_string(x.value("n_threads", 0)) + " threads: " + x.value("failure", "") + "\n";
    }
    out += "\n";
  }
  auto pct = [](double v) { return fmt("%.1f%%", 100 * v); };
  {
    std::vector<std::vector<std::string>> rows;
    for (const json& g : s["groups"]) {
      std::vector<std::string> row = {g["model"].get<std::string>(), g["front_end"].get<std::string>(),
                                      std::to_string(g["n_threads"].get<int>()), g["cache_state"].get<std::string>(),
                                      std::to_string(g["time_load"]["n"].get<int>())};
      for (const char* m : {"time_load", "time_prompt", "time_infer", "time_script"}) {
        const json& st = g[m];
        row.push_back(fmt("%.3f", st["median"]) + " [" + fmt("%.3f", st["min"]) + "-" + fmt("%.3f", st["max"]) +
                      "] " + pct(st["cv"]));
      }
      row.push_back(fmt("%.1f", g["gen_tps"]["median"]) + " " + pct(g["gen_tps"]["cv"]));
      rows.push_back(row);
    }
    out += "== Summary: median [min-max] CV, seconds ==\n";
    out += table({"model", "front", "thr", "cache", "n", "time_load", "time_prompt", "time_infer", "time_script",
                  "gen t/s CV"},
                 rows);
  }
  if (!s["cold_warm"].empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const json& c : s["cold_warm"]) {
      rows.push_back({c["model"].get<std::string>(), c["front_end"].get<std::string>(),
                      fmt("%.3f", c["load_cold"]) + " / " + fmt("%.3f", c["load_warm"]), fmt("%.2fx", c["load_ratio"]),
                      fmt("%.3f", c["first_token_cold"]) + " / " + fmt("%.3f", c["first_token_warm"]),
                      fmt("%.2fx", c["first_token_ratio"]), fmt("%.2fx", c["script_ratio"])});
    }
    out += "\n== Cold against warm page cache (medians, s) ==\n";
    out += table({"model", "front", "load cold/warm", "ratio", "first token cold/warm", "ratio", "script ratio"}, rows);
  }
  if (!s["scaling"].empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const json& r : s["scaling"]) {
      rows.push_back({r["model"].get<std::string>(), r["front_end"].get<std::string>(),
                      std::to_string(r["n_threads"].get<int>()), fmt("%.1f", r["gen_tps"]),
                      fmt("%.2fx", r["gen_speedup"]), fmt("%.1f", r["prompt_tps"]), fmt("%.2fx", r["prompt_speedup"]),
                      pct(r["busy"]) + " / " + pct(r["spin"]) + " / " + pct(r["sleep"]),
                      fmt("%.0f%%", 100 * r["cpu_util_gen"].get<double>())});
    }
    out += "\n== Thread scaling (steady state, medians) ==\n";
    out += table({"model", "front", "thr", "gen t/s", "speedup", "prompt t/s", "speedup", "busy / spin / sleep",
                  "cpu gen"},
                 rows);
  }
  if (!s["front_end_gap"].empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const json& g : s["front_end_gap"]) {
      rows.push_back({g["model"].get<std::string>(), std::to_string(g["n_threads"].get<int>()),
                      fmt("%.3f", g["infer_cli"]) + " / " + fmt("%.3f", g["infer_python"]),
                      fmt("%.3fx", g["infer_ratio"]), fmt("%.3fx", g["gen_tps_ratio"]), fmt("%.2fx", g["load_ratio"]),
                      fmt("%.2fx", g["script_ratio"])});
    }
    out += "\n== Front-end gap: python / cli (steady state, medians; 1.000x = no gap) ==\n";
    out += table({"model", "thr", "infer cli / python s", "infer", "gen t/s cli/py", "load", "script"}, rows);
  }
  if (!s["bandwidth"].empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const json& b : s["bandwidth"]) {
      rows.push_back({b["model"].get<std::string>(), std::to_string(b["n_threads"].get<int>()),
                      fmt("%.1f", b["bytes_per_token"].get<double>() / 1e6), fmt("%.2f", b["gen_gbps"]),
                      fmt("%.1f", b["bw_limit_gbps"]), fmt("%.1f%%", b["pct_bw_limit"]),
                      b.contains("huge_pages_pct") ? fmt("%.0f%%", b["huge_pages_pct"]) : "-"});
    }
    out += "\n== Memory bandwidth during generation (steady state, medians) ==\n";
    out += table({"model", "thr", "MB/token", "GB/s", "limit GB/s", "% of limit", "on 2 MiB pages"}, rows);
  }
  if (s.contains("speculative") && !s["speculative"].empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const json& b : s["speculative"]) {
      rows.push_back({b["model"].get<std::string>(), std::to_string(b["n_threads"].get<int>()),
                      std::to_string(b["draft_max"].get<int>()), fmt("%.1f%%", 100 * b["acceptance"].get<double>()),
                      fmt("%.1f", b["bytes_per_token"].get<double>() / 1e6),
                      fmt("%.1f", b["effective_bytes_per_token"].get<double>() / 1e6)});
    }
    out += "\n== Speculative decoding (steady state; weights read per forward pass and per token produced) ==\n";
    out += table({"model", "thr", "draft max", "accepted", "MB/pass", "MB/token"}, rows);
  }
  if (!s["engine_ratios"].empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const json& r : s["engine_ratios"]) {
      const json& iv = r["ratio"];
      rows.push_back({r["model"].get<std::string>() + (r.contains("host") ? " @" + r["host"].get<std::string>() : ""),
                      std::to_string(r["n_threads"].get<int>()), r["engine"].get<std::string>() + " / " + r["baseline"].get<std::string>(),
                      fmt("%.3f", r["engine_ms"]) + " / " + fmt("%.3f", r["baseline_ms"]),
                      fmt("%.3fx", iv["value"]) + " [" + fmt("%.3f", iv["ci_lo"]) + "-" + fmt("%.3f", iv["ci_hi"]) + "]",
                      std::to_string(iv["n"].get<int>())});
    }
    out += "\n== Engines: inference ms per token, engine / baseline (steady state, median, 95% bootstrap CI) ==\n";
    out += table({"model", "thr", "engines", "ms/token", "ratio [95% CI]", "n"}, rows);
  }
  if (!s["host_ratios"].empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const json& r : s["host_ratios"]) {
      const json& iv = r["ratio"];
      rows.push_back({r["model"].get<std::string>(), r["engine"].get<std::string>(), std::to_string(r["n_threads"].get<int>()),
                      r["host"].get<std::string>() + " / " + r["baseline_host"].get<std::string>(),
                      fmt("%.3fx", iv["value"]) + " [" + fmt("%.3f", iv["ci_lo"]) + "-" + fmt("%.3f", iv["ci_hi"]) + "]"});
    }
    out += "\n== Machines: inference ms per token, host / first host (95% CI) ==\n";
    out += table({"model", "engine", "thr", "hosts", "ratio [95% CI]"}, rows);
  }
  if (!s["findings"].empty()) {
    out += "\n== Findings ==\n";
    for (const json& x : s["findings"]) out += "- " + x.value("text", "") + "\n";
  }
  return out;
}

}  // namespace lp::profile
