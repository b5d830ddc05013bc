// Thread pool: every part (ith, nth) runs exactly once per run(), chunks are neither lost nor
// doubled, a stalled worker's later parts go to the caller, exceptions propagate, and the time
// accounting adds up to the wall time.
#include "runtime/thread_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

// 1, 2, the core count, and more threads than cores (oversubscribed).
std::vector<int> thread_counts() {
  const int cores = lp::default_thread_count();
  return {1, 2, 3, cores, cores * 2 + 1};
}

TEST(ThreadPool, DefaultSizeIsPositive) {
  EXPECT_GE(lp::default_thread_count(), 1);
  lp::ThreadPool pool(0);
  EXPECT_EQ(pool.size(), lp::default_thread_count());
}

TEST(ThreadPool, EveryPartRunsOncePerRunOverThousandsOfTinyRuns) {
  for (int n : thread_counts()) {
    lp::ThreadPool pool(n);
    std::vector<std::atomic<int>> hits(n);
    std::atomic<int> bad_nth{0};
    const int runs = n <= 2 ? 1500 : 300;
    for (int r = 0; r < runs; ++r) {
      pool.run([&](int ith, int nth) {
        if (nth != n) bad_nth.fetch_add(1);
        hits[ith].fetch_add(1);
      });
    }
    EXPECT_EQ(bad_nth.load(), 0);
    for (int i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), runs) << "threads " << n << " ith " << i;
  }
}

TEST(ThreadPool, ChunkCounterHandsOutEachChunkExactlyOnce) {
  for (int n : thread_counts()) {
    lp::ThreadPool pool(n);
    const int64_t n_chunks = 1000;
    for (int r = 0; r < 50; ++r) {
      std::vector<std::atomic<int>> taken(n_chunks);
      pool.chunk_counter().store(0);
      pool.run([&](int, int) {
        for (int64_t c; (c = pool.chunk_counter().fetch_add(1)) < n_chunks;) taken[c].fetch_add(1);
      });
      for (int64_t c = 0; c < n_chunks; ++c) ASSERT_EQ(taken[c].load(), 1) << "threads " << n << " chunk " << c;
    }
  }
}

TEST(ThreadPool, SleepingWorkersWakeUp) {
  lp::ThreadPool pool(3);
  pool.set_spin_us(0);  // sleep at once
  std::atomic<int> count{0};
  for (int r = 0; r < 200; ++r) {
    pool.run([&](int, int) { count.fetch_add(1); });
    if (r % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(count.load(), 600);
}

TEST(ThreadPool, ExceptionFromAWorkerIsRethrownAfterAllFinish) {
  lp::ThreadPool pool(3);
  std::atomic<int> finished{0};
  EXPECT_THROW(pool.run([&](int ith, int) {
    if (ith == 2) throw std::runtime_error("worker failed");
    finished.fetch_add(1);
  }),
               std::runtime_error);
  EXPECT_EQ(finished.load(), 2);
  // The pool still works afterwards.
  std::atomic<int> count{0};
  pool.run([&](int, int) { count.fetch_add(1); });
  EXPECT_EQ(count.load(), 3);
}

TEST(ThreadPool, AccountingAddsUpToWallTime) {
  lp::ThreadPool pool(2);
  pool.set_spin_us(1000);
  const auto t0 = std::chrono::steady_clock::now();
  pool.reset_times();
  for (int r = 0; r < 20; ++r) {
    pool.run([&](int ith, int) {
      // Thread 0 works 2 ms, thread 1 returns at once and waits.
      if (ith == 0) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
        while (std::chrono::steady_clock::now() < until) {
        }
      }
    });
  }
  // The idle worker spins for 1 ms, then sleeps: wait (generously, the machine may be loaded)
  // until its accounting shows sleep.
  std::vector<lp::ThreadTimes> times;
  for (int i = 0; i < 5000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    times = pool.times();
    if (times[1].sleep_s > 0.001) break;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(times.size(), 2u);
  // Worker 1 is always in some phase: its phases cover the wall time.
  const double w1 = times[1].busy_s + times[1].spin_s + times[1].sleep_s;
  EXPECT_NEAR(w1, wall, 0.2 * wall + 0.002);
  EXPECT_GT(times[1].sleep_s, 0.0);
  EXPECT_LT(times[1].busy_s, times[1].spin_s + times[1].sleep_s);
  // Worker 0 is accounted inside run() only: at least the 40 ms it worked, at most the wall time.
  EXPECT_GE(times[0].busy_s, 0.039);
  EXPECT_LE(times[0].busy_s + times[0].spin_s + times[0].sleep_s, wall * 1.05);
  pool.reset_times();
  const auto after = pool.times();
  EXPECT_LT(after[0].busy_s + after[1].busy_s + after[1].spin_s + after[1].sleep_s, 0.005);
}

// A part whose thread cannot finish it (here: the worker's part sleeps, as a descheduled thread
// would) makes the caller wait longer than its own work: the pool counts a stall and runs the next regions on the
// caller alone, each part still exactly once, until the back-off ends.
TEST(ThreadPool, StalledPartSendsLaterRegionsToTheCaller) {
  lp::ThreadPool pool(2);
  pool.set_stall_backoff_us(1'000'000, 2'000'000);  // long enough that a loaded machine stays inside it
  pool.reset_times();
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> worker_started{false};
  pool.run([&](int ith, int) {
    if (ith == 0) {
      // Keep part 1 for the worker: wait (briefly, at most 5 s on a loaded machine) until it has it.
      const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (!worker_started && std::chrono::steady_clock::now() < limit) std::this_thread::yield();
    } else {
      worker_started = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
  });
  ASSERT_TRUE(worker_started);
  EXPECT_EQ(pool.contention().stalls, 1);
  // Within the back-off every part runs on the caller.
  std::vector<int> on_caller(2, 0);
  for (int r = 0; r < 20; ++r) {
    pool.run([&](int ith, int) {
      if (std::this_thread::get_id() == caller) ++on_caller[ith];
    });
  }
  EXPECT_EQ(on_caller[0], 20);
  EXPECT_EQ(on_caller[1], 20);
  EXPECT_EQ(pool.contention().solo_regions, 20);
  // After it, the workers are used again.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  std::atomic<int> on_worker{0};
  for (int r = 0; r < 200 && on_worker == 0; ++r) {
    pool.run([&](int, int) {
      if (std::this_thread::get_id() != caller) on_worker.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    });
  }
  EXPECT_GT(on_worker.load(), 0);
}

// Balanced parts never look like a stall, however many regions run.
TEST(ThreadPool, BalancedPartsAreNotStalls) {
  lp::ThreadPool pool(2);
  pool.reset_times();
  for (int r = 0; r < 500; ++r) {
    pool.run([&](int, int) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
      while (std::chrono::steady_clock::now() < until) {
      }
    });
  }
  // A loaded test machine can deschedule a worker for real; a handful of stalls is the most that
  // can be explained by that.
  EXPECT_LE(pool.contention().stalls, 5);
  EXPECT_EQ(pool.contention().regions, 500);
}

// A worker that wakes up after its region ended must not run that region's (dangling) task.
TEST(ThreadPool, LateWorkersNeverRunAFinishedRegion) {
  lp::ThreadPool pool(3);
  pool.set_spin_us(0);  // workers sleep between regions, so they are often late
  for (int r = 0; r < 2000; ++r) {
    std::vector<std::atomic<int>> hits(3);
    const int expect_region = r;
    std::atomic<int> wrong{0};
    pool.run([&, expect_region](int ith, int) {
      if (expect_region != r) wrong.fetch_add(1);
      hits[ith].fetch_add(1);
    });
    ASSERT_EQ(wrong.load(), 0);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(hits[i].load(), 1) << "region " << r << " part " << i;
  }
}

}  // namespace
