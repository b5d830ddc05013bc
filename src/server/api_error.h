// An error answered to an HTTP client in OpenAI's shape:
//   {"error": {"message": ..., "type": ..., "param": <field or null>, "code": <code or null>}}
// Request parsing and the routes throw it; the HTTP layer turns it into the status and body.
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace lp::server {

class ApiError : public std::runtime_error {
 public:
  // type: OpenAI's error types ("invalid_request_error", "authentication_error", "not_found_error",
  // "server_error", ...); param: the offending request field ("" = null); code: machine-readable.
  ApiError(int status, std::string message, std::string param = {}, std::string code = {},
           std::string type = {})
      : std::runtime_error(message), status_(status), param_(std::move(param)), code_(std::move(code)),
        type_(type.empty() ? default_type(status) : std::move(type)) {}

  int status() const { return status_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }
  const std::string& type() const { return type_; }

  nlohmann::json body() const {
    return {{"error",
             {{"message", what()},
              {"type", type_},
              {"param", param_.empty() ? nlohmann::json(nullptr) : nlohmann::json(param_)},
              {"code", code_.empty() ? nlohmann::json(nullptr) : nlohmann::json(code_)}}}};
  }

 private:
  static std::string default_type(int status) {
    switch (status) {
      case 401: return "authentication_error";
      case 403: return "permission_error";
      case 404: return "not_found_error";
      case 413: case 400: case 422: return "invalid_request_error";
      case 429: return "rate_limit_error";
      case 501: return "not_implemented_error";
      case 503: return "unavailable_error";
      default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
  }
  int status_;
  std::string param_, code_, type_;
};

}  // namespace lp::server
