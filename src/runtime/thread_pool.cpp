// Thread pool: parts claimed by compare-and-swap, spin-then-sleep waits, contention back-off,
// per-thread phase accounting.
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

void ThreadPool::run_part(int part) {
  try {
    (*task_)(part, n_threads_);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::part_done() {
  // seq_cst: releases the part's writes to the caller's acquire of the final count, and orders
  // against the caller_sleeping_ load (the caller sets it before re-checking parts_done_).
  if (parts_done_.fetch_add(1) + 1 == n_threads_ && caller_sleeping_.load()) {
    std::lock_guard<std::mutex> lock(mutex_);
    done_.notify_one();
  }
}

void ThreadPool::run_claimed_parts(uint32_t tag) {
  for (;;) {
    uint64_t word = claim_.load(std::memory_order_acquire);
    for (;;) {
      if (uint32_t(word >> 32) != tag || int(uint32_t(word)) >= n_threads_) return;
      if (claim_.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel, std::memory_order_acquire)) break;
    }
    // The region cannot end before this part is done, so task_ is still this region's.
    run_part(int(uint32_t(word)));
    part_done();
  }
}

void ThreadPool::set_stall_backoff_us(int64_t min_us, int64_t max_us) {
  backoff_min_ns_ = backoff_ns_ = std::max<int64_t>(0, min_us) * 1000;
  backoff_max_ns_ = std::max(backoff_min_ns_, max_us * 1000);
}

// Parts run one after another on the caller: no other thread can stall the region.
void ThreadPool::run_solo() {
  for (int part = 0; part < n_threads_; ++part) run_part(part);
}

void ThreadPool::run(const std::function<void(int ith, int nth)>& fn) {
  Worker& self = *workers_[0];
  task_ = &fn;
  const int64_t start = self.enter(kBusy);
  if (n_threads_ > 1) ++contention_.regions;
  if (n_threads_ == 1) {
    run_part(0);
  } else if (start < solo_until_ns_) {
    ++contention_.solo_regions;
    run_solo();
  } else {
    const uint32_t tag = ++tag_;
    parts_done_.store(0, std::memory_order_relaxed);
    // Part 0 is the caller's: workers may claim from part 1 on.
    claim_.store(uint64_t(tag) << 32 | 1u, std::memory_order_release);
    // seq_cst: publishes task_/claim_ (release) and orders against the n_sleeping_ load below;
    // a worker increments n_sleeping_ before re-checking generation_, so one side sees the other.
    generation_.fetch_add(1);
    if (n_sleeping_.load() > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    run_part(0);
    part_done();
    run_claimed_parts(tag);
    if (parts_done_.load(std::memory_order_acquire) != n_threads_) {
      const int64_t waiting = self.enter(kSpin);
      wait_parts_done();
      note_wait(waiting - start, self.enter(kBusy) - waiting, waiting);
    }
  }
  self.enter(kIdle);
  task_ = nullptr;
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::swap(error, error_);
  }
  if (error) std::rethrow_exception(error);
}

// Every part was claimed and the caller is waiting for a worker's. Waiting longer than the caller's
// own work in the region means that worker's thread lost its CPU mid-part: back off.
void ThreadPool::note_wait(int64_t own_work_ns, int64_t wait_ns, int64_t now) {
  constexpr int64_t kMinStallNs = 300'000;  // shorter waits are wake-up latency and uneven parts
  if (wait_ns < std::max(kMinStallNs, own_work_ns)) {
    // A second without stalls: the next back-off starts short again.
    if (now - last_stall_ns_ > 1'000'000'000) backoff_ns_ = backoff_min_ns_;
    return;
  }
  ++contention_.stalls;
  last_stall_ns_ = now;
  solo_until_ns_ = now + wait_ns + backoff_ns_;
  backoff_ns_ = std::min(backoff_max_ns_, backoff_ns_ * 2);
}

void ThreadPool::wait_parts_done() {
  Worker& self = *workers_[0];
  const int64_t spin_ns = spin_ns_.load(std::memory_order_relaxed);
  const int64_t start = now_ns();
  int64_t spun = 0;
  for (int i = 0;; ++i) {
    if (parts_done_.load(std::memory_order_acquire) == n_threads_) return;
    cpu_relax(spun);
    if (i % kSpinsPerClockRead == kSpinsPerClockRead - 1 && (spun = now_ns() - start) > spin_ns) break;
  }
  self.enter(kSleep);
  std::unique_lock<std::mutex> lock(mutex_);
  caller_sleeping_.store(true);  // seq_cst, before the predicate's parts_done_ load
  done_.wait(lock, [this] { return parts_done_.load() == n_threads_; });
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
    // The newest region's tag; if that region is already over, the claim fails and nothing runs.
    const uint32_t tag = uint32_t(claim_.load(std::memory_order_acquire) >> 32);
    self.enter(kBusy);
    run_claimed_parts(tag);
    spin_start = self.enter(kSpin);
  }
  self.enter(kIdle);
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
  contention_ = {};
}

}  // namespace lp
