// Persistent worker threads. The caller is worker 0; a parallel region runs fn(ith, nth) on every
// worker and returns when all are done. Idle workers spin briefly, then sleep.
// Each thread accounts its time as busy, spinning or sleeping, so the profiler can say why the CPU
// is busy while adding threads gains little.
//
// Usage:
//   pool.run([&](int ith, int nth) { rows [ith * n / nth, (ith + 1) * n / nth) ... });
//   // dynamic chunks (mat-mul): reset the counter before run(), fetch_add inside
//   pool.chunk_counter().store(0);
//   pool.run([&](int, int) { for (int64_t c; (c = pool.chunk_counter().fetch_add(1)) < n_chunks;) ... });
//   // fused region: all nth threads must call barrier() the same number of times
//   pool.run([&](int ith, int nth) { step_a(ith, nth); pool.barrier(); step_b(ith, nth); });
//
// Not supported: nested run() (calling run() from inside fn), or run() from two threads at once.
// An exception thrown by fn on any thread is rethrown by run() once every thread has finished
// (the first one wins); if fn may throw after a barrier(), every thread must still reach it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace lp {

struct ThreadTimes {
  double busy_s = 0;   // inside a task (worker 0: inside fn only, not between run() calls)
  double spin_s = 0;   // waiting, spinning (including barrier() waits)
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

  // Inside run(): blocks until all nth threads of the region have called it (then all continue).
  // Spins with a pause instruction, then yields the CPU (never sleeps); counted as spin time.
  void barrier();

  // How long an idle thread spins before it sleeps (default 200 us): long enough to bridge the
  // gaps between the ops of one token, short enough not to burn a core between tokens.
  void set_spin_us(int spin_us) { spin_ns_.store(int64_t(spin_us) * 1000, std::memory_order_relaxed); }

  // Per-thread accounting since construction or the last reset_times(). Includes the phase each
  // thread is in right now, so it may be read at any time from the thread that owns the pool.
  std::vector<ThreadTimes> times() const;
  void reset_times();

 private:
  struct Worker;
  void worker_loop(int ith);
  void run_task(int ith);
  void wait_workers_done();
  void cpu_relax(int64_t spun_ns) const;

  int n_threads_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<int64_t> chunk_counter_{0};
  std::atomic<int64_t> spin_ns_{200'000};
  bool oversubscribed_ = false;  // more threads than logical CPUs

  // Dispatch: run() publishes task_, then bumps generation_; each worker runs the task once per
  // generation and decrements pending_. Sleepers are only notified when some are sleeping.
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int, int)>* task_ = nullptr;
  std::atomic<int> n_sleeping_{0};
  std::atomic<bool> caller_sleeping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::exception_ptr error_;  // guarded by mutex_

  // Sense-reversing barrier.
  std::atomic<int> barrier_count_{0};
  std::atomic<uint32_t> barrier_sense_{0};
};

// The number of physical cores this process may run on (the default thread count).
int default_thread_count();

}  // namespace lp
