// Thread pool: generation-counter dispatch, spin-then-sleep waits, per-thread phase accounting.
#include "runtime/thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "llamaprof/error.h"

namespace lp {

namespace {

enum Phase : int { kBusy = 0, kSpin = 1, kSleep = 2, kIdle = 3 };  // kIdle: not accounted

int64_t now_ns() {
  // steady_clock is clock_gettime(CLOCK_MONOTONIC) through the vDSO: ~20 ns, read only at phase
  // boundaries (a few times per run()), never inside a task.
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline void pause_instruction() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();  // tells the core this is a spin-wait: saves power, frees the sibling hyperthread
#endif
}

// Pauses between clock reads while spinning: a pause is ~10-140 cycles depending on the core.
constexpr int kSpinsPerClockRead = 32;

// How long a wait spins on pause alone before it starts yielding.
constexpr int64_t kPauseOnlyNs = 20'000;

// The worker index of the current thread inside a run() (for barrier() accounting).
thread_local int tls_ith = -1;

}  // namespace

struct alignas(64) ThreadPool::Worker {
  // Written by the owning thread, read by times() from the pool's owner.
  std::atomic<int64_t> phase_ns[3] = {0, 0, 0};
  std::atomic<int> phase{kIdle};
  std::atomic<int64_t> phase_start{0};
  int64_t baseline_ns[3] = {0, 0, 0};  // owner thread only (reset_times / times)

  // Closes the current phase and opens `next`; returns the time read.
  int64_t enter(int next) {
    const int64_t t = now_ns();
    const int cur = phase.load(std::memory_order_relaxed);
    if (cur != kIdle) {
      phase_ns[cur].fetch_add(t - phase_start.load(std::memory_order_relaxed), std::memory_order_relaxed);
    }
    phase_start.store(t, std::memory_order_relaxed);
    phase.store(next, std::memory_order_relaxed);
    return t;
  }

  // Totals including the open phase. A read racing with enter() may count a few ns twice.
  void snapshot(int64_t out[3]) const {
    const int cur = phase.load(std::memory_order_relaxed);
    const int64_t start = phase_start.load(std::memory_order_relaxed);
    for (int p = 0; p < 3; ++p) out[p] = phase_ns[p].load(std::memory_order_relaxed);
    if (cur != kIdle) out[cur] += now_ns() - start;
  }
};

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads > 0 ? n_threads : default_thread_count()) {
  oversubscribed_ = n_threads_ > int(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n_threads_; ++i) workers_.push_back(std::make_unique<Worker>());
  threads_.reserve(n_threads_ - 1);
  for (int i = 1; i < n_threads_; ++i) threads_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  for (auto& t : threads_) t.join();
}

// One step of a spin-wait that has lasted spun_ns so far. The first kPauseOnlyNs only pause (the
// awaited thread is almost always running on another core); after that, or always with more threads
// than CPUs, the step yields, so that a waiter never holds the CPU a descheduled thread needs (a
// loaded machine, ctest -j). A yield with nothing else runnable returns in well under a microsecond.
void ThreadPool::cpu_relax(int64_t spun_ns) const {
  if (oversubscribed_ || spun_ns > kPauseOnlyNs) {
    std::this_thread::yield();
  } else {
    pause_instruction();
  }
}

void ThreadPool::run_task(int ith) {
  tls_ith = ith;
  try {
    (*task_)(ith, n_threads_);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::run(const std::function<void(int ith, int nth)>& fn) {
  Worker& self = *workers_[0];
  task_ = &fn;
  if (n_threads_ > 1) {
    pending_.store(n_threads_ - 1, std::memory_order_relaxed);
    // seq_cst: publishes task_/pending_ (release) and orders against the n_sleeping_ load below;
    // a worker increments n_sleeping_ before re-checking generation_, so one side sees the other.
    generation_.fetch_add(1);
    if (n_sleeping_.load() > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
  }
  self.enter(kBusy);
  run_task(0);
  if (n_threads_ > 1) {
    self.enter(kSpin);
    wait_workers_done();
  }
  self.enter(kIdle);
  tls_ith = -1;
  task_ = nullptr;
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::swap(error, error_);
  }
  if (error) std::rethrow_exception(error);
}

void ThreadPool::wait_workers_done() {
  Worker& self = *workers_[0];
  const int64_t spin_ns = spin_ns_.load(std::memory_order_relaxed);
  const int64_t start = now_ns();
  int64_t spun = 0;
  for (int i = 0;; ++i) {
    if (pending_.load(std::memory_order_acquire) == 0) return;
    cpu_relax(spun);
    if (i % kSpinsPerClockRead == kSpinsPerClockRead - 1 && (spun = now_ns() - start) > spin_ns) break;
  }
  self.enter(kSleep);
  std::unique_lock<std::mutex> lock(mutex_);
  caller_sleeping_.store(true);  // seq_cst, before the predicate's pending_ load
  done_.wait(lock, [this] { return pending_.load() == 0; });
  caller_sleeping_.store(false);
}

void ThreadPool::worker_loop(int ith) {
  Worker& self = *workers_[ith];
  uint64_t seen = 0;
  int64_t spin_start = self.enter(kSpin);
  for (;;) {
    // Wait for a new generation: spin for spin_ns, then sleep.
    if (generation_.load(std::memory_order_acquire) == seen) {
      const int64_t spin_ns = spin_ns_.load(std::memory_order_relaxed);
      bool changed = false;
      int64_t spun = 0;
      for (int i = 0;; ++i) {
        if (generation_.load(std::memory_order_acquire) != seen) {
          changed = true;
          break;
        }
        cpu_relax(spun);
        if (i % kSpinsPerClockRead == kSpinsPerClockRead - 1 && (spun = now_ns() - spin_start) > spin_ns) break;
      }
      if (!changed) {
        self.enter(kSleep);
        std::unique_lock<std::mutex> lock(mutex_);
        n_sleeping_.fetch_add(1);  // seq_cst, before the predicate's generation_ load
        wake_.wait(lock, [&] { return generation_.load() != seen; });
        n_sleeping_.fetch_sub(1);
      }
    }
    if (stop_.load()) break;
    seen = generation_.load(std::memory_order_acquire);
    self.enter(kBusy);
    run_task(ith);
    tls_ith = -1;
    spin_start = self.enter(kSpin);
    if (pending_.fetch_sub(1) == 1 && caller_sleeping_.load()) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
  self.enter(kIdle);
}

void ThreadPool::barrier() {
  if (n_threads_ == 1) return;
  if (tls_ith < 0 || tls_ith >= n_threads_) {
    // Not inside this pool's run(): nobody else would arrive, so this would hang forever.
    throw Error(ErrorKind::Runtime, "ThreadPool::barrier() called outside run()");
  }
  Worker& self = *workers_[tls_ith];
  const int64_t start = self.enter(kSpin);
  const uint32_t sense = barrier_sense_.load(std::memory_order_acquire);
  if (barrier_count_.fetch_add(1, std::memory_order_acq_rel) == n_threads_ - 1) {
    // Last to arrive: reset for the next barrier, then release the others.
    barrier_count_.store(0, std::memory_order_relaxed);
    barrier_sense_.store(sense + 1, std::memory_order_release);
  } else {
    // A barrier never sleeps (regions are short); past kPauseOnlyNs it yields.
    int64_t spun = 0;
    for (int i = 0; barrier_sense_.load(std::memory_order_acquire) == sense; ++i) {
      cpu_relax(spun);
      if (i % kSpinsPerClockRead == kSpinsPerClockRead - 1) spun = now_ns() - start;
    }
  }
  self.enter(kBusy);
}

std::vector<ThreadTimes> ThreadPool::times() const {
  std::vector<ThreadTimes> out(n_threads_);
  for (int i = 0; i < n_threads_; ++i) {
    int64_t ns[3];
    workers_[i]->snapshot(ns);
    out[i].busy_s = double(ns[kBusy] - workers_[i]->baseline_ns[kBusy]) * 1e-9;
    out[i].spin_s = double(ns[kSpin] - workers_[i]->baseline_ns[kSpin]) * 1e-9;
    out[i].sleep_s = double(ns[kSleep] - workers_[i]->baseline_ns[kSleep]) * 1e-9;
  }
  return out;
}

void ThreadPool::reset_times() {
  for (auto& w : workers_) w->snapshot(w->baseline_ns);
}

}  // namespace lp
