// libFuzzer target for the GBNF parser, the matcher and the token stage. Input layout:
//   'J' SCHEMA           a JSON schema: converted, and then its grammar must parse
//   GRAMMAR '\0' TEXT    a grammar; when it parses, TEXT is fed to a matcher in small pieces, and at
//                        every step the trie walk and the one-token check must agree on a small
//                        vocabulary (with partial UTF-8 pieces)
// Bad input must be lp::Error (InvalidArgument or Unsupported): no crash, hang or other exception.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "llamaprof/error.h"
#include "sampling/grammar.h"
#include "sampling/grammar_matcher.h"
#include "sampling/grammar_stage.h"
#include "sampling/json_schema.h"

namespace {

std::shared_ptr<const lp::GrammarVocab> vocab() {
  static const auto v = [] {
    std::vector<std::string> pieces = {"a", "b", "ab", "abc", " ", "\n", "\"", "{", "}", "[", "]", ",", ":", "0", "12",
                                       "-", "x", "yz", "\xC3", "\xA9", "\xC3\xA9", "\xE3\x81", "\x82", "\xF0\x9F\x98\x80",
                                       "", "\x80", "true", "null", "</s>"};
    std::vector<bool> eog(pieces.size(), false);
    eog.back() = true;
    return std::make_shared<lp::GrammarVocab>(std::move(pieces), std::move(eog));
  }();
  return v;
}

void check_error(const lp::Error& e) {
  if (e.kind() != lp::ErrorKind::InvalidArgument && e.kind() != lp::ErrorKind::Unsupported) std::abort();
}

void fuzz_schema(std::string_view schema) {
  lp::JsonSchemaGrammar j;
  try {
    j = lp::json_schema_to_gbnf(schema);
  } catch (const lp::Error& e) {
    check_error(e);
    return;
  }
  try {
    lp::Grammar::parse(j.gbnf);
  } catch (const lp::Error& e) {
    // The converter's output always parses, except for schemas that refer to themselves before
    // any JSON text ({"anyOf": [{"$ref": "#"}, ...]}): those are left-recursive grammars.
    // Size limits of the grammar parser (a huge repetition count) are errors, not bugs, too.
    const std::string_view what = e.what();
    if (what.find("left recursion") == std::string_view::npos && what.find("repetition count above") == std::string_view::npos &&
        what.find("too large") == std::string_view::npos) {
      std::abort();
    }
  }
}

void fuzz_grammar(std::string_view source, std::string_view text) {
  std::shared_ptr<const lp::Grammar> g;
  try {
    g = lp::Grammar::parse(source);
  } catch (const lp::Error& e) {
    check_error(e);
    return;
  }
  try {
    lp::GrammarStage stage(g, vocab());
    lp::GrammarMatcher m(g);
    std::vector<uint8_t> allowed;
    size_t i = 0;
    for (int step = 0; step < 64 && i < text.size(); ++step) {
      stage.allowed_tokens(allowed);
      for (size_t id = 0; id < allowed.size(); ++id) {
        if (bool(allowed[id]) != stage.allows(int32_t(id))) std::abort();
      }
      // Advance the stage by a token that is allowed (picked by the text), and the matcher by a
      // piece of the text.
      const size_t pick = static_cast<unsigned char>(text[i]) % allowed.size();
      if (allowed[pick] && !vocab()->is_eog(int32_t(pick))) stage.accept(int32_t(pick));
      const size_t n = 1 + static_cast<unsigned char>(text[i]) % 3;
      const std::string_view piece = text.substr(i, n);
      const bool would = m.accepts(piece);
      if (m.accept(piece) != would) std::abort();
      (void)m.is_complete();
      (void)m.can_continue();
      i += n;
    }
  } catch (const lp::Error& e) {
    check_error(e);  // "too ambiguous" limits
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (!in.empty() && in[0] == 'J') {
    fuzz_schema(in.substr(1));
    return 0;
  }
  const size_t nul = in.find('\0');
  fuzz_grammar(in.substr(0, nul), nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1));
  return 0;
}
