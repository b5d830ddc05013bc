// load_grammar: --grammar / --grammar-file / --json-schema -> a compiled lp::Grammar.
#include <cstdio>
#include <fstream>
#include <iterator>

#include "generation_options.h"
#include "llamaprof/error.h"
#include "sampling/grammar.h"
#include "sampling/json_schema.h"

namespace lp::cli {

namespace {

std::string read_text_file(const std::string& path, const char* what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorKind::FileNotFound, std::string("cannot open ") + what + " file " + path);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace

std::shared_ptr<const Grammar> load_grammar(const GrammarOptions& g) {
  if (!g.grammar_file.empty()) return Grammar::parse(read_text_file(g.grammar_file, "grammar"));
  if (!g.grammar.empty()) {
    // A GBNF grammar always has a rule ("::="); a file name practically never does.
    if (g.grammar.find("::=") != std::string::npos) return Grammar::parse(g.grammar);
    return Grammar::parse(read_text_file(g.grammar, "grammar"));
  }
  if (g.json_schema.empty()) return nullptr;
  const size_t first = g.json_schema.find_first_not_of(" \t\r\n");
  const bool inline_text = first != std::string::npos && (g.json_schema[first] == '{' || g.json_schema.substr(first) == "true");
  const JsonSchemaGrammar j =
      json_schema_to_gbnf(inline_text ? g.json_schema : read_text_file(g.json_schema, "JSON schema"));
  for (const std::string& w : j.warnings) std::fprintf(stderr, "llamaprof: warning: %s\n", w.c_str());
  return Grammar::parse(j.gbnf);
}

}  // namespace lp::cli
