// The server's continuous batching: greedy outputs of requests batched together (decode rows and
// prompt chunks of other slots in the same forward pass) are identical to generate() on a context
// of their own; prefix reuse, cancellation, the queue limit and shutdown.
#include <gtest/gtest.h>

#include <thread>

#include "llamaprof/context.h"
#include "llamaprof/generate.h"
#include "model_test_util.h"
#include "server/api_error.h"
#include "server/scheduler.h"

namespace lp::server {
namespace {

using namespace std::chrono_literals;

const Model& model_of(TensorType type) {
  static std::map<TensorType, Model> models;
  auto it = models.find(type);
  if (it == models.end()) {
    test::TinyModelSpec spec;
    spec.matrix_type = type;
    const std::string path = test::temp_path(std::string("server_sched_") + std::to_string(int(type)) + ".gguf");
    it = models.emplace(type, Model::load(test::write_tiny_model(path, spec))).first;
  }
  return it->second;
}

GenRequest greedy(std::vector<TokenId> prompt, int max_tokens) {
  GenRequest r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0;
  r.sampling.repeat_penalty = 1;
  return r;
}

struct Outcome {
  std::vector<TokenId> tokens;
  std::string text, finish;
  int cached = 0;
};

Outcome collect(Job& job) {
  Outcome o;
  size_t cursor = 0;
  for (int i = 0; i < 600; ++i) {  // at most a minute
    Job::Snapshot s = job.wait(&cursor, 100ms);
    for (const TokenOut& t : s.tokens) o.tokens.push_back(t.id), o.text += t.piece;
    if (s.done) {
      o.text += s.tail;
      o.finish = s.finish_reason;
      o.cached = s.cached_tokens;
      return o;
    }
  }
  ADD_FAILURE() << "job did not finish";
  return o;
}

std::vector<std::vector<TokenId>> prompts(const Model& m) {
  std::vector<std::vector<TokenId>> p;
  std::mt19937 rng(3);
  for (int len : {1, 3, 9, 17, 30, 5}) {
    std::vector<TokenId> ids = {m.bos()};
    for (int i = 1; i < len; ++i) ids.push_back(TokenId(3 + rng() % uint32_t(m.n_vocab() - 3)));
    p.push_back(ids);
  }
  return p;
}

class BatchedGreedy : public ::testing::TestWithParam<TensorType> {};

TEST_P(BatchedGreedy, MatchesSingleRequests) {
  const Model& m = model_of(GetParam());
  const auto ps = prompts(m);
  const int max_tokens = 12;
  std::vector<std::vector<TokenId>> expected;
  for (const auto& p : ps) {
    Context ctx(m, {.n_ctx = 64, .n_batch = 64, .n_threads = 2});
    GenerateParams gp;
    gp.max_tokens = max_tokens;
    gp.sampler.temperature = 0;
    gp.sampler.repeat_penalty = 1;
    expected.push_back(generate(ctx, std::span<const TokenId>(p), gp).tokens);
  }
  Metrics metrics;
  // 3 slots for 6 requests and a batch of 8 rows: prompts are read in chunks while others decode.
  Scheduler sched(m, {.n_slots = 3, .n_ctx = 64, .n_batch = 8, .n_threads = 2, .max_queue = 8}, metrics);
  std::vector<std::shared_ptr<Job>> jobs;
  for (const auto& p : ps) jobs.push_back(sched.submit(greedy(p, max_tokens)));
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Outcome o = collect(*jobs[i]);
    EXPECT_EQ(o.tokens, expected[i]) << "prompt " << i;
  }
  EXPECT_EQ(sched.state().busy, 0);
  EXPECT_EQ(sched.state().queued, 0);
}

INSTANTIATE_TEST_SUITE_P(Types, BatchedGreedy, ::testing::Values(TensorType::F32, TensorType::Q8_0, TensorType::Q4_0),
                         [](const auto& info) { return std::string(type_traits(info.param).name); });

TEST(ServerScheduler, ReusesTheLongestCachedPrefix) {
  const Model& m = model_of(TensorType::F32);
  const auto ps = prompts(m);
  Metrics metrics;
  Scheduler sched(m, {.n_slots = 2, .n_ctx = 64, .n_batch = 16, .n_threads = 1, .max_queue = 4}, metrics);
  const Outcome first = collect(*sched.submit(greedy(ps[4], 4)));
  EXPECT_EQ(first.cached, 0);
  // The same prompt again: everything but its last token comes from the cache, same output.
  const Outcome again = collect(*sched.submit(greedy(ps[4], 4)));
  EXPECT_EQ(again.cached, int(ps[4].size()) - 1);
  EXPECT_EQ(again.tokens, first.tokens);
  // A prompt extending the first one's prompt and output reuses all of that.
  std::vector<TokenId> longer = ps[4];
  longer.insert(longer.end(), first.tokens.begin(), first.tokens.end() - 1);  // the last token was never evaluated
  longer.push_back(7);
  const Outcome ext = collect(*sched.submit(greedy(longer, 3)));
  EXPECT_EQ(ext.cached, int(longer.size()) - 1);
}

TEST(ServerScheduler, CancelFreesTheSlot) {
  const Model& m = model_of(TensorType::F32);
  Metrics metrics;
  // A long context, so that the first request is still generating while the others are submitted.
  Scheduler sched(m, {.n_slots = 1, .n_ctx = 1 << 15, .n_batch = 16, .n_threads = 1, .max_queue = 1}, metrics);
  GenRequest long_req = greedy({m.bos(), 5, 6}, 0);  // until the context is full
  long_req.ignore_eos = true;
  auto a = sched.submit(long_req);
  size_t cursor = 0;
  while (a->wait(&cursor, 100ms).tokens.empty()) {
  }
  auto b = sched.submit(long_req);  // waits in the queue
  // The slot is busy and the queue holds one: the next is refused with a 503.
  try {
    sched.submit(long_req);
    ADD_FAILURE() << "queue limit not enforced";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 503);
    EXPECT_EQ(e.code(), "queue_full");
  }
  b->cancel = true;  // cancelled while waiting: it never takes the slot
  a->cancel = true;
  EXPECT_EQ(collect(*a).finish, "cancelled");
  EXPECT_EQ(collect(*b).finish, "cancelled");
  const Outcome c = collect(*sched.submit(greedy({m.bos(), 5}, 2)));
  EXPECT_EQ(c.tokens.size(), 2u);
  EXPECT_EQ(c.finish, "length");
  EXPECT_EQ(sched.state().busy, 0);
}

TEST(ServerScheduler, ShutdownEndsEveryJob) {
  const Model& m = model_of(TensorType::F32);
  Metrics metrics;
  Scheduler sched(m, {.n_slots = 1, .n_ctx = 1 << 15, .n_batch = 16, .n_threads = 1, .max_queue = 2}, metrics);
  GenRequest long_req = greedy({m.bos(), 5, 6}, 0);
  long_req.ignore_eos = true;
  auto a = sched.submit(long_req);
  auto b = sched.submit(long_req);
  sched.shutdown(0ms);
  EXPECT_EQ(collect(*a).finish, "cancelled");
  EXPECT_EQ(collect(*b).finish, "cancelled");
  EXPECT_THROW(sched.submit(long_req), ApiError);
}

TEST(ServerScheduler, StopStringsAndLength) {
  const Model& m = model_of(TensorType::F32);
  Metrics metrics;
  Scheduler sched(m, {.n_slots = 2, .n_ctx = 16, .n_batch = 8, .n_threads = 1, .max_queue = 2}, metrics);
  GenRequest r = greedy({m.bos(), 5, 6}, 0);
  r.ignore_eos = true;
  const Outcome full = collect(*sched.submit(r));
  EXPECT_EQ(full.finish, "length");  // the 16-token context filled up
  EXPECT_EQ(full.tokens.size(), 16u - 3u + 1u);  // the last one is never evaluated
  ASSERT_GE(full.text.size(), 4u);
  r.stop = {full.text.substr(2, 2)};
  const Outcome cut = collect(*sched.submit(r));
  EXPECT_EQ(cut.finish, "stop");
  EXPECT_EQ(cut.text, full.text.substr(0, full.text.find(r.stop[0])));
  const std::string metrics_text = metrics.render();
  EXPECT_NE(metrics_text.find("llamaprof_requests_finished_total{reason=\"stop\"} 1"), std::string::npos) << metrics_text;
}

}  // namespace
}  // namespace lp::server
