// `llamaprof report`: one self-contained HTML page from a profile's runs.jsonl. The page template
// (tools/report/template.html) and the plotting library (plotly.js-dist-min's plotly.min.js,
// installed by `npm ci` in tools/report) are inlined, with the data: the run records, their
// summary (summary.h) and per-token latencies read from each run's trace file.
#pragma once

#include <string>
#include <vector>

namespace lp::profile {

struct ReportAssets {
  std::string template_path;  // tools/report/template.html
  std::string plotly_path;    // tools/report/node_modules/plotly.js-dist-min/plotly.min.js
};

// Assets found under dir (a tools/report directory). Throws lp::Error(FileNotFound) naming the
// missing file and how to install it.
ReportAssets find_report_assets(const std::string& dir);

// The page for runs_path. Traces are looked up relative to the runs file's directory; a missing
// trace only leaves that run without latencies. Throws lp::Error: FileNotFound (runs file),
// InvalidFile (a bad line, or no runs).
std::string build_report(const std::string& runs_path, const ReportAssets& assets);
// Several runs files (machines or shards) merged into one page that compares them.
std::string build_report(const std::vector<std::string>& runs_paths, const ReportAssets& assets);

// Makes text safe inside an HTML <script> element: "</" and "<!--" cannot end or confuse it.
std::string script_safe(const std::string& js);

}  // namespace lp::profile
