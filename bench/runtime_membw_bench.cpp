// Memory read bandwidth by thread count, with the portable (SSE2-vectorized) read loop and the AVX2
// one, over the default buffer (max(4 x LLC, 1 GiB)). The two loops agreeing shows the SSE2 figure
// is the memory's limit, not the loop's. Reported as GB/s counters; the iteration time is a full
// probe (warm-up + passes), so few iterations are run.
#include <benchmark/benchmark.h>

#include "runtime/cpu_features.h"
#include "runtime/membw.h"

namespace {

void BM_ReadBandwidth(benchmark::State& state) {
  const auto kernel = state.range(1) ? lp::ReadKernel::Avx2 : lp::ReadKernel::Sse2;
  if (kernel == lp::ReadKernel::Avx2 && !lp::cpu_features().usable_avx2()) {
    state.SkipWithError("no AVX2");
    return;
  }
  lp::MembwOptions options;
  options.thread_counts = {int(state.range(0))};
  options.repeats = 5;
  options.kernel = kernel;
  lp::MembwResult r;
  for (auto _ : state) r = lp::measure_read_bandwidth(options);
  state.counters["GBps_best"] = r.points[0].gbps_best;
  state.counters["GBps_median"] = r.points[0].gbps_median;
  state.counters["buffer_MiB"] = double(r.buffer_bytes >> 20);
  state.SetLabel(r.kernel);
}
BENCHMARK(BM_ReadBandwidth)
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->ArgNames({"threads", "avx2"})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
