#include "profile/phase_clock.h"

#include <sys/resource.h>

#include <chrono>

namespace lp::profile {
namespace {

double seconds(const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) * 1e-6; }

}  // namespace

CpuSample sample_now() {
  CpuSample s;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  s.user_s = seconds(ru.ru_utime);
  s.sys_s = seconds(ru.ru_stime);
  s.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  return s;
}

PhaseCpu phase_between(const CpuSample& a, const CpuSample& b) {
  return {b.wall_s - a.wall_s, b.user_s - a.user_s, b.sys_s - a.sys_s};
}

nlohmann::json to_json(const PhaseCpu& p) {
  return {{"wall_s", p.wall_s}, {"user_s", p.user_s}, {"sys_s", p.sys_s}, {"util", p.utilization()}};
}

}  // namespace lp::profile
