// `llamaprof serve`: an OpenAI-compatible HTTP server on the engine (src/server/): completions,
// chat completions (streamed as server-sent events), models, tokenize, health and Prometheus
// metrics, with N slots batched into one forward pass per step. Binds 127.0.0.1 unless told
// otherwise. SIGINT/SIGTERM: stop taking requests, finish (or after --shutdown-grace cancel) the
// running ones with their final events, exit 0.
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "commands.h"
#include "generation_options.h"
#include "llamaprof/chat_session.h"
#include "llamaprof/error.h"
#include "llamaprof/model.h"

#ifdef LLAMAPROF_HAVE_SERVER
#include "profile/model_traffic.h"
#include "runtime/membw.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/scheduler.h"
#endif

namespace lp::cli {
namespace {

struct ServeOptions {
  std::string model;
  std::string alias;
  std::string host = "127.0.0.1";
  int port = 8080;
  int parallel = 1;
  int ctx = 0;
  // Rows per forward pass: a new prompt is read this many tokens per step while the other slots
  // decode, so it bounds how long a running stream waits (7B at ~33 t/s prompt speed: ~4 s for 128).
  int batch = 128;
  int threads = 0;
  std::string api_key;
  std::string api_key_file;
  std::string chat_template;
  int n_predict = -1;
  int max_tokens = 0;
  int queue = 16;
  size_t max_body = 4u << 20;
  std::string cors_origin;
  double shutdown_grace = 5;
  SamplerParams sampler;
  bool fixed_seed = false;  // --seed given: requests without "seed" use it, else a random one each
  std::string pooling;      // /v1/embeddings: empty = the model's pooling_type, else mean
};

#ifdef LLAMAPROF_HAVE_SERVER

std::string read_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorKind::FileNotFound, "cannot read the API key file " + path);
  std::string key;
  std::getline(in, key);
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ' || key.back() == '\t')) key.pop_back();
  if (key.empty()) throw Error(ErrorKind::InvalidArgument, "the API key file " + path + " has an empty first line");
  return key;
}

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

int serve(const ServeOptions& o) {
  std::string key = o.api_key;
  if (!o.api_key_file.empty()) {
    if (!key.empty()) throw Error(ErrorKind::InvalidArgument, "give --api-key or --api-key-file, not both");
    key = read_key_file(o.api_key_file);
  }
  Model model = Model::load(o.model);
  const int n_ctx = o.ctx > 0 ? o.ctx : std::min(model.hparams().n_ctx_train, 4096);
  std::optional<ChatFormat> chat;
  try {
    chat = ChatFormat::for_model(model, o.chat_template);
  } catch (const Error& e) {
    if (!o.chat_template.empty()) throw;  // a format was named and is wrong: a usage error
    std::fprintf(stderr, "llamaprof serve: warning: /v1/chat/completions is unavailable: %s\n", e.what());
  }

  server::RequestLimits limits;
  limits.alias = o.alias.empty() ? std::filesystem::path(o.model).filename().string() : o.alias;
  limits.model_path = o.model;
  limits.n_ctx = n_ctx;
  limits.max_tokens_limit = o.max_tokens > 0 ? o.max_tokens : n_ctx;
  limits.default_max_tokens = std::max(o.n_predict, 0);
  limits.sampling = o.sampler;
  limits.random_seed = !o.fixed_seed;
  {
    Sampler check(o.sampler);  // bad sampling defaults are a usage error now, not a 400 later
  }

  // Signals go to one watching thread: block them before any thread exists (threads inherit it).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);  // internal: wakes the watcher when the server ends by itself
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  server::Metrics metrics;
  server::SchedulerConfig sc;
  sc.n_slots = o.parallel;
  sc.n_ctx = n_ctx;
  sc.n_batch = std::max(o.batch, o.parallel);
  sc.n_threads = o.threads;
  sc.max_queue = o.queue;
  server::Scheduler scheduler(model, sc, metrics);
  const int threads = scheduler.engine().n_threads();
  const double bw = [&] {
    const auto p = cached_read_bandwidth(threads);
    return p ? p->gbps_best * 1e9 : 0.0;
  }();
  metrics.set_roofline(profile::model_traffic(model).bytes_per_token, bw);

  server::HttpOptions ho;
  ho.host = o.host;
  ho.port = o.port;
  ho.api_key = key;
  ho.max_body_bytes = o.max_body;
  ho.cors_origin = o.cors_origin;
  ho.limits = limits;
  // /v1/embeddings has a context of its own; OpenAI's endpoint returns one vector per input, so a
  // model without a pooling type (a generation model) is pooled by mean, as llama-server --pooling mean.
  const Pooling pooling = !o.pooling.empty()                                ? pooling_from_name(o.pooling)
                          : default_pooling(model) != Pooling::None ? default_pooling(model)
                                                                    : Pooling::Mean;
  server::Embedder embedder(model, n_ctx, threads, pooling);
  server::HttpServer http(model, chat ? &*chat : nullptr, scheduler, metrics, ho, &embedder);
  const int port = http.bind();
  if (!is_loopback(o.host) && key.empty()) {
    std::fprintf(stderr, "llamaprof serve: warning: listening on %s without --api-key: anyone who can reach it may use it\n",
                 o.host.c_str());
  }
  if (bw <= 0) {
    std::fprintf(stderr, "llamaprof serve: no cached bandwidth figure for %d threads: run `llamaprof membw` for "
                 "llamaprof_decode_bandwidth_limit_ratio in /metrics\n", threads);
  }
  std::printf("llamaprof serve: listening on http://%s:%d (model %s, %d slot%s x %d tokens, %d threads)\n",
              o.host.c_str(), port, limits.alias.c_str(), o.parallel, o.parallel == 1 ? "" : "s", n_ctx, threads);
  std::fflush(stdout);

  const auto grace = std::chrono::milliseconds(int64_t(o.shutdown_grace * 1000));
  std::thread watcher([&] {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig == SIGUSR1) return;
    std::fprintf(stderr, "llamaprof serve: %s: finishing running requests (at most %.1f s), then exiting\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", o.shutdown_grace);
    http.stop(grace);
  });
  http.run();
  pthread_kill(watcher.native_handle(), SIGUSR1);  // no-op if the watcher already returned
  watcher.join();
  scheduler.shutdown(std::chrono::milliseconds(0));
  std::fprintf(stderr, "llamaprof serve: stopped\n");
  return 0;
}

#endif

}  // namespace

void register_serve(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server with continuous batching");
  cmd->add_option("-m,--model", o->model, "GGUF model file")->required();
  cmd->add_option("--alias", o->alias, "the model's name in the API (default: the file name)");
  cmd->add_option("--host", o->host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", o->port, "port (0: any free port, printed at start)")->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--parallel,--np", o->parallel, "slots: requests generated at once, batched")
      ->check(CLI::Range(1, 256))->capture_default_str();
  add_context_options(cmd, o->threads, o->ctx, o->batch);
  cmd->add_option("--api-key", o->api_key, "require 'Authorization: Bearer KEY' (all endpoints but /health)");
  cmd->add_option("--api-key-file", o->api_key_file, "read the key from the first line of a file");
  cmd->add_option("--chat-template", o->chat_template,
                  "chat format: a built-in name or a Jinja file (default: the model's tokenizer.chat_template)");
  cmd->add_option("-n,--n-predict", o->n_predict, "max_tokens when a request has none (<= 0: until EOS or the context is full)")
      ->capture_default_str();
  cmd->add_option("--max-tokens", o->max_tokens, "largest max_tokens a request may ask for (0: the context)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--queue", o->queue, "requests that may wait for a slot; more get 503")->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--max-body", o->max_body, "largest request body in bytes (413 above)")->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--cors-origin", o->cors_origin, "allow browsers from this origin (default: no CORS headers)");
  cmd->add_option("--shutdown-grace", o->shutdown_grace,
                  "seconds running requests may take to finish after SIGINT/SIGTERM before they are cancelled")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--pooling", o->pooling,
                  "/v1/embeddings pooling: mean, cls or last (default: the model's pooling_type, else mean)")
      ->check(CLI::IsMember({"mean", "cls", "last"}));
  add_sampling_options(cmd, o->sampler);
  cmd->callback([o, exit_code, cmd] {
    o->fixed_seed = cmd->count("--seed") > 0;
#ifdef LLAMAPROF_HAVE_SERVER
    *exit_code = serve(*o);
#else
    (void)o;
    throw Error(ErrorKind::Unsupported, "llamaprof was built without cpp-httplib: no server (install libcpp-httplib-dev and reconfigure)");
#endif
  });
  (void)exit_code;
}

}  // namespace lp::cli
