#include "profile/stats.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace lp::profile {
namespace {

constexpr int kResamples = 2000;
constexpr uint64_t kSeed = 0x6c6c616d6170726fULL;  // fixed: reproducible reports

double median_sorted(std::vector<double>& v) {
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : 0.5 * (v[mid - 1] + v[mid]);
}

double resampled_median(const std::vector<double>& v, std::mt19937_64& rng, std::vector<double>& scratch) {
  std::uniform_int_distribution<size_t> pick(0, v.size() - 1);
  scratch.resize(v.size());
  for (double& x : scratch) x = v[pick(rng)];
  return median_sorted(scratch);
}

Interval percentile_interval(std::vector<double>& stats, int n, double point) {
  std::sort(stats.begin(), stats.end());
  Interval iv;
  iv.n = n;
  iv.median = point;
  iv.lo = stats[size_t(0.025 * double(stats.size() - 1))];
  iv.hi = stats[size_t(0.975 * double(stats.size() - 1) + 0.5)];
  return iv;
}

}  // namespace

Interval bootstrap_median(const std::vector<double>& values) {
  Interval iv;
  if (values.empty()) return iv;
  std::vector<double> v = values, scratch;
  const double point = median_sorted(v);
  if (v.size() == 1) return {1, point, point, point};
  std::mt19937_64 rng(kSeed);
  std::vector<double> stats(kResamples);
  for (double& s : stats) s = resampled_median(v, rng, scratch);
  return percentile_interval(stats, int(v.size()), point);
}

Interval bootstrap_ratio(const std::vector<double>& a, const std::vector<double>& b) {
  Interval iv;
  if (a.empty() || b.empty()) return iv;
  std::vector<double> va = a, vb = b, scratch;
  const double ma = median_sorted(va), mb = median_sorted(vb);
  if (mb == 0) return iv;
  const int n = int(std::min(a.size(), b.size()));
  if (a.size() == 1 && b.size() == 1) return {1, ma / mb, ma / mb, ma / mb};
  std::mt19937_64 rng(kSeed);
  std::vector<double> stats;
  stats.reserve(kResamples);
  for (int i = 0; i < kResamples; ++i) {
    const double rb = resampled_median(vb, rng, scratch);
    const double ra = resampled_median(va, rng, scratch);
    stats.push_back(rb != 0 ? ra / rb : 0.0);
  }
  return percentile_interval(stats, n, ma / mb);
}

Summary summarize(std::vector<double> v) {
  Summary s;
  s.n = int(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  const size_t mid = v.size() / 2;
  s.median = v.size() % 2 ? v[mid] : 0.5 * (v[mid - 1] + v[mid]);
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / double(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.stddev = std::sqrt(ss / double(v.size() - 1));
  }
  s.cv = s.mean != 0 ? s.stddev / std::fabs(s.mean) : 0;
  return s;
}

}  // namespace lp::profile
