#include "profile/bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "kernels/kernel_table.h"
#include "llamaprof/context.h"
#include "llamaprof/error.h"
#include "llamaprof/generate.h"
#include "llamaprof/model.h"
#include "profile/model_traffic.h"
#include "profile/page_cache.h"
#include "profile/spawn.h"
#include "profile/stats.h"
#include "runtime/thread_pool.h"

namespace lp::profile {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

void check(const BenchOptions& o) {
  auto bad = [](const std::string& m) { throw Error(ErrorKind::InvalidArgument, m); };
  if (o.models.empty()) bad("give at least one model (-m FILE)");
  if (o.repetitions < 1) bad("-r: repetitions must be at least 1 (got " + std::to_string(o.repetitions) + ")");
  for (int t : o.threads) {
    if (t < 1 || t > 1024) bad("-t: each thread count must be 1..1024 (got " + std::to_string(t) + ")");
  }
  if (o.batch_sizes.empty()) bad("-b: give at least one batch size");
  for (int b : o.batch_sizes) {
    if (b < 1) bad("-b: each batch size must be at least 1 (got " + std::to_string(b) + ")");
  }
  for (int p : o.prompt_lengths) {
    if (p < 0) bad("-p: prompt lengths must be >= 0 (got " + std::to_string(p) + ")");
  }
  for (int n : o.gen_lengths) {
    if (n < 0) bad("-n: generation lengths must be >= 0 (got " + std::to_string(n) + ")");
  }
  for (const auto& m : o.models) {
    if (!fs::exists(m)) throw Error(ErrorKind::FileNotFound, "model file not found: " + m);
  }
}

// Synthetic prompt tokens, as llama-bench uses: ids spread over the vocabulary, skipping the
// control ids at the bottom.
std::vector<TokenId> synthetic_tokens(int n, int n_vocab, TokenId bos) {
  std::vector<TokenId> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[size_t(i)] = TokenId(3 + (uint64_t(i) * 7919u) % uint64_t(n_vocab - 3));
  if (n > 0) t[0] = bos;
  return t;
}

// A text prompt of about n tokens (tokenized length is trimmed to exactly n by the caller's
// context size check) for the time-to-first-token test.
std::string text_prompt(const Model& model, int n) {
  std::string text;
  const std::string sentence = " The quick brown fox jumps over the lazy dog near the river bank.";
  while (int(model.tokenize(text, true).size()) < n) text += sentence;
  // Trim word by word until it fits n tokens.
  while (int(model.tokenize(text, true).size()) > n && text.find(' ', 1) != std::string::npos) {
    text.erase(text.rfind(' '));
  }
  return text;
}

BenchRow finish(BenchRow row) {
  const Summary s = summarize(row.samples);
  row.mean = s.mean;
  row.stddev = s.stddev;
  return row;
}

std::string human_size(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", double(bytes) / double(1ull << 30));
  else std::snprintf(buf, sizeof buf, "%.2f MiB", double(bytes) / double(1ull << 20));
  return buf;
}

std::string human_params(uint64_t n) {
  char buf[32];
  if (n >= 1000000000ull) std::snprintf(buf, sizeof buf, "%.2f B", double(n) / 1e9);
  else std::snprintf(buf, sizeof buf, "%.2f M", double(n) / 1e6);
  return buf;
}

}  // namespace

std::vector<BenchRow> run_bench(const BenchOptions& in, const std::function<void(const BenchRow&)>& on_row) {
  BenchOptions o = in;
  if (o.threads.empty()) o.threads = {default_thread_count()};
  if (o.cli.empty()) o.cli = self_executable();
  check(o);
  const std::string backend = std::string("CPU (") + isa_name(kernels().isa) + ")";
  std::vector<BenchRow> rows;
  auto emit = [&](BenchRow r) {
    rows.push_back(finish(std::move(r)));
    if (on_row) on_row(rows.back());
  };

  for (const std::string& path : o.models) {
    BenchRow proto;
    proto.model = fs::path(path).filename().string();
    proto.backend = backend;
    {
      // Header facts only (no weight page is touched), before the load tests evict the file.
      Model m = Model::load(path);
      proto.type = m.type_name();
      proto.size_bytes = m.weight_bytes();
      proto.n_params = m.n_params();
    }

    // Load tests first: while this process maps the file, its pages cannot be evicted.
    if (o.load_tests) {
      for (int t : o.threads) {
        for (const char* state : {"cold", "warm"}) {
          BenchRow row = proto;
          row.threads = t;
          row.test = std::string("load ") + state;
          row.unit = "ms";
          for (int rep = 0; rep < o.repetitions; ++rep) {
            if (state[0] == 'c') {
              evict_file(path);
            } else {
              warm_file(path);
            }
            const ChildResult c = run_child({o.cli, "profile-worker", "--model", path, "--threads", std::to_string(t), "--load-only"});
            if (c.exit_code != 0) throw Error(ErrorKind::Runtime, "load test of " + path + " failed: " + c.stderr_text);
            const nlohmann::json rec = nlohmann::json::parse(c.stdout_text, nullptr, false);
            if (rec.is_discarded()) throw Error(ErrorKind::Runtime, "load test of " + path + " printed no record");
            row.samples.push_back(1000.0 * rec.value("time_load", 0.0));
          }
          emit(row);
        }
      }
    }

    const Model model = Model::load(path);
    const int n_vocab = model.n_vocab();
    int max_p = 0, max_n = 0;
    for (int p : o.prompt_lengths) max_p = std::max(max_p, p);
    for (int n : o.gen_lengths) max_n = std::max(max_n, n);
    for (int t : o.threads) {
      for (int b : o.batch_sizes) {
        ContextParams cp;
        cp.n_threads = t;
        cp.n_batch = b;
        cp.n_ctx = std::max(max_p, max_n + 1) + 8;
        Context ctx(model, cp);
        for (int p : o.prompt_lengths) {
          if (p == 0) continue;
          const std::vector<TokenId> tokens = synthetic_tokens(p, n_vocab, model.bos());
          BenchRow row = proto;
          row.threads = t;
          row.n_batch = b;
          row.test = "pp" + std::to_string(p);
          row.unit = "t/s";
          for (int rep = -1; rep < o.repetitions; ++rep) {  // rep -1: warm-up
            ctx.kv_clear();
            const auto t0 = Clock::now();
            ctx.eval(tokens);
            const double ms = ms_since(t0);
            if (rep >= 0) row.samples.push_back(1000.0 * p / ms);
          }
          emit(row);
        }
        // Generation does not depend on the batch size: measured with the first one only.
        if (b != o.batch_sizes.front()) continue;
        for (int n : o.gen_lengths) {
          if (n == 0) continue;
          BenchRow row = proto;
          row.threads = t;
          row.n_batch = b;
          row.test = "tg" + std::to_string(n);
          row.unit = "t/s";
          for (int rep = -1; rep < o.repetitions; ++rep) {
            ctx.kv_clear();
            TokenId tok = model.bos();
            const auto t0 = Clock::now();
            for (int i = 0; i < n; ++i) {
              ctx.eval(std::span<const TokenId>(&tok, 1));
              tok = TokenId(3 + (uint64_t(i) * 7919u) % uint64_t(n_vocab - 3));
            }
            const double ms = ms_since(t0);
            if (rep >= 0) row.samples.push_back(1000.0 * n / ms);
          }
          emit(row);
        }
        if (o.ttft_tests) {
          for (int p : o.prompt_lengths) {
            if (p == 0) continue;
            const std::string prompt = text_prompt(model, p);
            BenchRow row = proto;
            row.threads = t;
            row.n_batch = b;
            row.test = "ttft p" + std::to_string(p);
            row.unit = "ms";
            for (int rep = -1; rep < o.repetitions; ++rep) {
              GenerateParams gp;
              gp.max_tokens = 1;
              std::optional<double> first;
              const auto t0 = Clock::now();
              gp.on_token = [&](const GenerateStep&) {
                if (!first) first = ms_since(t0);
                return true;
              };
              generate(ctx, prompt, gp);
              if (rep >= 0) row.samples.push_back(first.value_or(ms_since(t0)));
            }
            emit(row);
          }
        }
      }
    }
  }
  return rows;
}

std::string bench_markdown(const std::vector<BenchRow>& rows) {
  std::vector<std::vector<std::string>> cells;
  int first_batch = 0;
  for (const BenchRow& r : rows) first_batch = first_batch ? first_batch : r.n_batch;
  const bool multi_batch =
      std::any_of(rows.begin(), rows.end(), [&](const BenchRow& r) { return r.n_batch && r.n_batch != first_batch; });
  for (const BenchRow& r : rows) {
    char value[64];
    std::snprintf(value, sizeof value, r.unit == "t/s" ? "%.2f ± %.2f" : "%.2f ± %.2f ms", r.mean, r.stddev);
    std::vector<std::string> c = {r.model + " " + r.type, human_size(r.size_bytes), human_params(r.n_params), r.backend,
                                  std::to_string(r.threads)};
    if (multi_batch) c.push_back(r.n_batch ? std::to_string(r.n_batch) : "-");
    c.push_back(r.test);
    c.push_back(value);
    cells.push_back(c);
  }
  std::vector<std::string> head = {"model", "size", "params", "backend", "threads"};
  if (multi_batch) head.push_back("n_batch");
  head.push_back("test");
  head.push_back("t/s");
  std::vector<size_t> w(head.size());
  for (size_t i = 0; i < head.size(); ++i) w[i] = head[i].size();
  for (const auto& c : cells) {
    for (size_t i = 0; i < c.size(); ++i) w[i] = std::max(w[i], c[i].size());
  }
  // Numbers right-aligned ("---:"), text left-aligned, as llama-bench prints.
  auto right = [&](size_t i) { return head[i] == "size" || head[i] == "params" || head[i] == "threads" || head[i] == "n_batch" || head[i] == "test" || head[i] == "t/s"; };
  auto line = [&](const std::vector<std::string>& c) {
    std::string s = "|";
    for (size_t i = 0; i < c.size(); ++i) {
      const std::string pad(w[i] - c[i].size(), ' ');
      s += " " + (right(i) ? pad + c[i] : c[i] + pad) + " |";
    }
    return s + "\n";
  };
  std::string out = line(head) + "|";
  for (size_t i = 0; i < head.size(); ++i) out += " " + std::string(w[i] - (right(i) ? 1 : 0), '-') + (right(i) ? ":" : "") + " |";
  out += "\n";
  for (const auto& c : cells) out += line(c);
  return out;
}

std::string bench_csv(const std::vector<BenchRow>& rows) {
  std::string out = "model,type,size_bytes,n_params,backend,threads,n_batch,test,unit,mean,stddev,samples\n";
  for (const BenchRow& r : rows) {
    std::string samples;
    for (double s : r.samples) {
      if (!samples.empty()) samples += ';';
      samples += std::to_string(s);
    }
    char buf[128];
    std::snprintf(buf, sizeof buf, "%.4f,%.4f", r.mean, r.stddev);
    out += r.model + "," + r.type + "," + std::to_string(r.size_bytes) + "," + std::to_string(r.n_params) + ",\"" +
           r.backend + "\"," + std::to_string(r.threads) + "," + std::to_string(r.n_batch) + "," + r.test + "," + r.unit +
           "," + buf + "," + samples + "\n";
  }
  return out;
}

nlohmann::json bench_json(const std::vector<BenchRow>& rows) {
  nlohmann::json arr = nlohmann::json::array();
  for (const BenchRow& r : rows) {
    arr.push_back({{"model", r.model}, {"type", r.type}, {"size_bytes", r.size_bytes}, {"n_params", r.n_params},
                   {"backend", r.backend}, {"threads", r.threads}, {"n_batch", r.n_batch}, {"test", r.test},
                   {"unit", r.unit}, {"mean", r.mean}, {"stddev", r.stddev}, {"samples", r.samples}});
  }
  return arr;
}

}  // namespace lp::profile
