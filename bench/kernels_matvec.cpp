// Mat-vec throughput (decode): weight bytes read per second, per weight type, ISA tier, 7B shape
// and thread count, next to the measured read bandwidth. Each iteration quantizes the activation
// row (as the forward pass does once per matmul), then splits the rows over the threads; each
// thread calls gemm with a batch of 1 over its rows (MatVecBatch: 1-8 activation rows). Weights
// cycle through 1 GiB of copies, so they come from DRAM, not cache.
//   build-kernels/bench/kernels_matvec --benchmark_filter=Q4_0
#include <chrono>
#include <chrono>
#include <string>

#include "kernels_bench_util.h"

namespace lp::bench {
namespace {

void BM_ReadBandwidth(benchmark::State& state) {
  const int threads = int(state.range(0));
  double bw = 0;
  for (auto _ : state) bw = measure_read_bandwidth(threads);
  state.counters["GB/s"] = bw / 1e9;  // best pass (see measure_read_bandwidth)
}

void BM_MatVec(benchmark::State& state, TensorType type, Isa isa) {
  const KernelTable* k = kernel_table(isa);
  if (k == nullptr) {
    state.SkipWithError("this CPU cannot run the tier");
    return;
  }
  const int64_t rows = state.range(0), cols = state.range(1);
  const int threads = int(state.range(2));
  // Activation rows per call (MatVecBatch: decode of several sequences); 1 for MatVec.
  const int64_t batch = state.range(3);
  const WeightPool& pool = weight_pool(type, rows, cols);
  const TensorType act_type = type_traits(type).vec_dot_type;
  std::vector<float> x(static_cast<size_t>(cols * batch)), y(static_cast<size_t>(rows * batch));
  for (int64_t i = 0; i < cols * batch; ++i) x[size_t(i)] = float((i * 7919) % 2001 - 1000) * 1e-3f;
  const size_t wrb = row_size(type, cols), arb = row_size(act_type, cols);
  std::vector<uint8_t> act(arb * size_t(batch));
  ThreadPool& tp = thread_pool(threads);
  int iter = 0;
  double best_s = 1e30;  // the fastest single call: robust when other processes share the cores
  double elapsed_s = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    const uint8_t* w = pool.matrix(iter++);
    for (int64_t j = 0; j < batch; ++j)
      k->quantize_row[uint32_t(act_type)](x.data() + j * cols, act.data() + size_t(j) * arb, cols);
    tp.run([&](int ith, int nth) {
      const int64_t r0 = rows * ith / nth, r1 = rows * (ith + 1) / nth;
      k->gemm[uint32_t(type)](cols, r0, r1, w, wrb, act.data(), arb, batch, y.data(), rows);
    });
    benchmark::DoNotOptimize(y.data());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best_s = s < best_s ? s : best_s;
    elapsed_s += s;
  }
  const double bytes = double(pool.matrix_bytes) * double(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
  state.counters["best_GB/s"] = double(pool.matrix_bytes) / best_s / 1e9;
  const double bw = measure_read_bandwidth(threads);
  state.counters["bw_GB/s"] = bw / 1e9;
  state.counters["pct_bw"] = 100.0 * bytes / elapsed_s / bw;
  state.counters["best_pct_bw"] = 100.0 * double(pool.matrix_bytes) / best_s / bw;
  state.counters["best_ms"] = best_s * 1e3;
}

// The compute ceiling: a 128 x 4096 matrix that stays in L2, one thread, the best call's weight
// bytes per second. A mat-vec reaches the DRAM bandwidth only if this is well above it.
// per_row_vec_dot: one vec_dot call per weight row (how the forward pass runs a single token)
// instead of one gemm call with a batch of 1 (multi-row mat-vec tiles). MatVecBatchInCache: a
// gemm call with `batch` activation rows, the arithmetic ceiling of small-batch decode.
void BM_MatVecInCache(benchmark::State& state, TensorType type, Isa isa, bool per_row_vec_dot, int64_t batch) {
  const KernelTable* k = kernel_table(isa);
  if (k == nullptr) {
    state.SkipWithError("this CPU cannot run the tier");
    return;
  }
  const int64_t rows = 128, cols = 4096;
  const size_t wrb = row_size(type, cols);
  Buffer w = alloc_bytes(wrb * size_t(rows));
  fill_random_weights(type, w.get(), wrb * size_t(rows), 3);
  const TensorType act_type = type_traits(type).vec_dot_type;
  std::vector<float> x(static_cast<size_t>(cols * batch)), y(static_cast<size_t>(rows * batch));
  for (int64_t i = 0; i < cols * batch; ++i) x[size_t(i)] = float((i * 7919) % 2001 - 1000) * 1e-3f;
  const size_t arb = row_size(act_type, cols);
  std::vector<uint8_t> act(arb * size_t(batch));
  for (int64_t j = 0; j < batch; ++j)
    k->quantize_row[uint32_t(act_type)](x.data() + j * cols, act.data() + size_t(j) * arb, cols);
  double best_s = 1e30;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    if (per_row_vec_dot) {
      const auto dot = k->vec_dot[uint32_t(type)];
      for (int64_t r = 0; r < rows; ++r) y[size_t(r)] = dot(cols, w.get() + size_t(r) * wrb, act.data());
    } else {
      k->gemm[uint32_t(type)](cols, 0, rows, w.get(), wrb, act.data(), arb, batch, y.data(), rows);
    }
    benchmark::DoNotOptimize(y.data());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best_s = s < best_s ? s : best_s;
  }
  state.counters["best_GB/s"] = double(wrb * size_t(rows)) / best_s / 1e9;
  state.counters["best_us"] = best_s * 1e6;
}

void register_all() {
  benchmark::RegisterBenchmark("ReadBandwidth_1GiB", BM_ReadBandwidth)->Arg(1)->Arg(2)->Iterations(1)->UseRealTime();
  const TensorType types[] = {TensorType::Q4_0, TensorType::Q4_K, TensorType::Q8_0, TensorType::F16,
                              TensorType::Q6_K, TensorType::Q5_K, TensorType::BF16, TensorType::Q4_1,
                              TensorType::Q5_0, TensorType::Q5_1, TensorType::Q2_K, TensorType::Q3_K,
                              TensorType::F32,  TensorType::Q4_K_R16};
  for (TensorType t : types) {
    for (Isa isa : {Isa::Avx512, Isa::Avx2, Isa::Ref}) {
      const std::string name = std::string("MatVecInCache/") + std::string(type_traits(t).name) + "/" + isa_name(isa);
      benchmark::RegisterBenchmark(name.c_str(), BM_MatVecInCache, t, isa, false, 1)->Unit(benchmark::kMicrosecond);
      if (type_traits(t).row_group > 1) continue;  // no row to take a vec_dot of
      benchmark::RegisterBenchmark((name + "/vec_dot_rows").c_str(), BM_MatVecInCache, t, isa, true, 1)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  const int64_t shapes[][2] = {{4096, 4096}, {11008, 4096}, {4096, 11008}, {32000, 4096}};
  for (TensorType t : types) {
    for (const auto& s : shapes) {
      for (Isa isa : {Isa::Avx512, Isa::Avx2, Isa::Ref}) {
        // The scalar tier is only measured on the smallest shape (it is not meant to be fast).
        if (isa == Isa::Ref && s[0] != 4096) continue;
        const std::string name = std::string("MatVec/") + std::string(type_traits(t).name) + "/" + isa_name(isa);
        auto* b = benchmark::RegisterBenchmark(name.c_str(), BM_MatVec, t, isa);
        b->ArgNames({"rows", "cols", "threads", "batch"})->UseRealTime()->Unit(benchmark::kMillisecond);
        for (int threads : {1, 2}) b->Args({s[0], s[1], threads, 1});
      }
    }
  }
  for (TensorType t : {TensorType::Q4_0, TensorType::Q4_K, TensorType::Q6_K, TensorType::Q4_K_R16}) {
    for (Isa isa : {Isa::Avx512, Isa::Avx2}) {
      for (int64_t batch : {1, 2, 4, 8}) {
        const std::string name = std::string("MatVecBatchInCache/") + std::string(type_traits(t).name) + "/" +
                                 isa_name(isa) + "/batch:" + std::to_string(batch);
        benchmark::RegisterBenchmark(name.c_str(), BM_MatVecInCache, t, isa, false, batch)
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  // Decode of several sequences at once (server slots, speculative verification) on a 7B ffn
  // shape from DRAM: bound by reading the weights, so a batch of 4 should cost little more than 1.
  for (TensorType t : {TensorType::Q4_0, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K, TensorType::Q8_0,
                       TensorType::Q4_K_R16}) {
    for (Isa isa : {Isa::Avx512, Isa::Avx2}) {
      const std::string name = std::string("MatVecBatch/") + std::string(type_traits(t).name) + "/" + isa_name(isa);
      auto* b = benchmark::RegisterBenchmark(name.c_str(), BM_MatVec, t, isa);
      b->ArgNames({"rows", "cols", "threads", "batch"})->UseRealTime()->Unit(benchmark::kMillisecond);
      for (int64_t batch : {1, 2, 4, 8}) b->Args({14336, 4096, 2, batch});
    }
  }
}

}  // namespace
}  // namespace lp::bench

int main(int argc, char** argv) {
  lp::bench::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
