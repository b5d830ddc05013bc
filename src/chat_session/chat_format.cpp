// ChatFormat: messages -> prompt text -> token ids, with the model's template or a built-in one.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "gguf/reader.h"
#include "llamaprof/chat_session.h"
#include "llamaprof/error.h"
#include "tokenizer/tokenizer.h"

namespace lp {
namespace {

// llama.cpp's built-in layouts (src/llama-chat.cpp, llm_chat_apply_template) written as Jinja.
// One line each: no block-tag newlines for trim_blocks to eat; '\n' is a Jinja string escape.
const std::map<std::string, std::string, std::less<>>& builtins() {
  static const std::map<std::string, std::string, std::less<>> m = {
      {"chatml",
       "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}"
       "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"},
      // No <<SYS>> block: a system message is written as plain text ending with a newline.
      {"llama2",
       "{{ '[INST] ' }}{% set ns = namespace(inside=true) %}{% for m in messages %}"
       "{% if not ns.inside %}{{ '[INST] ' }}{% set ns.inside = true %}{% endif %}"
       "{% if m['role'] == 'system' %}{{ m['content'] + '\\n' }}"
       "{% elif m['role'] == 'user' %}{{ m['content'] + ' [/INST]' }}"
       "{% else %}{{ m['content'] + '</s>' }}{% set ns.inside = false %}{% endif %}{% endfor %}"},
      {"llama3",
       "{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + (m['content'] | trim)"
       " + '<|eot_id|>' }}{% endfor %}"
       "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"},
      {"mistral-v7",
       "{% for m in messages %}{% if m['role'] == 'system' %}{{ '[SYSTEM_PROMPT] ' + m['content'] + '[/SYSTEM_PROMPT]' }}"
       "{% elif m['role'] == 'user' %}{{ '[INST] ' + m['content'] + '[/INST]' }}"
       "{% else %}{{ ' ' + m['content'] + '</s>' }}{% endif %}{% endfor %}"},
      // Gemma has no system role: system texts (trimmed, concatenated) open the next user turn.
      {"gemma",
       "{% set ns = namespace(system='') %}{% for m in messages %}"
       "{% if m['role'] == 'system' %}{% set ns.system = ns.system + (m['content'] | trim) %}"
       "{% else %}{% set role = 'model' if m['role'] == 'assistant' else m['role'] %}"
       "{{ '<start_of_turn>' + role + '\\n' }}"
       "{% if ns.system and role != 'model' %}{{ ns.system + '\\n\\n' }}{% set ns.system = '' %}{% endif %}"
       "{{ (m['content'] | trim) + '<end_of_turn>\\n' }}{% endif %}{% endfor %}"
       "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"},
      {"phi3",
       "{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] + '<|end|>\\n' }}{% endfor %}"
       "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"},
      {"zephyr",
       "{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] + '<|endoftext|>\\n' }}{% endfor %}"
       "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"},
  };
  return m;
}

// llama-cpp-python's chat_format names for the same layouts (its llama_chat_format.py registry).
// Its other formats (alpaca, vicuna, mistral-instruct, ...) have no built-in here and stay errors.
const std::map<std::string, std::string, std::less<>>& python_aliases() {
  static const std::map<std::string, std::string, std::less<>> m = {
      {"llama-2", "llama2"}, {"llama-3", "llama3"}, {"phi-3", "phi3"}};
  return m;
}

// The built-in template for a llama.cpp name or a llama-cpp-python alias; nullptr otherwise.
const std::pair<const std::string, std::string>* find_builtin(std::string_view name) {
  if (auto a = python_aliases().find(name); a != python_aliases().end()) name = a->second;
  auto it = builtins().find(name);
  return it == builtins().end() ? nullptr : &*it;
}

std::string names_list() {
  std::string s;
  for (const std::string& n : builtin_chat_formats()) s += (s.empty() ? "" : ", ") + n;
  s += "; llama-cpp-python's names:";
  for (const auto& [alias, name] : python_aliases()) s += " " + alias;
  return s;
}

std::string token_text_or_empty(const Model& model, TokenId id) {
  return id >= 0 && id < model.n_vocab() ? model.tokenizer().token_text(id) : std::string();
}

}  // namespace

const std::vector<std::string>& builtin_chat_formats() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& [name, src] : builtins()) v.push_back(name);
    return v;
  }();
  return names;
}

const std::string& builtin_chat_template(std::string_view name) {
  const auto* b = find_builtin(name);
  if (!b) {
    throw Error(ErrorKind::InvalidArgument,
                "unknown chat format '" + std::string(name) + "' (built-in formats: " + names_list() + ")");
  }
  return b->second;
}

nlohmann::ordered_json normalize_chat_messages(const nlohmann::ordered_json& messages) {
  if (!messages.is_array()) throw Error(ErrorKind::InvalidArgument, "chat messages must be a JSON array of objects");
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    const std::string where = "chat message " + std::to_string(i);
    if (!m.is_object()) throw Error(ErrorKind::InvalidArgument, where + " is not an object");
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) {
      throw Error(ErrorKind::InvalidArgument, where + " has no \"role\" string");
    }
    auto content = m.find("content");
    if (content == m.end()) throw Error(ErrorKind::InvalidArgument, where + " has no \"content\"");
    nlohmann::ordered_json msg = m;
    if (content->is_array()) {
      std::string text;
      for (size_t j = 0; j < content->size(); ++j) {
        const auto& part = (*content)[j];
        const std::string pwhere = where + " content part " + std::to_string(j);
        if (!part.is_object() || !part.contains("type") || !part["type"].is_string()) {
          throw Error(ErrorKind::InvalidArgument, pwhere + " has no \"type\" string");
        }
        const std::string type = part["type"].get<std::string>();
        if (type != "text") throw Error(ErrorKind::Unsupported, pwhere + " has type '" + type + "' (only text is supported)");
        if (!part.contains("text") || !part["text"].is_string()) {
          throw Error(ErrorKind::InvalidArgument, pwhere + " has no \"text\" string");
        }
        if (j > 0) text += '\n';
        text += part["text"].get<std::string>();
      }
      msg["content"] = text;
    } else if (!content->is_string()) {
      throw Error(ErrorKind::InvalidArgument, where + ": \"content\" must be a string or a list of text parts");
    }
    out.push_back(std::move(msg));
  }
  return out;
}

ChatFormat::ChatFormat(const Model& model, ChatTemplate tmpl, std::string name)
    : model_(&model), template_(std::move(tmpl)), name_(std::move(name)),
      bos_text_(token_text_or_empty(model, model.bos())), eos_text_(token_text_or_empty(model, model.eos())) {}

ChatFormat ChatFormat::from_source(const Model& model, std::string_view source, std::string name) {
  return ChatFormat(model, ChatTemplate::parse(source), std::move(name));
}

ChatFormat ChatFormat::for_model(const Model& model, std::string_view spec) {
  if (spec.empty()) {
    const std::string src = model.file().get_string("tokenizer.chat_template", "");
    if (src.empty()) {
      throw Error(ErrorKind::InvalidArgument, model.path() +
                                                  " has no tokenizer.chat_template: name a chat format (built-in: " +
                                                  names_list() + ") or a template file");
    }
    return from_source(model, src, "gguf");
  }
  if (const auto* b = find_builtin(spec)) return from_source(model, b->second, b->first);
  const std::string path(spec);
  if (!std::filesystem::is_regular_file(path)) {
    throw Error(ErrorKind::InvalidArgument, "chat template '" + path + "' is neither a built-in format (" +
                                                names_list() + ") nor a file");
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorKind::FileNotFound, "cannot open chat template file " + path);
  const std::string src((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return from_source(model, src, "file:" + path);
}

std::string ChatFormat::render(const nlohmann::ordered_json& messages, bool add_generation_prompt) const {
  nlohmann::ordered_json context = {{"messages", normalize_chat_messages(messages)},
                                    {"add_generation_prompt", add_generation_prompt},
                                    {"bos_token", bos_text_},
                                    {"eos_token", eos_text_}};
  return template_.render(context);
}

bool ChatFormat::add_bos(std::string_view prompt) const {
  if (!model_->add_bos_default()) return false;
  return bos_text_.empty() || !prompt.starts_with(bos_text_);
}

std::vector<TokenId> ChatFormat::tokenize(std::string_view prompt) const {
  return model_->tokenize(prompt, add_bos(prompt), /*parse_special=*/true);
}

}  // namespace lp
