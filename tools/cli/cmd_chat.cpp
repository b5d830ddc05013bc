// `llamaprof chat`: an interactive conversation in the terminal. Each turn renders the whole
// conversation with the chat template and evaluates only the tokens the KV cache does not hold
// (lp::ChatSession). Input comes through a small line editor (line_editor.h: history with Up/Down,
// cursor keys) in a terminal, plain read(2) otherwise; a line ending with '\' continues on the
// next line. Ctrl-C stops the current reply; at the prompt a second Ctrl-C (or Ctrl-D) exits.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "generation_options.h"
#include "line_editor.h"
#include "llamaprof/chat_session.h"
#include "llamaprof/context.h"
#include "llamaprof/error.h"
#include "llamaprof/generate.h"
#include "llamaprof/model.h"

namespace lp::cli {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_chat_sigint(int) { g_interrupted.store(true); }

struct ChatOptions {
  std::string model;
  std::string system;
  std::string chat_template;
  int n_predict = -1;
  int threads = 0;
  int ctx = 0;
  int batch = 512;
  KvType cache_type_k = KvType::F16, cache_type_v = KvType::F16;
  SamplerParams sampler;
  GrammarOptions grammar;  // every reply follows it
};

// A message: lines ending with '\' continue (the backslash becomes a newline). Each line
// goes into the history. read(2) is interrupted by SIGINT (no SA_RESTART).
Input read_message(LineEditor& editor, std::string& msg) {
  msg.clear();
  const char* prompt = "> ";
  for (std::string line;;) {
    const Input in = editor.read(prompt, line);
    if (in != Input::Line) return in;
    editor.add_history(line);
    if (!line.empty() && line.back() == '\\') {
      line.back() = '\n';
      msg += line;
      prompt = "... ";
      continue;
    }
    msg += line;
    return Input::Line;
  }
}

void print_summary(const ChatTurn& t) {
  const Timings& tm = t.result.timings;
  std::fprintf(stderr, "[prompt: %d new tokens (%d in conversation) | reply: %d tokens, %.1f t/s | ttft %.1f ms%s]\n",
               tm.prompt_tokens, t.prompt_total, tm.gen_tokens, tm.gen_tps, t.ttft_ms,
               t.result.finish_reason == "cancelled" ? " | interrupted" : "");
}

int chat(const ChatOptions& o) {
  const std::shared_ptr<const Grammar> grammar = load_grammar(o.grammar);
  Model model = Model::load(o.model);
  ContextParams cp;
  cp.n_ctx = o.ctx;
  cp.n_batch = o.batch;
  cp.n_threads = o.threads;
  cp.type_k = o.cache_type_k;
  cp.type_v = o.cache_type_v;
  Context ctx(model, cp);
  ChatFormat format = ChatFormat::for_model(model, o.chat_template);
  ChatSession session(ctx, format, o.system);
  std::fprintf(stderr, "llamaprof chat: %s, format %s, ctx %d. /clear starts over, /exit (or Ctrl-D) quits; "
                       "end a line with \\ to continue it; Ctrl-C stops a reply.\n",
               model.path().c_str(), format.name().c_str(), ctx.n_ctx());

  struct sigaction sa = {};
  sa.sa_handler = on_chat_sigint;  // no SA_RESTART: a blocked read() returns EINTR
  sigemptyset(&sa.sa_mask);
  struct sigaction old = {};
  sigaction(SIGINT, &sa, &old);

  GenerateParams gp;
  gp.max_tokens = o.n_predict;
  gp.sampler = o.sampler;
  gp.cancel = &g_interrupted;
  gp.grammar = grammar;
  bool interrupted_at_prompt = false;
  LineEditor editor(g_interrupted);
  for (std::string msg;;) {
    const Input in = read_message(editor, msg);
    if (in == Input::Eof) break;
    if (in == Input::Interrupted) {
      if (interrupted_at_prompt) break;
      interrupted_at_prompt = true;
      std::fputs("\n(Ctrl-C again or Ctrl-D to exit)\n", stdout);
      continue;
    }
    interrupted_at_prompt = false;
    if (msg.empty()) continue;
    if (msg == "/exit") break;
    if (msg == "/clear") {
      session.clear();
      std::fputs("(new conversation)\n", stdout);
      continue;
    }
    if (msg[0] == '/') {
      std::printf("unknown command %s (commands: /clear, /exit)\n", msg.c_str());
      continue;
    }
    size_t printed = 0;
    gp.on_token = [&](const GenerateStep& step) {
      std::fwrite(step.piece.data(), 1, step.piece.size(), stdout);
      std::fflush(stdout);
      printed += step.piece.size();
      return true;
    };
    g_interrupted.store(false);
    try {
      ChatTurn t = session.reply(msg, gp);
      const std::string& text = t.result.text;
      if (printed < text.size()) std::fwrite(text.data() + printed, 1, text.size() - printed, stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
      print_summary(t);
    } catch (const Error& e) {
      // The conversation stays as it was (the message is taken back): the user can /clear.
      std::fflush(stdout);
      std::fprintf(stderr, "llamaprof: error: %s (/clear starts a new conversation)\n", e.what());
    }
    g_interrupted.store(false);
  }
  std::fputc('\n', stdout);
  sigaction(SIGINT, &old, nullptr);
  return 0;
}

}  // namespace

void register_chat(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ChatOptions>();
  auto* cmd = app.add_subcommand("chat", "talk with a model in the terminal (each turn evaluates only its new tokens)");
  cmd->add_option("-m,--model", o->model, "GGUF model file")->required();
  cmd->add_option("--system", o->system, "system message at the start of the conversation");
  cmd->add_option("--chat-template", o->chat_template,
                  "a built-in format (chatml, llama2, llama3, mistral-v7, gemma, phi3, zephyr) or a Jinja file "
                  "(default: the model's tokenizer.chat_template)");
  cmd->add_option("-n,--n-predict", o->n_predict, "most tokens per reply (<= 0: until EOS or the context is full)")
      ->capture_default_str();
  add_context_options(cmd, o->threads, o->ctx, o->batch);
  add_cache_type_options(cmd, o->cache_type_k, o->cache_type_v);
  add_sampling_options(cmd, o->sampler);
  add_grammar_options(cmd, o->grammar);
  cmd->callback([o, exit_code] { *exit_code = chat(*o); });
}

}  // namespace lp::cli
