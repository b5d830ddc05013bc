// Persistent worker threads. A parallel region run(fn) calls fn(ith, nth) once for every part ith in
// [0, nth), nth = size(), and returns when all parts are done. The caller runs part 0; the other
// parts are claimed by whichever thread gets to them first, the caller included. So a worker that
// is descheduled (another process took its CPU) before it claims a part costs nothing: its part is
// taken over instead of waited for. ith names a part, not a thread: per-part scratch indexed by ith
// stays race-free, but parts must not wait for each other (no barriers), since one thread may run
// several parts in turn.
//
// Contention: when the caller has to wait for a part that a worker claimed and then could not
// finish (its thread was descheduled mid-part: the wait is longer than all the caller's own work in
// the region), the pool runs the next regions on the caller alone for a back-off period (10 ms,
// doubling up to 0.5 s while stalls recur), then tries the workers again. On an idle machine
// no stall happens and every region runs in parallel. contention() counts both.
//
// Usage:
//   pool.run([&](int ith, int nth) { rows [ith * n / nth, (ith + 1) * n / nth) ... });
//   // dynamic chunks (mat-mul): reset the counter before run(), fetch_add inside
//   pool.chunk_counter().store(0);
//   pool.run([&](int, int) { for (int64_t c; (c = pool.chunk_counter().fetch_add(1)) < n_chunks;) ... });
//
// Idle workers spin briefly, then sleep. Each thread accounts its time as busy, spinning or
// sleeping, so the profiler can say why the CPU is busy while adding threads gains little.
//
// Not supported: nested run() (calling run() from inside fn), or run() from two threads at once.
// An exception thrown by any part is rethrown by run() once every part has finished (the first one
// wins).
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

// How often regions ran on the caller alone because a worker had stalled (see above).
struct ContentionStats {
  int64_t stalls = 0;         // regions in which the caller waited for a descheduled worker's part
  int64_t solo_regions = 0;   // regions run on the caller alone during a back-off
  int64_t regions = 0;        // all regions with more than one part
};

struct ThreadTimes {
  double busy_s = 0;   // inside a task (worker 0: inside fn only, not between run() calls)
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

  // Runs fn(ith, nth) for every part ith < nth = size() (the caller runs part 0 and any part no
  // worker has claimed yet) and returns when all parts are done.
  void run(const std::function<void(int ith, int nth)>& fn);

  // A shared counter for dynamic chunking inside one run(): reset before, fetch_add inside.
  std::atomic<int64_t>& chunk_counter() { return chunk_counter_; }

  // How long an idle thread spins before it sleeps (default 200 us): long enough to bridge the
  // gaps between the ops of one token, short enough not to burn a core between tokens.
  void set_spin_us(int spin_us) { spin_ns_.store(int64_t(spin_us) * 1000, std::memory_order_relaxed); }

  // Per-thread accounting since construction or the last reset_times(). Includes the phase each
  // thread is in right now, so it may be read at any time from the thread that owns the pool.
  std::vector<ThreadTimes> times() const;
  void reset_times();  // also clears contention()

  // Stalls and back-off since construction or the last reset_times(); owner thread only.
  ContentionStats contention() const { return contention_; }
  // The back-off after a stall starts at min_us and doubles up to max_us (default 10 ms, 0.5 s).
  void set_stall_backoff_us(int64_t min_us, int64_t max_us);

 private:
  struct Worker;
  void worker_loop(int ith);
  void run_part(int part);
  void run_claimed_parts(uint32_t tag);  // claims and runs parts of region `tag` until none is left
  void part_done();
  void wait_parts_done();
  void run_solo();
  void note_wait(int64_t own_work_ns, int64_t wait_ns, int64_t now);
  void cpu_relax(int64_t spun_ns) const;

  int n_threads_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<int64_t> chunk_counter_{0};
  std::atomic<int64_t> spin_ns_{200'000};
  bool oversubscribed_ = false;  // more threads than logical CPUs

  // Dispatch: run() publishes task_ and claim_ = (region tag << 32 | next part), then bumps
  // generation_ to wake the workers. A part is claimed by a compare-and-swap of claim_ that also
  // checks the tag, so a worker that wakes after its region ended claims nothing (and never runs a
  // stale task). parts_done_ counts finished parts; run() returns when it reaches nth.
  // Sleepers are only notified when some are sleeping.
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> claim_{0};
  std::atomic<int> parts_done_{0};
  uint32_t tag_ = 0;  // owner thread only
  std::atomic<bool> stop_{false};
  const std::function<void(int, int)>* task_ = nullptr;
  std::atomic<int> n_sleeping_{0};
  std::atomic<bool> caller_sleeping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::exception_ptr error_;  // guarded by mutex_

  // Contention back-off (owner thread only).
  int64_t backoff_min_ns_ = 10'000'000, backoff_max_ns_ = 500'000'000;
  int64_t backoff_ns_ = 10'000'000;  // the next back-off's length
  int64_t solo_until_ns_ = 0;        // regions run solo until then
  int64_t last_stall_ns_ = 0;
  ContentionStats contention_;
};

// The number of physical cores this process may run on (the default thread count).
int default_thread_count();

}  // namespace lp
