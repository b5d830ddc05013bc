// Order statistics for small samples of run measurements.
#pragma once

#include <vector>

namespace lp::profile {

struct Summary {
  int n = 0;
  double median = 0, min = 0, max = 0, mean = 0;
  double stddev = 0;  // sample standard deviation (n - 1); 0 for n < 2
  double cv = 0;      // stddev / mean (coefficient of variation); 0 when the mean is 0
};

Summary summarize(std::vector<double> values);

// A median with its 95% bootstrap confidence interval (percentile method, 2000 resamples, an RNG
// with a fixed seed so that a report is the same every time it is built from the same runs).
struct Interval {
  int n = 0;
  double median = 0, lo = 0, hi = 0;
  // Half the interval's width relative to the median (0.02 = +-2%); 0 for a zero median.
  double rel_half_width() const { return median != 0 ? 0.5 * (hi - lo) / (median < 0 ? -median : median) : 0.0; }
};
Interval bootstrap_median(const std::vector<double>& values);

// The ratio of two medians a / b with its 95% interval: both samples resampled independently.
// n is the smaller sample size; an empty sample or a zero median in b gives n = 0.
Interval bootstrap_ratio(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace lp::profile
