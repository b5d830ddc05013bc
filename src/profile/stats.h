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

}  // namespace lp::profile
