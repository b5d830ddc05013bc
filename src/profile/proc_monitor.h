// What the OS says about a running child and the rest of the machine, for engines that report
// little themselves: per-thread CPU time from /proc/PID/task/*/stat (which threads spin), the
// resident-set high-water mark (VmHWM) sampled while the process lives, and machine noise over the
// run (load average, steal time, CPU used by other processes, from /proc/loadavg and /proc/stat).
#pragma once

#include <map>
#include <string>
#include <vector>
#include <sys/types.h>

#include <nlohmann/json.hpp>

namespace lp::profile {

// Accumulates samples of one process's threads. A thread's CPU time is its last sample (threads
// that exit between samples keep the figure of the sample before).
class ThreadSampler {
 public:
  explicit ThreadSampler(pid_t pid) : pid_(pid) {}
  void sample();
  // [{tid, name, cpu_s, user_s, sys_s}] most CPU first, and the peak VmHWM (MB).
  nlohmann::json threads_json(double wall_s) const;
  double peak_rss_mb() const { return peak_rss_mb_; }
  int samples() const { return samples_; }
  // The process's user and system CPU seconds (all threads) between two instants, in seconds of
  // the steady clock (as steady_now_s()), interpolated linearly between samples: per-phase CPU
  // for engines that only say when their phases end. {"wall_s", "user_s", "sys_s", "util"}.
  nlohmann::json cpu_between(double from_s, double to_s) const;

 private:
  struct Thread {
    std::string name;
    double user_s = 0, sys_s = 0;
  };
  struct Point {
    double t, user, sys;
  };
  std::pair<double, double> cpu_at(double t) const;
  pid_t pid_;
  std::map<pid_t, Thread> threads_;
  std::vector<Point> series_;
  double peak_rss_mb_ = 0;
  int samples_ = 0;
};

// One line of /proc/PID/task/TID/stat: the name (field 2, in parentheses, may hold spaces) and
// utime / stime (fields 14, 15) in clock ticks. False when the line does not parse.
bool parse_task_stat(const std::string& line, std::string& name, long long& utime, long long& stime);

// Machine-wide CPU counters (/proc/stat "cpu" line, in clock ticks) and the load average.
struct MachineSample {
  double wall_s = 0;
  long long total = 0, idle = 0, steal = 0;
  double loadavg1 = 0;
};
MachineSample machine_sample();

// The noise of a run between two machine samples, given the child's own CPU seconds: steal %,
// CPU seconds used by everything else, and `disturbed` (with the reason) when others used more
// than a fifth of a core on average, or steal exceeded 2%.
nlohmann::json noise_json(const MachineSample& a, const MachineSample& b, double child_cpu_s);

// The steady clock in seconds (the time base of ThreadSampler's samples).
double steady_now_s();

// This machine's name (for records merged from several machines).
std::string host_name();

}  // namespace lp::profile
