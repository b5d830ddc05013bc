// Thread pool dispatch overhead: the cost of run() for a task that does nothing (the floor under
// every parallel op of the forward pass), and of handing out chunks.
#include <benchmark/benchmark.h>

#include <atomic>

#include "runtime/thread_pool.h"

namespace {

void BM_RunEmptyTask(benchmark::State& state) {
  lp::ThreadPool pool(int(state.range(0)));
  std::atomic<int> sink{0};
  for (auto _ : state) {
    pool.run([&](int ith, int) { if (ith < 0) sink.fetch_add(1); });
  }
  state.counters["threads"] = double(pool.size());
}
BENCHMARK(BM_RunEmptyTask)->Arg(1)->Arg(2)->Arg(3)->Arg(4)->UseRealTime();

// The same after the workers fell asleep: the wake-up latency a token pays after a long pause.
void BM_RunAfterSleep(benchmark::State& state) {
  lp::ThreadPool pool(int(state.range(0)));
  pool.set_spin_us(0);
  for (auto _ : state) {
    pool.run([](int, int) {});
  }
}
BENCHMARK(BM_RunAfterSleep)->Arg(2)->UseRealTime();

void BM_ChunkCounter(benchmark::State& state) {
  lp::ThreadPool pool(int(state.range(0)));
  constexpr int64_t kChunks = 4096;
  std::atomic<int64_t> sink{0};
  for (auto _ : state) {
    pool.chunk_counter().store(0);
    pool.run([&](int, int) {
      int64_t mine = 0;
      while (pool.chunk_counter().fetch_add(1) < kChunks) ++mine;
      sink.fetch_add(mine, std::memory_order_relaxed);
    });
  }
  state.SetItemsProcessed(state.iterations() * kChunks);
}
BENCHMARK(BM_ChunkCounter)->Arg(1)->Arg(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
