// `llamaprof report RUNS.jsonl -o report.html`: one self-contained HTML page with plots (cold vs
// warm, thread scaling, per-token latency, front ends, bandwidth, thread time) from a profile's
// runs. See src/profile/report.h.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "commands.h"
#include "llamaprof/error.h"
#include "profile/report.h"

namespace lp::cli {
namespace {

struct ReportCli {
  std::vector<std::string> runs;
  std::string out = "report.html";
  std::string assets;
};

// tools/report of the source tree this binary was built from (this file is tools/cli/cmd_report.cpp),
// unless $LLAMAPROF_REPORT_DIR or --assets says otherwise.
std::string default_assets_dir() {
  if (const char* d = std::getenv("LLAMAPROF_REPORT_DIR"); d && *d) return d;
  return (std::filesystem::path(__FILE__).parent_path().parent_path() / "report").string();
}

}  // namespace

void register_report(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ReportCli>();
  auto* cmd = app.add_subcommand("report", "write one self-contained HTML page with plots from a profile's runs.jsonl files");
  cmd->add_option("runs", o->runs,
                  "runs.jsonl written by `llamaprof profile --out DIR`; several (one per machine or shard) are merged")
      ->required();
  cmd->add_option("-o,--output", o->out, "HTML file to write")->capture_default_str();
  cmd->add_option("--assets", o->assets, "directory with template.html and node_modules/ (default: tools/report)");
  cmd->callback([o, exit_code] {
    const profile::ReportAssets assets = profile::find_report_assets(o->assets.empty() ? default_assets_dir() : o->assets);
    const std::string page = profile::build_report(o->runs, assets);
    std::ofstream f(o->out, std::ios::binary | std::ios::trunc);
    if (!f || !f.write(page.data(), std::streamsize(page.size()))) {
      throw Error(ErrorKind::InvalidArgument, "cannot write report " + o->out);
    }
    std::printf("report written to %s (%.1f MB, self-contained)\n", o->out.c_str(), double(page.size()) / 1e6);
    *exit_code = 0;
  });
}

}  // namespace lp::cli
