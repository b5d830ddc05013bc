// The public face of the template engine (include/llamaprof/chat.h).
#include "llamaprof/chat.h"

#include "chat/eval.h"
#include "chat/parser.h"
#include "llamaprof/error.h"

namespace lp {

struct ChatTemplate::Impl {
  chat::Body body;
};

ChatTemplate ChatTemplate::parse(std::string_view source) {
  auto impl = std::make_shared<Impl>();
  impl->body = chat::parse_template(source);
  ChatTemplate t;
  t.impl_ = std::move(impl);
  return t;
}

std::string ChatTemplate::render(const nlohmann::ordered_json& context, const ChatRenderOptions& options) const {
  if (!context.is_object() && !context.is_null())
    throw Error(ErrorKind::InvalidArgument, "chat template: the context must be a JSON object");
  chat::Limits limits;
  limits.now_unix = options.now_unix;
  limits.max_output = options.max_output_bytes;
  limits.max_steps = options.max_steps;
  limits.max_depth = options.max_call_depth;
  chat::Interpreter interp(limits);
  return interp.render(impl_->body, chat::Value::from_json(context));
}

std::string render_chat_template(std::string_view source, const nlohmann::ordered_json& context,
                                 const ChatRenderOptions& options) {
  return ChatTemplate::parse(source).render(context, options);
}

}  // namespace lp
