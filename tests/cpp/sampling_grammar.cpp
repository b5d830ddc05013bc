// GBNF parsing, the incremental matcher, the token stage and the sampler with a grammar.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "llamaprof/error.h"
#include "sampling/grammar.h"
#include "sampling/grammar_matcher.h"
#include "sampling/grammar_stage.h"
#include "sampling/sampler.h"

namespace lp {
namespace {

const std::string kGrammarDir = std::string(LLAMAPROF_SOURCE_DIR) + "/tools/oracle/generated/llama.cpp/grammars";

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::shared_ptr<const Grammar> bundle(const std::string& name) { return Grammar::parse(read_file(kGrammarDir + "/" + name)); }

// The whole text is in the grammar's language.
bool full_match(const std::shared_ptr<const Grammar>& g, std::string_view text) {
  GrammarMatcher m(g);
  return m.accept(text) && m.is_complete();
}

// The text is a prefix of something in the language.
bool prefix_match(const std::shared_ptr<const Grammar>& g, std::string_view text) {
  GrammarMatcher m(g);
  return m.accept(text);
}

std::string parse_error(std::string_view text) {
  try {
    Grammar::parse(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    return e.what();
  }
  return "(parsed)";
}

TEST(GrammarParse, EveryBundledGrammarParses) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kGrammarDir)) {
    if (entry.path().extension() != ".gbnf") continue;
    SCOPED_TRACE(entry.path().string());
    std::shared_ptr<const Grammar> g;
    EXPECT_NO_THROW(g = Grammar::parse(read_file(entry.path().string())));
    if (g) {
      EXPECT_EQ(g->rule_name(g->root()), "root");
    }
    ++n;
  }
  EXPECT_GE(n, 8) << "the bundle's grammars/ folder (scripts/setup extracts it)";
}

TEST(GrammarParse, BundledGrammarsAcceptAndRejectSamples) {
  auto json = bundle("json.gbnf");
  EXPECT_TRUE(full_match(json, R"({"a": [1, 2.5, -3e7, true, null], "b": {"c": "d\n\u00e9"}})"));
  EXPECT_TRUE(full_match(json, "{}"));
  EXPECT_FALSE(full_match(json, "[1, 2]"));  // root is an object
  EXPECT_FALSE(prefix_match(json, "{\"a\": tru e"));
  EXPECT_TRUE(prefix_match(json, "{\"a\": tru"));
  EXPECT_FALSE(full_match(json, "{\"a\": tru"));
  auto arith = bundle("arithmetic.gbnf");
  EXPECT_TRUE(full_match(arith, "1+2*x= (3 -4)\n"));  // expr "=" ws term "\n"
  EXPECT_FALSE(prefix_match(arith, "1+ 2"));  // no space after an operator
  EXPECT_FALSE(full_match(arith, "1+2=3"));
  auto list = bundle("list.gbnf");
  EXPECT_TRUE(full_match(list, "- one\n- two\n"));
  EXPECT_FALSE(prefix_match(list, "-one"));
  auto chess = bundle("chess.gbnf");
  EXPECT_TRUE(full_match(chess, "1. e4 e5\n2. Nf3 Nc6\n"));
  EXPECT_FALSE(prefix_match(chess, "1. e9"));
  auto japanese = bundle("japanese.gbnf");
  EXPECT_TRUE(prefix_match(japanese, "こんにちは"));
  EXPECT_FALSE(prefix_match(japanese, "hello"));
}

TEST(GrammarParse, MalformedGrammarsNameLineAndColumn) {
  EXPECT_NE(parse_error("root ::= foo").find("line 1, column 10: undefined rule 'foo'"), std::string::npos)
      << parse_error("root ::= foo");
  EXPECT_NE(parse_error("a ::= \"x\"\n").find("no 'root' rule"), std::string::npos);
  EXPECT_NE(parse_error("a ::= \"x\"\n").find("line 2, column 1"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"\\q\"").find("line 1, column 11: unknown escape '\\q'"), std::string::npos)
      << parse_error("root ::= \"\\q\"");
  EXPECT_NE(parse_error("root ::= (\"a\"").find("line 1, column 14: expected ')'"), std::string::npos)
      << parse_error("root ::= (\"a\"");
  EXPECT_NE(parse_error("root ::= [a-z").find("line 1, column 10: unterminated character class"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"abc").find("line 1, column 10: unterminated string literal"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"a\"\nx ::= \"b\" )\n").find("line 2, column 11: expected the end of the line"),
            std::string::npos)
      << parse_error("root ::= \"a\"\nx ::= \"b\" )\n");
  EXPECT_NE(parse_error("root ::= root \"a\"").find("left recursion"), std::string::npos);
  EXPECT_NE(parse_error("root ::= x\nx ::= y \"a\"\ny ::= \"\" | x").find("left recursion"), std::string::npos);
  EXPECT_NE(parse_error("root ::= (\"a\"?)*").find("left recursion"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"a\"{3,1}").find("max < min"), std::string::npos);
  EXPECT_NE(parse_error("root ::= *").find("line 1, column 10: repetition operator '*' without an item"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"a\"\nroot ::= \"b\"").find("line 2, column 1: rule 'root' is defined twice (first at line 1, column 1)"),
            std::string::npos);
  EXPECT_NE(parse_error("root ::= <think>").find("token references"), std::string::npos);
  EXPECT_NE(parse_error("root ::= [z-a]").find("end before its start"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"\\xZZ\"").find("hex digits"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"\\U00110000\"").find("above U+10FFFF"), std::string::npos);
  EXPECT_NE(parse_error("root ::= []").find("empty character class"), std::string::npos);
  EXPECT_NE(parse_error("root := \"a\"").find("expected '::='"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"a\"{100001}").find("repetition count above"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"\xff\"").find("invalid UTF-8"), std::string::npos);
  // Columns count characters, not bytes: "$" is the 14th character (and the 15th byte).
  EXPECT_NE(parse_error("root ::= \"é\" $").find("line 1, column 14: expected the end of the line"), std::string::npos)
      << parse_error("root ::= \"é\" $");
}

TEST(GrammarParse, SyntaxDetails) {
  // Comments, newlines inside groups and after |, escapes, empty alternatives.
  auto g = Grammar::parse(
      "# leading comment\n"
      "root ::= (\n"
      "  \"a\" |   # first\n"
      "  \"\\x62\" | \"\\u00e9\" | \"\\U0001F600\" | [\\t\\n] | \"\\\"\" ) tail\n"
      "\n"
      "tail ::= | \"!\"\n");
  for (const char* ok : {"a", "b", "é", "😀", "\t", "\n", "\"", "a!"}) EXPECT_TRUE(full_match(g, ok)) << ok;
  EXPECT_FALSE(prefix_match(g, "c"));
  auto dot = Grammar::parse("root ::= . [^a-c] [a-c-]");
  EXPECT_TRUE(full_match(dot, "éd-"));
  EXPECT_TRUE(full_match(dot, "xxb"));
  EXPECT_FALSE(prefix_match(dot, "xb"));
  auto names = Grammar::parse("root ::= Item-2\nItem-2 ::= \"ok\"");
  EXPECT_TRUE(full_match(names, "ok"));
}

TEST(GrammarMatcher, RepetitionBounds) {
  auto r24 = Grammar::parse("root ::= \"a\"{2,4}");
  EXPECT_TRUE(prefix_match(r24, "a"));
  EXPECT_FALSE(full_match(r24, "a"));
  EXPECT_TRUE(full_match(r24, "aa"));
  EXPECT_TRUE(full_match(r24, "aaaa"));
  EXPECT_FALSE(prefix_match(r24, "aaaaa"));
  auto r3 = Grammar::parse("root ::= (\"ab\"){3}");
  EXPECT_TRUE(full_match(r3, "ababab"));
  EXPECT_FALSE(full_match(r3, "abab"));
  EXPECT_FALSE(prefix_match(r3, "abababa"));
  auto r2plus = Grammar::parse("root ::= [0-9]{2,} \";\"");
  EXPECT_FALSE(prefix_match(r2plus, "1;"));
  EXPECT_TRUE(full_match(r2plus, "12;"));
  EXPECT_TRUE(full_match(r2plus, "123456789;"));
  auto r0 = Grammar::parse("root ::= \"x\" \"a\"{0} \"y\"");
  EXPECT_TRUE(full_match(r0, "xy"));
  auto ops = Grammar::parse("root ::= \"a\"* \"b\"+ \"c\"?");
  for (const char* ok : {"b", "ab", "aaabbb", "bc", "aabc"}) EXPECT_TRUE(full_match(ops, ok)) << ok;
  for (const char* bad : {"", "a", "c", "abcc", "ba"}) EXPECT_FALSE(full_match(ops, bad)) << bad;
  // Right recursion of any depth keeps the stacks flat (no growth with the text).
  auto star = Grammar::parse("root ::= [a-z]*");
  GrammarMatcher m(star);
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(m.accept("x"));
  ASSERT_EQ(m.stacks().size(), 2u);
  int depth = 0;
  for (const StackNode* s : m.stacks()) {
    int d = 0;
    for (; s; s = s->parent) ++d;
    depth = std::max(depth, d);
  }
  EXPECT_LE(depth, 2);
}

TEST(GrammarMatcher, CompletionAndContinuation) {
  auto g = Grammar::parse("root ::= \"ab\" | \"abc\"");
  GrammarMatcher m(g);
  EXPECT_FALSE(m.is_complete());
  ASSERT_TRUE(m.accept("ab"));
  EXPECT_TRUE(m.is_complete());
  EXPECT_TRUE(m.can_continue());
  ASSERT_TRUE(m.accept("c"));
  EXPECT_TRUE(m.is_complete());
  EXPECT_FALSE(m.can_continue());
  EXPECT_FALSE(m.accept("d"));  // rejected: state unchanged
  EXPECT_TRUE(m.is_complete());
  m.reset();
  EXPECT_TRUE(m.accepts("abc"));
  EXPECT_FALSE(m.is_complete());  // accepts() only checks
}

TEST(GrammarMatcher, PartialUtf8AcrossTokens) {
  auto g = Grammar::parse("root ::= \"é\" \"x\"");  // é = C3 A9
  GrammarMatcher m(g);
  ASSERT_TRUE(m.accept("\xC3"));
  EXPECT_TRUE(m.has_partial());
  EXPECT_FALSE(m.is_complete());
  EXPECT_FALSE(m.accepts("\xA8"));  // è: a valid character, but not the grammar's
  EXPECT_FALSE(m.accepts("x"));     // not a continuation byte
  ASSERT_TRUE(m.accept("\xA9"));
  ASSERT_TRUE(m.accept("x"));
  EXPECT_TRUE(m.is_complete());
  // A lead byte whose characters the grammar never allows is rejected at once.
  auto ascii = Grammar::parse("root ::= [a-z]+");
  EXPECT_FALSE(prefix_match(ascii, "\xC3"));
  EXPECT_FALSE(prefix_match(ascii, "\x80"));       // a stray continuation byte
  EXPECT_FALSE(prefix_match(ascii, "a\xC0\xAF"));  // overlong
  // A four-byte character split 1 + 2 + 1.
  auto emoji = Grammar::parse("root ::= [\\U0001F600-\\U0001F64F]");
  GrammarMatcher e(emoji);
  ASSERT_TRUE(e.accept("\xF0"));
  ASSERT_TRUE(e.accept("\x9F\x98"));
  EXPECT_FALSE(e.accepts("\x7F"));
  ASSERT_TRUE(e.accept("\x80"));
  EXPECT_TRUE(e.is_complete());
  // The partial sequence must be able to become a character the grammar takes: F0 9F 99 xx covers
  // U+1F640..U+1F67F, which overlaps the class; F0 9F 9A xx (U+1F680..) does not.
  GrammarMatcher f(emoji);
  EXPECT_TRUE(f.accepts("\xF0\x9F\x99"));
  EXPECT_FALSE(f.accepts("\xF0\x9F\x9A"));
  auto negated = Grammar::parse("root ::= [^\\u00e0-\\u00ff]");
  GrammarMatcher n(negated);
  EXPECT_TRUE(n.accepts("\xC3"));  // C3 xx is U+00C0..U+00FF, of which U+00C0..U+00DF remain
  GrammarMatcher n2(Grammar::parse("root ::= [^\\u00c0-\\u00ff]"));
  EXPECT_FALSE(n2.accepts("\xC3"));  // every C3 xx is excluded
  EXPECT_TRUE(n2.accepts("\xC2"));
}

TEST(GrammarMatcher, AmbiguityIsBounded) {
  // Exponentially many parses of the same text collapse into equal stacks.
  auto g = Grammar::parse("root ::= (\"a\" | \"a\" | [a-z])*");
  GrammarMatcher m(g);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(m.accept("a"));
  EXPECT_LE(m.stacks().size(), 4u);
}

// A small vocabulary: pieces and EOG flags.
std::shared_ptr<const GrammarVocab> toy_vocab(std::vector<std::string> pieces, int32_t eog_id) {
  std::vector<bool> eog(pieces.size(), false);
  if (eog_id >= 0) eog[size_t(eog_id)] = true;
  return std::make_shared<GrammarVocab>(std::move(pieces), std::move(eog));
}

std::vector<int32_t> allowed_ids(GrammarStage& st, size_t n) {
  std::vector<Candidate> cands;
  for (size_t i = 0; i < n; ++i) cands.push_back({int32_t(i), 0.0f, 0.0f});
  cands.resize(st.filter(cands));
  std::vector<int32_t> ids;
  for (const Candidate& c : cands) ids.push_back(c.id);
  return ids;
}

TEST(GrammarStage, FiltersTokensAndAllowsEogOnlyWhenComplete) {
  //                       0     1     2      3     4      5     6        7        8      9   10
  auto vocab = toy_vocab({"{", "}", "{}", "\"", "ab", " ", "\xC3", "\xA9", "é", "", "</s>"}, 10);
  auto g = Grammar::parse("root ::= \"{\" [a-z é]* \"}\"");
  GrammarStage st(g, vocab);
  EXPECT_EQ(allowed_ids(st, 11), (std::vector<int32_t>{0, 2}));
  EXPECT_FALSE(st.allows(10));
  EXPECT_FALSE(st.allows(9));  // empty piece: never
  st.accept(0);
  EXPECT_EQ(allowed_ids(st, 11), (std::vector<int32_t>{1, 4, 5, 6, 8}));  // 6: C3 can start é
  st.accept(6);
  EXPECT_TRUE(st.matcher().has_partial());
  EXPECT_EQ(allowed_ids(st, 11), (std::vector<int32_t>{7}));
  st.accept(7);
  st.accept(1);
  EXPECT_TRUE(st.is_complete());
  EXPECT_FALSE(st.can_continue());
  EXPECT_EQ(allowed_ids(st, 11), (std::vector<int32_t>{10}));
  EXPECT_THROW(st.accept(4), Error);
}

// The trie walk and the one-token check agree on every token, at many states of a real grammar.
TEST(GrammarStage, TrieWalkAgreesWithPerTokenCheck) {
  std::mt19937 rng(7);
  const std::string alphabet = "{}[]\",:0123456789.-+eE tfrunal\\\n\tbxyz\xC3\xA9\xE3\x81\x82";
  std::vector<std::string> pieces;
  for (int i = 0; i < 3000; ++i) {
    std::string p;
    const int len = 1 + int(rng() % 6);
    for (int k = 0; k < len; ++k) p += alphabet[rng() % alphabet.size()];
    pieces.push_back(p);
  }
  for (const char* s : {"{", "}", "\"", ":", ",", " ", "true", "null", "1", "a"}) pieces.push_back(s);
  pieces.push_back("<eos>");
  auto vocab = toy_vocab(pieces, int32_t(pieces.size() - 1));
  auto g = bundle("json.gbnf");
  for (int run = 0; run < 20; ++run) {
    GrammarStage st(g, vocab);
    for (int step = 0; step < 30; ++step) {
      std::vector<uint8_t> allowed;
      st.allowed_tokens(allowed);
      std::vector<int32_t> ok;
      for (size_t id = 0; id < pieces.size(); ++id) {
        ASSERT_EQ(bool(allowed[id]), st.allows(int32_t(id))) << "token " << id << " '" << pieces[id] << "' step " << step;
        if (allowed[id] && !vocab->is_eog(int32_t(id))) ok.push_back(int32_t(id));
      }
      if (ok.empty()) break;
      st.accept(ok[rng() % ok.size()]);
    }
  }
}

TEST(GrammarStage, SamplerChecksThePickFirstThenFilters) {
  auto vocab = toy_vocab({"a", "b", "c", "<eos>"}, 3);
  auto g = Grammar::parse("root ::= [bc] \"a\"");
  SamplerParams sp;
  sp.temperature = 0.0f;
  sp.repeat_penalty = 1.0f;
  Sampler greedy(sp);
  GrammarStage st(g, vocab);
  std::vector<float> logits = {5.0f, 1.0f, 2.0f, 9.0f};  // a and <eos> are most likely, but not allowed
  EXPECT_EQ(greedy.sample(logits, {}, &st), 2);
  st.accept(2);
  EXPECT_EQ(greedy.sample(logits, {}, &st), 0);
  st.accept(0);
  EXPECT_EQ(greedy.sample(logits, {}, &st), 3);  // complete: only EOG is left
  // Stochastic: every draw is allowed.
  sp.temperature = 1.0f;
  sp.top_k = 0;
  sp.top_p = 1.0f;
  sp.min_p = 0.0f;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    sp.seed = seed;
    Sampler s(sp);
    GrammarStage fresh(g, vocab);
    const int32_t id = s.sample(logits, {}, &fresh);
    EXPECT_TRUE(id == 1 || id == 2) << id;
  }
  // Nothing allowed: an error, not a silent pick.
  auto none = toy_vocab({"a", "<eos>"}, 1);
  GrammarStage st2(Grammar::parse("root ::= \"z\""), none);
  Sampler s2(sp);
  std::vector<float> two = {1.0f, 2.0f};
  EXPECT_THROW(s2.sample(two, {}, &st2), Error);
}

}  // namespace
}  // namespace lp
