#include "profile/report.h"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "llamaprof/error.h"
#include "profile/records.h"
#include "profile/summary.h"
#include "profile/worker.h"

namespace lp::profile {
namespace fs = std::filesystem;
using nlohmann::json;
namespace {

constexpr const char* kPlotlyMarker = "/*__PLOTLY__*/";
constexpr const char* kDataMarker = "/*__DATA__*/null";
constexpr int kSampleTokens = 8;      // tokens shown with their candidates
constexpr int kSampleCandidates = 6;  // candidates shown per token

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorKind::FileNotFound, "cannot open " + what + " " + path);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::vector<json> read_trace(const fs::path& path) {
  std::vector<json> steps;
  std::ifstream f(path, std::ios::binary);
  std::string line;
  while (f && std::getline(f, line)) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) steps.push_back(std::move(j));
  }
  return steps;
}

std::string utc_now_iso() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void replace_once(std::string& s, const std::string& marker, const std::string& with, const std::string& file) {
  const size_t pos = s.find(marker);
  if (pos == std::string::npos) throw Error(ErrorKind::InvalidFile, "report template " + file + " lacks the marker " + marker);
  s.replace(pos, marker.size(), with);
}

}  // namespace

std::string script_safe(const std::string& js) {
  std::string out;
  out.reserve(js.size() + 64);
  for (size_t i = 0; i < js.size(); ++i) {
    if (js[i] == '<' && i + 1 < js.size() && js[i + 1] == '/') {
      out += "<\\/";  // "<\/" is "</" inside JS strings and regexes
      ++i;
    } else if (js.compare(i, 4, "<!--") == 0) {
      out += "<\\x21--";  // "\x21" is "!" inside JS strings and regexes
      i += 3;
    } else {
      out += js[i];
    }
  }
  return out;
}

ReportAssets find_report_assets(const std::string& dir) {
  ReportAssets a;
  a.template_path = (fs::path(dir) / "template.html").string();
  a.plotly_path = (fs::path(dir) / "node_modules/plotly.js-dist-min/plotly.min.js").string();
  if (!fs::exists(a.template_path)) throw Error(ErrorKind::FileNotFound, "report template not found: " + a.template_path);
  if (!fs::exists(a.plotly_path)) {
    throw Error(ErrorKind::FileNotFound, "plotting library not found: " + a.plotly_path +
                                             " (run scripts/setup, or `npm ci` in " + dir + ")");
  }
  return a;
}

std::string build_report(const std::string& runs_path, const ReportAssets& assets) {
  return build_report(std::vector<std::string>{runs_path}, assets);
}

std::string build_report(const std::vector<std::string>& runs_paths, const ReportAssets& assets) {
  // Runs of several files (one per machine, or per shard): each keeps the directory its traces
  // are in, and runs without a host name get their file's name so machines stay apart.
  std::vector<json> runs;
  std::vector<fs::path> bases;
  std::string sources;
  for (const std::string& path : runs_paths) {
    std::vector<json> part = read_jsonl(path);
    if (part.empty()) throw Error(ErrorKind::InvalidFile, "runs file " + path + " holds no runs");
    for (json& r : part) {
      if (!r.contains("host")) r["host"] = path;
      if (runs_paths.size() > 1) r["source"] = path;
      runs.push_back(std::move(r));
      bases.push_back(fs::path(path).parent_path());
    }
    sources += (sources.empty() ? "" : ", ") + fs::path(path).filename().string();
  }
  const json summary = summarize_runs(runs);

  json sample;
  const int tmax = summary["threads"].empty() ? 0 : summary["threads"].back().get<int>();
  for (size_t ri = 0; ri < runs.size(); ++ri) {
    json& r = runs[ri];
    if (!r.contains("trace_file") || !r["trace_file"].is_string()) continue;
    const std::vector<json> steps = read_trace(bases[ri] / r["trace_file"].get<std::string>());
    // Only traces that time their tokens (llama-cpp-python's non-streaming worker does not).
    json lat = json::array();
    for (const json& s : steps) {
      if (s.contains("latency_ms")) lat.push_back(s["latency_ms"]);
    }
    if (!lat.empty()) r["latencies"] = lat;
    // The sample: the first steady-state C++ run at the most threads with a trace.
    const bool good = r.value("front_end", "") == "cli" && r.value("cache_state", "") == "warm" && r.value("n_threads", 0) == tmax;
    if (!steps.empty() && (sample.is_null() || (good && !sample.value("good", false)))) {
      json t = {{"run", r.value("run", 0)}, {"model", r.value("model_name", "")}, {"front_end", r.value("front_end", "")},
                {"good", good}, {"steps", json::array()}};
      for (size_t i = 0; i < steps.size() && i < size_t(kSampleTokens); ++i) {
        json s = steps[i];
        if (s.contains("candidates") && s["candidates"].size() > size_t(kSampleCandidates)) {
          s["candidates"] = json(std::vector<json>(s["candidates"].begin(), s["candidates"].begin() + kSampleCandidates));
        }
        t["steps"].push_back(s);
      }
      sample = t;
    }
  }

  json data = {{"generated_at", utc_now_iso()}, {"source", sources},
               {"summary", summary}, {"runs", runs}, {"sample_trace", sample}};
  std::string page = read_file(assets.template_path, "report template");
  const std::string plotly = read_file(assets.plotly_path, "plotting library");
  // Data first: the library's text must not be searched for the data marker.
  replace_once(page, kDataMarker, script_safe(dump_json_line(data)), assets.template_path);
  replace_once(page, kPlotlyMarker, script_safe(plotly), assets.template_path);
  return page;
}

}  // namespace lp::profile
