// The HTTP side of `llamaprof serve` (cpp-httplib): routes, the API key, limits, CORS, and the
// streaming of a Job's tokens as server-sent events. Generation runs in the Scheduler.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "llamaprof/model.h"
#include "server/embeddings.h"
#include "server/metrics.h"
#include "server/request.h"
#include "server/scheduler.h"

namespace lp {
class ChatFormat;
}

namespace lp::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                 // 0: any free port (bind() returns it)
  std::string api_key;             // empty: no key required
  size_t max_body_bytes = 4u << 20;
  std::string cors_origin;         // empty: no CORS headers (browsers on other origins are refused)
  int http_threads = 0;            // 0: enough for every slot and queued request, plus spares
  RequestLimits limits;
};

// True when a and b are equal, in time that depends only on b's length (the presented key),
// never on where the first difference is.
bool constant_time_equal(const std::string& secret, const std::string& presented);

class HttpServer {
 public:
  // embedder: answers /v1/embeddings (null: 501, as for a server started without them).
  HttpServer(const Model& model, const ChatFormat* chat_format, Scheduler& scheduler, Metrics& metrics,
             HttpOptions options, Embedder* embedder = nullptr);
  ~HttpServer();

  // Binds the listening socket; returns the port. Throws lp::Error(Runtime) naming host and port.
  int bind();
  // Serves until stop(); returns when every connection's handler has finished.
  void run();
  // Graceful stop (thread-safe, e.g. from a signal-watching thread): generation requests get a 503
  // from now on, the scheduler finishes or cancels running ones within `grace`, every open stream
  // sends its final event, then the listener closes.
  void stop(std::chrono::milliseconds grace);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lp::server
