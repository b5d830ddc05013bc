#include "profile/findings.h"

#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "profile/stats.h"

namespace lp::profile {
namespace {

using nlohmann::json;
using Runs = std::vector<const json*>;

std::string f(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// A failure's first line, at most 240 characters: the finding points at the full reason.
std::string first_line(const std::string& t) {
  std::string l = t.substr(0, t.find('\n'));
  return l.size() > 240 ? l.substr(0, 240) + "..." : l;
}

std::string threads(int n) { return std::to_string(n) + (n == 1 ? " thread" : " threads"); }

double num(const json& j, const char* k) { return j.contains(k) && j[k].is_number() ? j[k].get<double>() : 0.0; }

double median_of(const Runs& rs, double (*value)(const json&)) {
  std::vector<double> v;
  for (const json* r : rs) v.push_back(value(*r));
  return summarize(v).median;
}

Runs select(const Runs& rs, const std::function<bool(const json&)>& keep) {
  Runs out;
  for (const json* r : rs) {
    if (keep(*r)) out.push_back(r);
  }
  return out;
}

// Candidates per token the engine computed in its runs of (model, threads), -1 when it does not say.
int candidates_per_token(const Runs& runs, const std::string& engine, const std::string& model, int n_threads) {
  for (const json* r : runs) {
    if (r->value("front_end", "") == engine && r->value("model_name", "") == model &&
        r->value("n_threads", 0) == n_threads && r->contains("candidates_per_token")) {
      return (*r)["candidates_per_token"].get<int>();
    }
  }
  return -1;
}

// Computing and recording the top-k candidates of every token is work of its own (a softmax over the
// vocabulary and a trace line): a speed comparison says when two engines did not do the same.
std::string unequal_work(const Runs& runs, const std::string& e, const std::string& b, const std::string& m, int t) {
  const int ce = candidates_per_token(runs, e, m, t), cb = candidates_per_token(runs, b, m, t);
  if (ce < 0 || cb < 0 || ce == cb) return "";
  auto what = [](const std::string& name, int k) {
    return name + (k > 0 ? " recorded the top " + std::to_string(k) + " candidates of every token" : " recorded none");
  };
  return "; not like for like: " + what(e, ce) + ", " + what(b, cb) + " (--top 0 compares the engines alone)";
}

void engine_speed(const json& s, const Runs& runs, json& out) {
  for (const json& row : s["engine_ratios"]) {
    const json& r = row["ratio"];
    const double v = num(r, "value"), lo = num(r, "ci_lo"), hi = num(r, "ci_hi");
    if (v <= 0) continue;
    const std::string e = row["engine"], b = row["baseline"], m = row["model"];
    const std::string where = "On " + m + " at " + threads(row["n_threads"].get<int>()) +
                              (row.contains("host") ? " on " + row["host"].get<std::string>() : "");
    const std::string nums = " (inference " + f("%.2f", row["engine_ms"]) + " vs " + f("%.2f", row["baseline_ms"]) +
                             " ms per token; ratio " + f("%.3f", v) + ", 95% CI " + f("%.3f", lo) + "-" + f("%.3f", hi) +
                             ", n=" + std::to_string(r.value("n", 0)) + ")";
    std::string text;
    if (r.value("n", 0) < 2) {
      text = where + ", " + e + " took " + f("%.2f", v) + "x the time per token of " + b + nums +
             "; one run each gives no confidence interval -- use --iterations or --until-stable";
    } else if (hi < 1) {
      text = where + ", " + e + " is faster than " + b + ": " + f("%.1f", 100 * (1 - v)) + "% less time per token" + nums;
    } else if (lo > 1) {
      text = where + ", " + e + " is slower than " + b + ": " + f("%.1f", 100 * (v - 1)) + "% more time per token" + nums;
    } else {
      text = where + ", " + e + " and " + b + " are not distinguishable" + nums;
    }
    text += unequal_work(runs, e, b, m, row["n_threads"].get<int>());
    out.push_back({{"kind", "engine_speed"}, {"text", text}, {"engine", e}, {"baseline", b}, {"model", m},
                   {"n_threads", row["n_threads"]}, {"ratio", v}, {"ci_lo", lo}, {"ci_hi", hi}});
  }
}

// A llama.cpp build (or any engine reporting build_missing_features) without this CPU's SIMD.
void build_features(const Runs& runs, json& out) {
  std::set<std::string> seen;
  for (const json* r : runs) {
    if (!r->contains("build_missing_features") || !(*r)["build_missing_features"].is_array()) continue;
    const std::string engine = r->value("front_end", "?");
    if (!seen.insert(engine + r->value("host", "")).second) continue;
    std::string missing, has;
    // Appended piecewise: GCC 12 warns (-Wrestrict, a false positive) on "literal" + string here.
    for (const auto& x : (*r)["build_missing_features"]) {
      if (!missing.empty()) missing += ", ";
      missing += x.get<std::string>();
    }
    if (r->contains("build_features")) {
      for (const auto& x : (*r)["build_features"]) {
        if (!has.empty()) has += ' ';
        has += x.get<std::string>();
      }
    }
    const std::string cpu = r->value("cpu_model", "this CPU");
    const std::string text =
        missing.empty()
            ? engine + "'s build uses every vector extension " + cpu + " offers (its system_info: " + has + ")"
            : engine + "'s build lacks " + missing + ", which " + cpu + " supports (its system_info lists " + has +
                  "): rebuild it with GGML_NATIVE=ON or the matching GGML_AVX* options";
    out.push_back({{"kind", "build_features"}, {"text", text}, {"engine", engine},
                   {"missing", (*r)["build_missing_features"]}});
  }
}

// CPU the process burned (cores = CPU time / wall) against the speedup it bought over the fewest
// threads: the difference is CPU spent waiting (spinning) rather than working.
void spinning(const json& s, const Runs& runs, json& out) {
  if (s["threads"].size() < 2) return;
  const int t0 = s["threads"].front(), t1 = s["threads"].back();
  std::set<std::pair<std::string, std::string>> keys;
  for (const json* r : runs) keys.insert({r->value("model_name", ""), r->value("front_end", "")});
  for (const auto& [m, e] : keys) {
    auto at = [&](int t) {
      return select(runs, [&](const json& r) {
        return r.value("model_name", "") == m && r.value("front_end", "") == e && r.value("n_threads", 0) == t &&
               r.value("cache_state", "") == "warm" && r.contains("cpu_util_pct");
      });
    };
    const Runs a = at(t0), b = at(t1);
    if (a.empty() || b.empty()) continue;
    const double tps0 = median_of(a, [](const json& r) { return num(r, "gen_tps"); });
    const double tps1 = median_of(b, [](const json& r) { return num(r, "gen_tps"); });
    if (tps0 <= 0 || tps1 <= 0) continue;
    const double cores0 = median_of(a, [](const json& r) { return num(r, "cpu_util_pct") / 100; });
    const double cores1 = median_of(b, [](const json& r) { return num(r, "cpu_util_pct") / 100; });
    const double speedup = tps1 / tps0, cost = cores0 > 0 ? cores1 / cores0 : 0;
    const double hot = median_of(b, [](const json& r) {  // threads above half a core
      double n = 0;
      if (r.contains("os_threads")) {
        for (const auto& t : r["os_threads"]) n += t.value("util", 0.0) > 0.5;
      }
      return n;
    });
    const double spin = median_of(b, [](const json& r) { return r.contains("threads") ? num(r["threads"], "spin") : -1; });
    std::string text = "On " + m + ", " + e + " at " + threads(t1) + " used " + f("%.2f", cores1) +
                       " cores over the whole process (" + f("%.0f", hot) + " threads above half a core) against " + f("%.2f", cores0) +
                       " at " + std::to_string(t0) + " for a " + f("%.2f", speedup) + "x generation speedup";
    if (cost > speedup * 1.15) {
      text += ": " + f("%.0f", 100 * (1 - speedup / cost)) + "% of the extra CPU bought nothing (threads spin or wait)";
    } else {
      text += ": the extra CPU turned into speed";
    }
    if (spin >= 0) text += "; its pool reports " + f("%.0f", 100 * spin) + "% of thread time spinning";
    out.push_back({{"kind", "thread_efficiency"}, {"text", text}, {"engine", e}, {"model", m}, {"cores", cores1},
                   {"cores_base", cores0}, {"speedup", speedup}, {"hot_threads", hot}});
  }
}

void bandwidth(const json& s, json& out) {
  if (s["threads"].empty()) return;
  const int tmax = s["threads"].back();
  for (const json& b : s["bandwidth"]) {
    if (b.value("n_threads", 0) != tmax) continue;
    const double pct = num(b, "pct_bw_limit");
    const std::string m = b["model"];
    std::string text = "Decode on " + m + " at " + threads(tmax) + " moves " + f("%.2f", b["gen_gbps"]) +
                       " GB/s, " + f("%.0f", pct) + "% of the " + f("%.1f", b["bw_limit_gbps"]) + " GB/s measured limit (" +
                       f("%.1f", num(b, "bytes_per_token") / 1e6) + " MB per token" +
                       (b.contains("expert_bytes_per_token")
                            ? ", of which " + f("%.1f", num(b, "expert_bytes_per_token") / 1e6) + " MB the selected experts'"
                            : std::string()) +
                       ")";
    text += pct >= 70 ? ": it is at the memory-bandwidth limit, more threads cannot make it faster"
                      : ": memory bandwidth is not what limits it (compute, synchronisation or per-token overhead is)";
    out.push_back({{"kind", "bandwidth"}, {"text", text}, {"model", m}, {"pct_bw_limit", pct}, {"at_limit", pct >= 70}});
  }
}

// The cold first token (load + prompt) against dd reading the same evicted file.
void cold_load(const Runs& runs, json& out) {
  std::set<std::pair<std::string, std::string>> keys;
  for (const json* r : runs) {
    // A server loaded its model before the run: the client's page cache says nothing about it.
    if (r->value("cache_state", "") == "cold" && r->contains("dd_cold_read") && !r->contains("url")) {
      keys.insert({r->value("model_name", ""), r->value("front_end", "")});
    }
  }
  for (const auto& [m, e] : keys) {
    const Runs rs = select(runs, [&](const json& r) {
      return r.value("model_name", "") == m && r.value("front_end", "") == e && r.value("cache_state", "") == "cold";
    });
    const double dd = num((*rs[0])["dd_cold_read"], "seconds");
    if (dd <= 0) continue;
    const double first = median_of(rs, [](const json& r) { return num(r, "time_load") + num(r, "time_prompt"); });
    const double mb = num(*rs[0], "file_bytes") / 1e6;
    const std::string text = "Cold, " + e + " took " + f("%.3f", first) + " s to its first token on " + m + " where dd read the evicted " +
                             f("%.0f", mb) + " MB file in " + f("%.3f", dd) + " s (" + f("%.2f", first / dd) + "x; " +
                             f("%.0f", mb / dd) + " MB/s from disk)";
    out.push_back({{"kind", "cold_load"}, {"text", text}, {"engine", e}, {"model", m}, {"first_token_s", first}, {"dd_s", dd}});
  }
}

// A Python front end over its native engine: extra inference time per generated token.
void python_overhead(const Runs& runs, json& out) {
  const std::pair<const char*, const char*> pairs[] = {{"python", "cli"}, {"llama-cpp-python", "llama.cpp"}};
  std::set<std::pair<std::string, int>> keys;
  for (const json* r : runs) keys.insert({r->value("model_name", ""), r->value("n_threads", 0)});
  for (const auto& [py, native] : pairs) {
    for (const auto& [m, t] : keys) {
      auto of = [&](const std::string& e) {
        return select(runs, [&](const json& r) {
          return r.value("model_name", "") == m && r.value("n_threads", 0) == t && r.value("front_end", "") == e &&
                 r.value("cache_state", "") == "warm";
        });
      };
      const Runs a = of(py), b = of(native);
      if (a.empty() || b.empty()) continue;
      auto per_tok = [](const json& r) {
        const double n = num(r, "comp_tokens");
        return n > 0 ? 1000 * num(r, "time_infer") / n : 0.0;
      };
      const double pa = median_of(a, per_tok), pb = median_of(b, per_tok);
      std::vector<double> va, vb;
      for (const json* r : a) va.push_back(per_tok(*r));
      for (const json* r : b) vb.push_back(per_tok(*r));
      const Interval iv = bootstrap_ratio(va, vb);
      const bool sig = iv.n >= 2 && (iv.lo > 1 || iv.hi < 1);
      const std::string text = "Python overhead on " + m + " at " + threads(t) + ": " + py + " spends " +
                               f("%.3f", pa > pb ? pa - pb : pb - pa) + " ms " + (pa > pb ? "more" : "less") +
                               " per token than " + native + (sig ? "" : " (within the noise)") + " (" + f("%.3f", pa) + " vs " +
                               f("%.3f", pb) + " ms; ratio " + f("%.3f", iv.median) + ", 95% CI " + f("%.3f", iv.lo) + "-" +
                               f("%.3f", iv.hi) + ")";
      out.push_back({{"kind", "python_overhead"}, {"text", text}, {"engine", py}, {"native", native}, {"model", m},
                     {"n_threads", t}, {"ms_per_token", pa - pb}});
    }
  }
}

// Streaming servers: time to first token and the spread of inter-token latencies.
void http_latency(const Runs& runs, json& out) {
  std::set<std::pair<std::string, std::string>> keys;
  for (const json* r : runs) {
    if (r->contains("inter_token_ms")) keys.insert({r->value("front_end", ""), r->value("model_name", "")});
  }
  for (const auto& [e, m] : keys) {
    const Runs rs = select(runs, [&](const json& r) {
      return r.value("front_end", "") == e && r.value("model_name", "") == m && r.contains("inter_token_ms");
    });
    const double ttft = median_of(rs, [](const json& r) { return 1000 * num(r, "time_to_first_token"); });
    const double p50 = median_of(rs, [](const json& r) { return num(r["inter_token_ms"], "median"); });
    const double p99 = median_of(rs, [](const json& r) { return num(r["inter_token_ms"], "p99"); });
    const double srv = median_of(rs, [](const json& r) { return r.contains("server") ? num(r["server"], "util") : -1; });
    std::string text = e + " (" + m + "): first token after " + f("%.1f", ttft) + " ms, then a token every " + f("%.2f", p50) +
                       " ms (median; p99 " + f("%.2f", p99) + " ms, medians over " + std::to_string(rs.size()) + " runs)";
    text += srv >= 0 ? "; the server used " + f("%.2f", srv) + " cores meanwhile" : "; pass --server-pid for its CPU and memory";
    out.push_back({{"kind", "http_latency"}, {"text", text}, {"engine", e}, {"model", m}, {"ttft_ms", ttft},
                   {"itl_median_ms", p50}, {"itl_p99_ms", p99}});
  }
}

// Engines that stopped before max_tokens compare unequal work.
void short_runs(const Runs& runs, json& out) {
  std::map<std::string, int> n;
  for (const json* r : runs) {
    if (num(*r, "comp_tokens") < num(*r, "max_tokens")) ++n[r->value("front_end", "?")];
  }
  for (const auto& [e, count] : n) {
    out.push_back({{"kind", "short_runs"}, {"engine", e}, {"runs", count},
                   {"text", std::to_string(count) + " run(s) of " + e +
                                " generated fewer tokens than --max-tokens (end of sequence; it cannot ignore it): "
                                "per-token figures compare, totals do not"}});
  }
}

}  // namespace

json findings(const json& s, const Runs& runs) {
  json out = json::array();
  if (s.value("n_failed", 0) > 0) {
    std::map<std::string, int> by;
    for (const json& x : s["failures"]) ++by[x.value("engine", "?")];
    std::string list;
    for (const auto& [e, c] : by) list += (list.empty() ? "" : ", ") + e + " " + std::to_string(c);
    out.push_back({{"kind", "failures"}, {"runs", s["n_failed"]},
                   {"text", std::to_string(s["n_failed"].get<int>()) + " run(s) failed (" + list + "); the first: " +
                                first_line(s["failures"][0].value("failure", "")) +
                                " (every reason is in the failures list and runs.jsonl)"}});
  }
  if (!s["disturbed"].empty()) {
    out.push_back({{"kind", "disturbed"}, {"runs", s["disturbed"].size()},
                   {"text", std::to_string(s["disturbed"].size()) + " run(s) were disturbed by the rest of the machine (" +
                                s["disturbed"][0].value("reason", "") + "): treat their figures with care"}});
  }
  engine_speed(s, runs, out);
  build_features(runs, out);
  spinning(s, runs, out);
  bandwidth(s, out);
  cold_load(runs, out);
  python_overhead(runs, out);
  http_latency(runs, out);
  short_runs(runs, out);
  return out;
}

}  // namespace lp::profile
