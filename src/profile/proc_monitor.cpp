#include "profile/proc_monitor.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace lp::profile {
namespace fs = std::filesystem;
namespace {

double ticks_per_s() {
  static const double hz = [] {
    const long v = sysconf(_SC_CLK_TCK);
    return v > 0 ? double(v) : 100.0;
  }();
  return hz;
}

}  // namespace

double steady_now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool parse_task_stat(const std::string& line, std::string& name, long long& utime, long long& stime) {
  const size_t open = line.find('('), close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  name = line.substr(open + 1, close - open - 1);
  // After ") ": field 3 (state) onwards; utime and stime are fields 14 and 15.
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 13; ++i) {
    if (!(rest >> field)) return false;
  }
  return bool(rest >> utime >> stime);
}

void ThreadSampler::sample() {
  std::error_code ec;
  const fs::path task = fs::path("/proc") / std::to_string(pid_) / "task";
  for (fs::directory_iterator it(task, ec), end; !ec && it != end; it.increment(ec)) {
    std::ifstream f(it->path() / "stat");
    std::string line, name;
    long long ut = 0, st = 0;
    if (!std::getline(f, line) || !parse_task_stat(line, name, ut, st)) continue;  // the thread just exited
    const pid_t tid = pid_t(std::atol(it->path().filename().c_str()));
    threads_[tid] = {name, double(ut) / ticks_per_s(), double(st) / ticks_per_s()};
  }
  std::ifstream status(fs::path("/proc") / std::to_string(pid_) / "status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) peak_rss_mb_ = std::max(peak_rss_mb_, std::atof(line.c_str() + 6) / 1024.0);
  }
  double user = 0, sys = 0;
  for (const auto& [tid, t] : threads_) user += t.user_s, sys += t.sys_s;
  series_.push_back({steady_now_s(), user, sys});
  ++samples_;
}

std::pair<double, double> ThreadSampler::cpu_at(double t) const {
  if (series_.empty()) return {0, 0};
  if (t <= series_.front().t) return {series_.front().user, series_.front().sys};
  for (size_t i = 1; i < series_.size(); ++i) {
    const Point& a = series_[i - 1];
    const Point& b = series_[i];
    if (t <= b.t) {
      const double w = b.t > a.t ? (t - a.t) / (b.t - a.t) : 1.0;
      return {a.user + w * (b.user - a.user), a.sys + w * (b.sys - a.sys)};
    }
  }
  return {series_.back().user, series_.back().sys};
}

nlohmann::json ThreadSampler::cpu_between(double from_s, double to_s) const {
  const auto a = cpu_at(from_s), b = cpu_at(to_s);
  const double wall = to_s - from_s, user = b.first - a.first, sys = b.second - a.second;
  return {{"wall_s", wall}, {"user_s", user}, {"sys_s", sys}, {"util", wall > 0 ? (user + sys) / wall : 0.0},
          {"source", "/proc samples"}};
}

nlohmann::json ThreadSampler::threads_json(double wall_s) const {
  std::vector<std::pair<pid_t, Thread>> v(threads_.begin(), threads_.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second.user_s + a.second.sys_s > b.second.user_s + b.second.sys_s;
  });
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& [tid, t] : v) {
    const double cpu = t.user_s + t.sys_s;
    arr.push_back({{"tid", tid}, {"name", t.name}, {"cpu_s", cpu}, {"user_s", t.user_s}, {"sys_s", t.sys_s},
                   {"util", wall_s > 0 ? cpu / wall_s : 0.0}});
  }
  return arr;
}

MachineSample machine_sample() {
  MachineSample s;
  s.wall_s = steady_now_s();
  std::ifstream f("/proc/stat");
  std::string cpu;
  long long v[10] = {};
  if (f >> cpu && cpu == "cpu") {
    for (long long& x : v) f >> x;  // user nice system idle iowait irq softirq steal guest guest_nice
  }
  // guest time is already counted in user; the total is the first eight fields.
  for (int i = 0; i < 8; ++i) s.total += v[i];
  s.idle = v[3] + v[4];
  s.steal = v[7];
  std::ifstream la("/proc/loadavg");
  la >> s.loadavg1;
  return s;
}

nlohmann::json noise_json(const MachineSample& a, const MachineSample& b, double child_cpu_s) {
  const double hz = ticks_per_s();
  const double total = double(b.total - a.total) / hz;
  const double busy = double((b.total - b.idle) - (a.total - a.idle)) / hz;
  const double steal = double(b.steal - a.steal) / hz;
  const double wall = b.wall_s - a.wall_s;
  const double others = std::max(0.0, busy - steal - child_cpu_s);
  const double steal_pct = total > 0 ? 100.0 * steal / total : 0.0;
  const double others_cores = wall > 0 ? others / wall : 0.0;
  nlohmann::json j = {{"loadavg1_before", a.loadavg1}, {"loadavg1_after", b.loadavg1}, {"steal_pct", steal_pct},
                      {"others_cpu_s", others},        {"others_cores", others_cores}};
  std::string why;
  if (others_cores > 0.2) why = "other processes used " + std::to_string(others_cores).substr(0, 4) + " cores";
  if (steal_pct > 2.0) why += std::string(why.empty() ? "" : "; ") + "steal " + std::to_string(steal_pct).substr(0, 4) + "%";
  j["disturbed"] = !why.empty();
  if (!why.empty()) j["disturbed_reason"] = why;
  return j;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace lp::profile
