// `llamaprof tokenize`: a model's tokenizer on the command line, for people and for the llama.cpp
// parity test.
//   llamaprof tokenize -m MODEL [--json] [--no-bos] [--parse-special] TEXT
//   llamaprof tokenize -m MODEL --file F ...   F holds one JSON string per line; each gets one output
//                                             line (a JSON array with --json), so a whole corpus costs
//                                             one process and one model load
//   llamaprof tokenize -m MODEL --file F --repeat N   encodes each text N times and prints, on stderr,
//                                             the best time per text as JSON (bench/tokenizer_vs_llamacpp.mjs)
//   llamaprof tokenize -m MODEL --eog                one JSON object: the tokenizer model, the BPE
//                                             pre-tokenizer, n_vocab and the end-of-generation ids
//   llamaprof tokenize -m MODEL --decode [--render-special] [--json] IDS
//                                             IDS (or each line of F) is a JSON array of token ids;
//                                             prints the text as llama.cpp's detokenize gives it
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "gguf/reader.h"
#include "llamaprof/error.h"
#include "tokenizer/tokenizer.h"

namespace lp::cli {
namespace {

struct TokenizeArgs {
  std::string model;
  std::string text;
  bool has_text = false;  // TEXT was given (it may be the empty string)
  std::string file;
  bool json = false;
  bool no_bos = false;
  bool parse_special = false;
  bool decode = false;
  bool render_special = false;
  bool eog = false;
  int repeat = 0;  // > 0: time the encoding (best of `repeat`)
};

nlohmann::json parse_json_line(const std::string& line, const std::string& where) {
  try {
    return nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::InvalidArgument, where + ": not JSON: " + e.what());
  }
}

std::string dump(const nlohmann::json& j) {
  // Byte tokens can leave invalid UTF-8; JSON output shows it as U+FFFD rather than failing.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Encodes `text` args.repeat times; prints the best wall time and the throughput on stderr.
std::vector<TokenId> timed_encode(const Tokenizer& tok, const std::string& text, const TokenizeArgs& args) {
  std::vector<TokenId> ids;
  double best = 1e30;
  for (int i = 0; i < args.repeat; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    ids = tok.encode(text, !args.no_bos, args.parse_special);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const nlohmann::json j = {{"bytes", text.size()}, {"tokens", ids.size()}, {"seconds", best},
                            {"mb_per_s", static_cast<double>(text.size()) / 1e6 / best}};
  std::fprintf(stderr, "%s\n", j.dump().c_str());
  return ids;
}

void print_encoded(const Tokenizer& tok, const std::string& text, const TokenizeArgs& args) {
  const std::vector<TokenId> ids =
      args.repeat > 0 ? timed_encode(tok, text, args) : tok.encode(text, !args.no_bos, args.parse_special);
  if (args.json) {
    std::printf("%s\n", dump(ids).c_str());
    return;
  }
  for (TokenId id : ids) std::printf("%6d -> '%s'\n", id, tok.token_to_piece(id).c_str());
  if (!args.file.empty()) std::printf("\n");  // blank line between the texts of a file
}

void print_decoded(const Tokenizer& tok, const nlohmann::json& ids_json, const std::string& where,
                   const TokenizeArgs& args) {
  std::vector<TokenId> ids;
  try {
    ids = ids_json.get<std::vector<TokenId>>();
  } catch (const nlohmann::json::exception&) {
    throw Error(ErrorKind::InvalidArgument, where + ": expected a JSON array of token ids");
  }
  const std::string text = tok.decode(ids, args.render_special);
  if (args.json) {
    std::printf("%s\n", dump(text).c_str());
  } else {
    std::printf("%s\n", text.c_str());
  }
}

int run_tokenize(const TokenizeArgs& args) {
  if (!args.eog && args.has_text == !args.file.empty()) {
    throw Error(ErrorKind::InvalidArgument, "tokenize: give either TEXT or --file F (exactly one)");
  }
  // Only the tokenizer metadata is read: vocabulary-only GGUF files (no tensors) work.
  const gguf::File file = gguf::File::open(args.model);
  const Tokenizer tok = Tokenizer::from_gguf(file);
  if (args.eog) {
    const nlohmann::json j = {{"model", tok.model()}, {"pre", tok.pre()}, {"n_vocab", tok.n_vocab()},
                              {"bos", tok.bos()}, {"eos", tok.eos()}, {"eog", tok.eog_ids()}};
    std::printf("%s\n", dump(j).c_str());
    return 0;
  }

  auto handle = [&](const std::string& input, const std::string& where, bool input_is_json) {
    if (args.decode) {
      print_decoded(tok, parse_json_line(input, where), where, args);
      return;
    }
    if (!input_is_json) {
      print_encoded(tok, input, args);
      return;
    }
    const nlohmann::json j = parse_json_line(input, where);
    if (!j.is_string()) throw Error(ErrorKind::InvalidArgument, where + ": expected a JSON string");
    print_encoded(tok, j.get<std::string>(), args);
  };

  if (args.file.empty()) {
    handle(args.text, "TEXT", false);
    return 0;
  }
  std::ifstream in(args.file, std::ios::binary);
  if (!in) throw Error(ErrorKind::FileNotFound, args.file + ": cannot open");
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    handle(line, args.file + ":" + std::to_string(line_no), true);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

void register_tokenize(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* cmd = app.add_subcommand("tokenize", "Token ids of a text with a model's tokenizer (or text of ids with --decode)");
  cmd->add_option("-m,--model", args->model, "GGUF file whose tokenizer to use")->required();
  auto* text = cmd->add_option("text", args->text, "the text (with --decode: a JSON array of ids)");
  cmd->add_option("--file", args->file, "one JSON string per line (with --decode: one JSON id array per line)");
  cmd->add_flag("--json", args->json, "print a JSON array of ids (with --decode: a JSON string)");
  cmd->add_flag("--no-bos", args->no_bos, "do not add BOS (nor EOS when the vocabulary asks for it)");
  cmd->add_flag("--parse-special", args->parse_special, "text such as <s> becomes its control token");
  cmd->add_flag("--decode", args->decode, "ids to text, as llama.cpp's detokenize");
  cmd->add_flag("--render-special", args->render_special, "with --decode: control tokens print as their text");
  cmd->add_option("--repeat", args->repeat, "encode each text N times; print the best time on stderr (JSON)");
  cmd->add_flag("--eog", args->eog, "print the tokenizer model, pre-tokenizer and end-of-generation ids as JSON");
  cmd->callback([args, text, exit_code] {
    args->has_text = text->count() > 0;
    *exit_code = run_tokenize(*args);
  });
}

}  // namespace lp::cli
