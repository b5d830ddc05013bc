// Wall clock and CPU time (getrusage) at phase boundaries inside one process: the worker takes a
// sample before and after loading, at the first generated token (the end of prompt evaluation)
// and at the end, and reports each phase's user/system seconds and CPU utilization.
#pragma once

#include <nlohmann/json.hpp>

namespace lp::profile {

struct CpuSample {
  double wall_s = 0;  // steady clock, seconds since an arbitrary origin
  double user_s = 0;  // RUSAGE_SELF user time (all threads)
  double sys_s = 0;   // RUSAGE_SELF system time (all threads)
};

CpuSample sample_now();

struct PhaseCpu {
  double wall_s = 0;
  double user_s = 0;
  double sys_s = 0;
  // (user + sys) / wall: 1.0 is one core fully busy; with N threads it can reach N.
  double utilization() const { return wall_s > 0 ? (user_s + sys_s) / wall_s : 0.0; }
};

PhaseCpu phase_between(const CpuSample& a, const CpuSample& b);

// {"wall_s", "user_s", "sys_s", "util"}
nlohmann::json to_json(const PhaseCpu& p);

}  // namespace lp::profile
