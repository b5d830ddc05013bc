// Persistent worker threads. The caller is worker 0; a parallel region runs fn(ith, nth) on every
// worker and returns when all are done. Idle workers spin briefly, then sleep.
// Each thread accounts its time as busy, spinning or sleeping, so the profiler can say why the CPU
// is busy while adding threads gains little.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lp {

struct ThreadTimes {
  double busy_s = 0;   // inside a task
  double spin_s = 0;   // waiting, spinning
  double sleep_s = 0;  // waiting, blocked on the condition variable
};

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads <= 0: default_thread_count()
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(ith, nth) on all workers (the caller as ith 0) and waits for all of them.
  void run(const std::function<void(int ith, int nth)>& fn);

  // A shared counter for dynamic chunking inside one run(): reset before, fetch_add inside.
  std::atomic<int64_t>& chunk_counter() { return chunk_counter_; }

  // Per-thread accounting since construction or the last reset_times().
  std::vector<ThreadTimes> times() const;
  void reset_times();

 private:
  struct Worker;
  void worker_loop(int ith);

  int n_threads_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<int64_t> chunk_counter_{0};
  // The remaining members are the implementation's (generation counter, pending count, etc.).
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int, int)>* task_ = nullptr;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
};

// The number of physical cores (the default thread count).
int default_thread_count();

}  // namespace lp
