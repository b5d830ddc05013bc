// Chat templates: the Jinja subset that GGUF `tokenizer.chat_template`s (written for Hugging Face
// transformers) use, rendered byte for byte as transformers' jinja2 environment renders them.
//   auto t = lp::ChatTemplate::parse(source);          // once per model
//   std::string prompt = t.render({{"messages", msgs}, {"add_generation_prompt", true},
//                                  {"bos_token", "<s>"}, {"eos_token", "</s>"}});
// Every key of the context object is a template variable (messages, tools, documents, ...); dict
// key order is kept. Errors are lp::Error: InvalidArgument for a syntax error (with line and column)
// or a template that fails, e.g. through raise_exception ("chat template: <message>"); Unsupported
// for jinja2 features llamaprof lacks ("chat template uses <feature> (line N), ...").
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace lp {

struct ChatRenderOptions {
  int64_t now_unix = -1;                  // strftime_now's clock, seconds since the epoch in UTC; < 0: local time
  size_t max_output_bytes = 16u << 20;    // longest output or intermediate string
  int64_t max_steps = 20'000'000;         // statements, loop iterations and calls
  int max_call_depth = 200;               // nested macro calls
};

class ChatTemplate {
 public:
  static ChatTemplate parse(std::string_view source);  // throws lp::Error
  // Thread-safe: a parsed template may render concurrently.
  std::string render(const nlohmann::ordered_json& context, const ChatRenderOptions& options = {}) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

// parse + render, for one-off use.
std::string render_chat_template(std::string_view source, const nlohmann::ordered_json& context,
                                 const ChatRenderOptions& options = {});

}  // namespace lp
