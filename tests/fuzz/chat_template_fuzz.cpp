// libFuzzer target: any bytes as a chat template either parse and render within the limits below
// or fail with lp::Error (InvalidArgument or Unsupported); no crash, hang, leak or other exception.
// Seeds are llama.cpp's real templates (scripts/fuzz copies them), so mutations stay near the
// syntax that matters.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "llamaprof/chat.h"
#include "llamaprof/error.h"

namespace {

const nlohmann::ordered_json& context() {
  static const nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Hi"},
      {"role": "assistant", "content": "Hello", "tool_calls": [
        {"id": "call12345", "type": "function", "function": {"name": "f", "arguments": {"x": 1}}}]},
      {"role": "tool", "tool_call_id": "call12345", "content": "42"},
      {"role": "user", "content": [{"type": "text", "text": "part"}]}
    ],
    "tools": [{"type": "function", "function": {"name": "f", "description": "d",
               "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"
  })");
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view source(reinterpret_cast<const char*>(data), size);
  lp::ChatRenderOptions opt;
  opt.now_unix = 0;
  opt.max_steps = 200'000;
  opt.max_output_bytes = 1 << 20;
  opt.max_call_depth = 40;
  try {
    lp::ChatTemplate t = lp::ChatTemplate::parse(source);
    std::string out = t.render(context(), opt);
    if (out.size() > opt.max_output_bytes) std::abort();
  } catch (const lp::Error& e) {
    if (e.kind() != lp::ErrorKind::InvalidArgument && e.kind() != lp::ErrorKind::Unsupported) std::abort();
  }
  return 0;
}
