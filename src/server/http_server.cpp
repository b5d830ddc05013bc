#include "server/http_server.h"

#include <httplib.h>

#include <condition_variable>
#include <ctime>
#include <mutex>

#include "llamaprof/chat_session.h"
#include "llamaprof/error.h"
#include "server/api_error.h"
#include "server/responses.h"

namespace lp::server {

using nlohmann::json;

bool constant_time_equal(const std::string& secret, const std::string& presented) {
  // Every byte of the presented key is compared against some byte of the secret, and the length
  // difference folds into the result, so the time says nothing about a matching prefix.
  unsigned diff = unsigned(secret.size() ^ presented.size());
  const size_t n = secret.size();
  for (size_t i = 0; i < presented.size(); ++i) {
    diff |= unsigned(static_cast<unsigned char>(presented[i]) ^ static_cast<unsigned char>(n ? secret[i % n] : 0));
  }
  return diff == 0 && n > 0;
}

struct HttpServer::Impl {
  const Model& model;
  const ChatFormat* chat;
  Scheduler& scheduler;
  Metrics& metrics;
  HttpOptions opt;
  Embedder* embedder;
  httplib::Server svr;
  std::atomic<bool> stopping{false};

  // Generation handlers still running (a stream's ends when httplib releases its provider).
  std::mutex active_mu;
  std::condition_variable active_cv;
  int active = 0;

  Impl(const Model& m, const ChatFormat* c, Scheduler& s, Metrics& me, HttpOptions o, Embedder* e)
      : model(m), chat(c), scheduler(s), metrics(me), opt(std::move(o)), embedder(e) {}

  void enter() {
    std::lock_guard lock(active_mu);
    ++active;
  }
  void leave() {
    {
      std::lock_guard lock(active_mu);
      --active;
    }
    active_cv.notify_all();
  }

  static void send_error(httplib::Response& res, const ApiError& e) {
    res.status = e.status();
    res.set_content(json_text(e.body()), "application/json");
  }

  // Runs a route; ApiError and library errors become OpenAI error bodies.
  template <typename Fn>
  void guard(httplib::Response& res, Fn&& fn) {
    try {
      fn();
    } catch (const ApiError& e) {
      send_error(res, e);
    } catch (const Error& e) {
      const bool client = e.kind() == ErrorKind::InvalidArgument || e.kind() == ErrorKind::Unsupported;
      send_error(res, ApiError(client ? 400 : 500, e.what()));
    } catch (const std::exception& e) {
      send_error(res, ApiError(500, std::string("internal error: ") + e.what()));
    }
  }

  void install() {
    const int threads = opt.http_threads > 0 ? opt.http_threads : 2 * (scheduler.state().slots + 16) + 8;
    svr.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
    svr.set_payload_max_length(opt.max_body_bytes);
    if (!opt.cors_origin.empty()) {
      svr.set_default_headers({{"Access-Control-Allow-Origin", opt.cors_origin},
                               {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
                               {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"}});
      svr.Options(R"(.*)", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
    }

    svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (opt.api_key.empty() || req.path == "/health" || (req.method == "OPTIONS" && !opt.cors_origin.empty())) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      const std::string auth = req.get_header_value("Authorization");
      const std::string prefix = "Bearer ";
      if (auth.size() > prefix.size() && auth.compare(0, prefix.size(), prefix) == 0 &&
          constant_time_equal(opt.api_key, auth.substr(prefix.size()))) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      send_error(res, ApiError(401, "Incorrect or missing API key: send 'Authorization: Bearer <key>'", "",
                               "invalid_api_key"));
      return httplib::Server::HandlerResponse::Handled;
    });
    svr.set_post_routing_handler([this](const httplib::Request&, httplib::Response& res) { metrics.http_response(res.status); });
    // Errors httplib itself answers (no route, body too large, bad request line) get OpenAI's shape.
    svr.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      if (res.status == 404) {
        send_error(res, ApiError(404, "no route for " + req.method + " " + req.path, "", "not_found"));
      } else if (res.status == 413) {
        send_error(res, ApiError(413, "the request body is larger than the limit of " +
                                          std::to_string(opt.max_body_bytes) + " bytes (--max-body)",
                                 "", "request_too_large"));
      } else {
        send_error(res, ApiError(res.status, "the request could not be handled (HTTP " + std::to_string(res.status) + ")"));
      }
      return httplib::Server::HandlerResponse::Handled;
    }));

    svr.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      if (stopping) {
        send_error(res, ApiError(503, "the server is shutting down", "", "shutting_down"));
        return;
      }
      const SchedulerState st = scheduler.state();
      res.set_content(json_text({{"status", "ok"}, {"slots_idle", st.slots - st.busy}, {"slots_processing", st.busy}}),
                      "application/json");
    });
    svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
    });
    for (const char* path : {"/v1/models", "/models"}) {
      svr.Get(path, [this](const httplib::Request&, httplib::Response& res) {
        const json m = {{"id", opt.limits.alias},
                        {"object", "model"},
                        {"created", int64_t(std::time(nullptr))},
                        {"owned_by", "llamaprof"},
                        {"meta",
                         {{"n_vocab", model.n_vocab()},
                          {"n_ctx_train", model.hparams().n_ctx_train},
                          {"n_ctx_slot", opt.limits.n_ctx},
                          {"n_params", model.n_params()},
                          {"size", model.file_size()},
                          {"type", model.type_name()}}}};
        res.set_content(json_text({{"object", "list"}, {"data", json::array({m})}}), "application/json");
      });
    }
    for (const char* path : {"/v1/completions", "/completions"}) {
      svr.Post(path, [this](const httplib::Request& req, httplib::Response& res) { generate(Endpoint::Completions, req, res); });
    }
    for (const char* path : {"/v1/chat/completions", "/chat/completions"}) {
      svr.Post(path, [this](const httplib::Request& req, httplib::Response& res) { generate(Endpoint::Chat, req, res); });
    }
    for (const char* path : {"/v1/embeddings", "/embeddings"}) {
      svr.Post(path, [this](const httplib::Request& req, httplib::Response& res) {
        guard(res, [&] {
          if (!embedder) throw ApiError(501, "this server was started without embeddings", "", "not_implemented");
          const RequestBody body = parse_json_body(req.body);
          check_model(body, opt.limits);
          res.set_content(json_text(embedder->respond(body, opt.limits.alias)), "application/json");
        });
      });
    }
    svr.Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) {
      guard(res, [&] { res.set_content(json_text(tokenize_response(parse_json_body(req.body), model)), "application/json"); });
    });
    svr.Post("/detokenize", [this](const httplib::Request& req, httplib::Response& res) {
      guard(res, [&] { res.set_content(json_text(detokenize_response(parse_json_body(req.body), model)), "application/json"); });
    });
  }

  void generate(Endpoint endpoint, const httplib::Request& req, httplib::Response& res) {
    guard(res, [&] {
      if (stopping) throw ApiError(503, "the server is shutting down", "", "shutting_down");
      GenRequest g = parse_generation_request(endpoint, parse_json_body(req.body), opt.limits, model, chat);
      // Schema keywords the grammar does not use: said in a Warning header (RFC 9111's 299), not dropped.
      for (const std::string& w : g.grammar_warnings) res.set_header("Warning", "299 llamaprof \"" + w + "\"");
      ResponseMeta meta{new_response_id(endpoint), int64_t(std::time(nullptr)), opt.limits.alias, endpoint, g.logprobs};
      const bool stream = g.stream, include_usage = g.include_usage;
      std::shared_ptr<Job> job = scheduler.submit(std::move(g));
      if (stream) {
        start_stream(res, std::move(job), std::move(meta), include_usage);
      } else {
        enter();
        struct Leave {
          Impl* self;
          ~Leave() { self->leave(); }
        } leave_guard{this};
        std::vector<TokenOut> tokens;
        std::string text;
        size_t cursor = 0;
        for (;;) {
          Job::Snapshot s = job->wait(&cursor, std::chrono::milliseconds(1000));
          for (TokenOut& t : s.tokens) {
            text += t.piece;
            tokens.push_back(std::move(t));
          }
          if (s.done) {
            text += s.tail;
            res.set_content(json_text(full_response(meta, text, tokens, s.finish_reason, s.prompt_tokens, s.cached_tokens)),
                            "application/json");
            return;
          }
        }
      }
    });
  }

  struct Stream {
    std::shared_ptr<Job> job;
    ResponseMeta meta;
    bool include_usage = false;
    size_t cursor = 0;
    bool first = true;
    size_t text_offset = 0;  // bytes of the tokens' own pieces so far (logprobs.text_offset)
  };

  void start_stream(httplib::Response& res, std::shared_ptr<Job> job, ResponseMeta meta, bool include_usage) {
    auto st = std::make_shared<Stream>(Stream{std::move(job), std::move(meta), include_usage});
    enter();
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [st](size_t, httplib::DataSink& sink) {
          // Blocks briefly for the next tokens rather than letting httplib call back in a busy loop.
          Job::Snapshot s = st->job->wait(&st->cursor, std::chrono::milliseconds(100));
          std::string out;
          for (const TokenOut& t : s.tokens) {
            if (t.piece.empty() && st->meta.logprobs < 0) continue;  // text held back for a stop string
            out += sse_event(stream_chunk(st->meta, t.piece, {t}, "", st->first, st->text_offset));
            st->first = false;
            st->text_offset += t.text.size();
          }
          if (s.done) {
            if (!s.tail.empty()) out += sse_event(stream_chunk(st->meta, s.tail, {}, "", st->first)), st->first = false;
            out += sse_event(stream_chunk(st->meta, "", {}, s.finish_reason, st->first));
            if (st->include_usage) {
              out += sse_event(usage_chunk(st->meta, s.prompt_tokens, s.completion_tokens, s.cached_tokens));
            }
            out += "data: [DONE]\n\n";
          }
          if (!out.empty() && !sink.write(out.data(), out.size())) {
            st->job->cancel = true;  // the client is gone: the slot is freed at the next step
            return false;
          }
          if (s.done) sink.done();
          return true;
        },
        [st, this](bool success) {
          if (!success) st->job->cancel = true;
          leave();
        });
  }
};

HttpServer::HttpServer(const Model& model, const ChatFormat* chat_format, Scheduler& scheduler, Metrics& metrics,
                       HttpOptions options, Embedder* embedder)
    : impl_(std::make_unique<Impl>(model, chat_format, scheduler, metrics, std::move(options), embedder)) {
  impl_->install();
}

HttpServer::~HttpServer() = default;

int HttpServer::bind() {
  Impl& s = *impl_;
  if (s.opt.port == 0) {
    const int port = s.svr.bind_to_any_port(s.opt.host);
    if (port <= 0) throw Error(ErrorKind::Runtime, "cannot listen on " + s.opt.host + " (any port)");
    s.opt.port = port;
    return port;
  }
  if (!s.svr.bind_to_port(s.opt.host, s.opt.port)) {
    throw Error(ErrorKind::Runtime, "cannot listen on " + s.opt.host + ":" + std::to_string(s.opt.port) +
                                        " (in use, or not an address of this machine)");
  }
  return s.opt.port;
}

void HttpServer::run() { impl_->svr.listen_after_bind(); }

void HttpServer::stop(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  s.stopping = true;
  s.scheduler.shutdown(grace);  // every job gets its final state
  {
    // Open streams now write their final events; httplib would cut them once the listener closes.
    std::unique_lock lock(s.active_mu);
    s.active_cv.wait_for(lock, std::chrono::seconds(5), [&] { return s.active == 0; });
  }
  s.svr.stop();
}

}  // namespace lp::server
