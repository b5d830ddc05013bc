// Aggregate decode speed of B sequences sharing one forward pass (what `llamaprof serve` runs for
// B concurrent streams, and speculative verification for B draft tokens), with the per-op time of
// a step, so the B = 4 / B = 1 ratio of issue 17 section 4 can be read off and explained.
//
//   build/bench/batched_decode MODEL.gguf [--threads N] [--batches 1,2,4,8] [--prompt N] [--steps N]
//
// Every sequence first evaluates its own prompt of `--prompt` tokens (not timed), then `--steps`
// decode steps run with one new token per sequence; the first two steps are a warm-up. Tokens are
// fixed pseudo-random ids: the weights' cost does not depend on which tokens they are.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "llamaprof/model.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "runtime/thread_pool.h"

namespace {

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stoi(item));
  return out;
}

struct Args {
  std::string model;
  int threads = 2;
  std::vector<int> batches{1, 2, 4, 8};
  int prompt = 32;
  int steps = 18;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value for " + k);
      return argv[++i];
    };
    if (k == "--threads") a.threads = std::stoi(value());
    else if (k == "--batches") a.batches = parse_list(value());
    else if (k == "--prompt") a.prompt = std::stoi(value());
    else if (k == "--steps") a.steps = std::stoi(value());
    else if (!k.empty() && k[0] != '-' && a.model.empty()) a.model = k;
    else throw std::runtime_error("unknown argument " + k);
  }
  if (a.model.empty()) throw std::runtime_error("usage: batched_decode MODEL.gguf [--threads N] [--batches 1,2,4,8]");
  if (a.steps < 3 || a.prompt < 1) throw std::runtime_error("--steps must be >= 3 and --prompt >= 1");
  return a;
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) try {
  const Args args = parse_args(argc, argv);
  const lp::Model model = lp::Model::load(args.model);
  const lp::HParams& hp = model.hparams();
  const int max_b = *std::max_element(args.batches.begin(), args.batches.end());
  const int n_ctx = args.prompt + args.steps + 1;
  lp::ThreadPool pool(args.threads);
  lp::ForwardBuffers buf(model, std::max(max_b, args.prompt), n_ctx, pool.size());
  lp::ForwardOptions options;
  std::vector<float> logits(size_t(max_b) * size_t(hp.n_vocab));
  uint32_t rng = 12345;
  auto next_token = [&] {
    rng = rng * 1664525u + 1013904223u;
    return int32_t(rng % uint32_t(hp.n_vocab));
  };

  std::printf("| B | ms / step | aggregate t/s | vs B=1 |");
  for (int op = 0; op < int(lp::Op::Count); ++op) std::printf(" %s |", lp::op_name(lp::Op(op)));
  std::printf("\n|---|---|---|---|");
  for (int op = 0; op < int(lp::Op::Count); ++op) std::printf("---|");
  std::printf("\n");
  double tps1 = 0;
  for (int b : args.batches) {
    std::vector<std::unique_ptr<lp::KvCache>> caches;
    lp::OpProfile off;
    for (int s = 0; s < b; ++s) {
      caches.push_back(std::make_unique<lp::KvCache>(hp.n_layer, n_ctx, hp.n_embd_kv()));
      std::vector<int32_t> prompt(size_t(args.prompt));
      for (auto& t : prompt) t = next_token();
      lp::forward(model, prompt.data(), args.prompt, *caches.back(), buf, pool, false, logits.data(), options, off);
    }
    std::vector<lp::ForwardSegment> segs;
    for (auto& c : caches) segs.push_back({c.get(), 1, true});
    lp::OpProfile prof;
    double total = 0;
    std::vector<int32_t> tokens(static_cast<size_t>(b));
    for (int step = 0; step < args.steps; ++step) {
      for (auto& t : tokens) t = next_token();
      prof.enabled = step >= 2;
      const double t0 = now_ms();
      lp::forward(model, tokens.data(), segs, buf, pool, false, logits.data(), options, prof);
      if (step >= 2) total += now_ms() - t0;
    }
    const int timed = args.steps - 2;
    const double ms = total / timed;
    const double tps = 1000.0 * b / ms;
    if (b == 1) tps1 = tps;
    std::printf("| %d | %.1f | %.2f |", b, ms, tps);
    if (tps1 > 0) std::printf(" %.2fx |", tps / tps1);
    else std::printf(" - |");
    for (int op = 0; op < int(lp::Op::Count); ++op) std::printf(" %.1f |", prof.ms[size_t(op)] / timed);
    std::printf("\n");
    std::fflush(stdout);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "batched_decode: %s\n", e.what());
  return 1;
}
