// Chat on top of the template renderer (chat.h): OpenAI-style messages -> a prompt for a Model,
// and a multi-turn session that re-evaluates only what changed since the last turn.
//   lp::ChatFormat fmt = lp::ChatFormat::for_model(model);          // the GGUF's template
//   lp::ChatFormat fmt = lp::ChatFormat::for_model(model, "chatml"); // a built-in, or a file
//   std::vector<lp::TokenId> ids = fmt.prompt_tokens(messages);
// Messages are a JSON array of {"role": str, "content": str | [{"type": "text", "text": str}...]};
// text parts are joined with "\n" (as llama.cpp does). Built-in formats are Jinja sources rendered
// by the same renderer, with llama.cpp's names and layouts (src/llama-chat.cpp). A model without
// tokenizer.chat_template and no format named is an error listing the built-in names (llama.cpp
// falls back to chatml; a silent guess hides a wrong prompt).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "llamaprof/chat.h"
#include "llamaprof/context.h"
#include "llamaprof/generate.h"
#include "llamaprof/model.h"

namespace lp {

// llama.cpp's names of the built-in formats llamaprof has: chatml, gemma, llama2, llama3, ...
const std::vector<std::string>& builtin_chat_formats();
// The Jinja source of a built-in format; throws lp::Error(InvalidArgument) listing the names.
const std::string& builtin_chat_template(std::string_view name);

// Checks messages and returns them with list contents joined into strings. Throws
// lp::Error(InvalidArgument) naming the message index and the problem (not an array, no role,
// content neither string nor a list of text parts); Unsupported for non-text parts (images).
nlohmann::ordered_json normalize_chat_messages(const nlohmann::ordered_json& messages);

class ChatFormat {
 public:
  // spec "": the model's tokenizer.chat_template; a built-in name; otherwise a file holding a
  // Jinja template. Throws lp::Error (InvalidArgument for no template / an unknown name,
  // FileNotFound, or the template's syntax error).
  static ChatFormat for_model(const Model& model, std::string_view spec = {});
  // A template given as source (name is what name() reports).
  static ChatFormat from_source(const Model& model, std::string_view source, std::string name);

  const std::string& name() const { return name_; }  // "gguf", a built-in name or "file:PATH"
  // The prompt text: bos_token / eos_token are the vocabulary's texts. Throws lp::Error from the
  // messages' check or the template (e.g. its raise_exception: "chat template: ...").
  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt = true) const;
  // Whether tokenizing `prompt` should prepend BOS: the model's add_bos_token, unless the
  // rendered text already starts with the BOS text (templates that write bos_token).
  bool add_bos(std::string_view prompt) const;
  // The prompt's token ids: special tokens parsed, BOS as add_bos() says.
  std::vector<TokenId> tokenize(std::string_view prompt) const;
  std::vector<TokenId> prompt_tokens(const nlohmann::ordered_json& messages, bool add_generation_prompt = true) const {
    return tokenize(render(messages, add_generation_prompt));
  }

 private:
  ChatFormat(const Model& model, ChatTemplate tmpl, std::string name);
  const Model* model_;
  ChatTemplate template_;
  std::string name_;
  std::string bos_text_, eos_text_;
};

// One conversation in one Context. Each turn renders the whole conversation, keeps the KV cache's
// longest common prefix with the new prompt and evaluates only the rest.
struct ChatTurn {
  GenerateResult result;     // result.timings.prompt_tokens: tokens evaluated this turn
  int prompt_total = 0;      // tokens of the whole rendered conversation
  int reused = 0;            // of those, already in the KV cache
  double ttft_ms = 0;        // prompt evaluation + the first token's sampling
};

class ChatSession {
 public:
  ChatSession(Context& ctx, ChatFormat format, std::string system = {});
  // Adds the user message, generates the reply (params.keep_cache is set) and appends it as the
  // assistant's message, also when cancelled (the partial text is what the cache holds). On an
  // error the user message is taken back.
  ChatTurn reply(const std::string& user, GenerateParams params);
  void clear();  // a new conversation (the system message stays); the KV cache is cleared
  const nlohmann::ordered_json& messages() const { return messages_; }

 private:
  Context& ctx_;
  ChatFormat format_;
  std::string system_;
  nlohmann::ordered_json messages_;
  std::vector<TokenId> cached_;  // the tokens the KV cache holds, in order
};

}  // namespace lp
