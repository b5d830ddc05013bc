// GBNF text -> lp::Grammar. A recursive-descent parser over the text, then checks (every rule
// defined, a root, no left recursion) and flattening into the symbol array the matcher walks.
//
// The syntax (llama.cpp's grammars/README.md): `name ::= alternatives` per rule; alternatives are
// sequences separated by `|`; items are "literals", [character classes] (^ negates, a-z ranges),
// `.` (any character), rule names and (groups), each optionally followed by *, +, ?, {m}, {m,},
// {m,n}. `#` starts a comment. Newlines end a rule except inside parentheses and after `|` or `::=`.
#include <algorithm>
#include <map>
#include <string>

#include "llamaprof/error.h"
#include "sampling/grammar.h"

namespace lp {

namespace {

constexpr size_t kMaxSymbols = 1 << 21;   // beyond this a grammar is a mistake (or a fuzzer)
constexpr uint32_t kMaxRepeat = 100000;   // x{m,n} bounds
constexpr int kMaxNesting = 512;          // parentheses

struct PSym {
  GrammarSymbol::Kind kind = GrammarSymbol::Chars;
  bool negate = false;
  std::vector<CharRange> ranges;  // Chars
  uint32_t rule = 0;              // RuleRef
};
using PSeq = std::vector<PSym>;

struct PRule {
  std::string name;
  bool defined = false;
  size_t def_at = 0;   // offset of the definition (errors about the rule)
  size_t ref_at = 0;   // offset of the first reference (undefined-rule errors)
  std::vector<PSeq> alts;
};

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

}  // namespace

class GrammarBuilder {
 public:
  explicit GrammarBuilder(std::string_view text) : text_(text) {}

  std::shared_ptr<const Grammar> build() {
    skip_space(true);
    while (pos_ < text_.size()) {
      parse_rule();
      skip_space(true);
    }
    auto root = by_name_.find("root");
    if (root == by_name_.end() || !rules_[root->second].defined) fail(text_.size(), "the grammar has no 'root' rule");
    for (const PRule& r : rules_) {
      if (!r.defined) fail(r.ref_at, "undefined rule '" + r.name + "'");
    }
    check_left_recursion();
    return flatten(root->second);
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  std::vector<PRule> rules_;
  std::map<std::string, uint32_t, std::less<>> by_name_;
  size_t n_symbols_ = 0;
  int depth_ = 0;

  // "line L, column C" of a byte offset; columns count characters, not bytes.
  std::string where(size_t at) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        col = 1;
      } else if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) {
        ++col;
      }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(col);
  }

  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw Error(ErrorKind::InvalidArgument, "grammar: " + where(at) + ": " + what);
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  void skip_space(bool newline_ok) {
    while (!at_end()) {
      const char c = text_[pos_];
      if (c == ' ' || c == '\t') {
        ++pos_;
      } else if (c == '#') {
        while (!at_end() && text_[pos_] != '\n' && text_[pos_] != '\r') ++pos_;
      } else if (newline_ok && (c == '\n' || c == '\r')) {
        ++pos_;
      } else {
        break;
      }
    }
  }

  uint32_t rule_id(std::string_view name, size_t at) {
    auto it = by_name_.find(name);
    if (it != by_name_.end()) return it->second;
    const auto id = static_cast<uint32_t>(rules_.size());
    rules_.push_back(PRule{std::string(name), false, 0, at, {}});
    by_name_.emplace(std::string(name), id);
    return id;
  }

  // A rule made by the parser for a group or a repetition; its name says where it came from.
  uint32_t generated_rule(uint32_t parent, size_t at) {
    const auto id = static_cast<uint32_t>(rules_.size());
    std::string name = rules_[parent].name + "_" + std::to_string(id);
    rules_.push_back(PRule{name, true, at, at, {}});
    return id;
  }

  void count_symbols(size_t n) {
    n_symbols_ += n;
    if (n_symbols_ > kMaxSymbols) fail(pos_, "the grammar is too large (more than " + std::to_string(kMaxSymbols) + " symbols)");
  }

  std::string_view parse_name() {
    const size_t start = pos_;
    while (!at_end() && is_word_char(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  void parse_rule() {
    const size_t start = pos_;
    const std::string_view name = parse_name();
    if (name.empty()) fail(pos_, std::string("expected a rule name, found ") + describe(pos_));
    const uint32_t id = rule_id(name, start);
    if (rules_[id].defined) {
      fail(start, "rule '" + std::string(name) + "' is defined twice (first at " + where(rules_[id].def_at) + ")");
    }
    rules_[id].defined = true;
    rules_[id].def_at = start;
    skip_space(false);
    if (text_.substr(pos_, 3) != "::=") fail(pos_, "expected '::=' after rule name '" + std::string(name) + "'");
    pos_ += 3;
    skip_space(true);
    parse_alternatives(id, false);
    skip_space(false);
    if (peek() == '\r') ++pos_;
    if (!at_end() && peek() != '\n') fail(pos_, std::string("expected the end of the line, found ") + describe(pos_));
  }

  std::string describe(size_t at) const {
    if (at >= text_.size()) return "the end of the grammar";
    const unsigned char c = static_cast<unsigned char>(text_[at]);
    if (c == '\n' || c == '\r') return "the end of the line";
    if (c < 0x20 || c == 0x7F) return "control character " + std::to_string(c);
    size_t n = 1;
    while (at + n < text_.size() && (static_cast<unsigned char>(text_[at + n]) & 0xC0) == 0x80) ++n;
    return "'" + std::string(text_.substr(at, n)) + "'";
  }

  void parse_alternatives(uint32_t rule, bool nested) {
    std::vector<PSeq> alts;
    alts.push_back(parse_sequence(rule, nested));
    while (peek() == '|') {
      ++pos_;
      skip_space(true);
      alts.push_back(parse_sequence(rule, nested));
    }
    count_symbols(alts.size());  // the End symbols
    rules_[rule].alts = std::move(alts);
  }

  PSeq parse_sequence(uint32_t rule, bool nested) {
    PSeq seq;
    for (;;) {
      const size_t item_start = seq.size();
      const size_t at = pos_;
      const char c = peek();
      if (c == '"') {
        ++pos_;
        parse_literal(seq);
      } else if (c == '[') {
        ++pos_;
        seq.push_back(parse_class());
        count_symbols(1);
      } else if (c == '.') {
        ++pos_;
        seq.push_back(PSym{GrammarSymbol::Chars, true, {}, 0});  // nothing excluded: any character
        count_symbols(1);
      } else if (c == '(') {
        if (++depth_ > kMaxNesting) fail(pos_, "parentheses nested deeper than " + std::to_string(kMaxNesting));
        ++pos_;
        skip_space(true);
        const uint32_t sub = generated_rule(rule, at);
        parse_alternatives(sub, true);
        if (peek() != ')') fail(pos_, std::string("expected ')' to close the group opened at ") + where(at) + ", found " + describe(pos_));
        ++pos_;
        --depth_;
        seq.push_back(ref(sub));
      } else if (c == '<' || c == '!') {
        fail(pos_, "token references (<...>, !<...>) are not supported by llamaprof");
      } else if (is_word_char(c)) {
        const std::string_view name = parse_name();
        seq.push_back(ref(rule_id(name, at)));
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        fail(pos_, std::string("repetition operator ") + describe(pos_) + " without an item before it");
      } else {
        break;  // '|', ')', the end of the line or of the grammar (the caller checks which)
      }
      skip_space(nested);
      while (peek() == '*' || peek() == '+' || peek() == '?' || peek() == '{') {
        const size_t op_at = pos_;
        uint32_t lo = 0, hi = 0;
        bool unbounded = false;
        switch (text_[pos_++]) {
          case '*': unbounded = true; break;
          case '+': lo = 1, unbounded = true; break;
          case '?': hi = 1; break;
          default: parse_braces(lo, hi, unbounded); break;
        }
        repeat(rule, seq, item_start, lo, hi, unbounded, op_at);
        skip_space(nested);
      }
    }
    return seq;
  }

  PSym ref(uint32_t rule) {
    count_symbols(1);
    PSym s;
    s.kind = GrammarSymbol::RuleRef;
    s.rule = rule;
    return s;
  }

  uint32_t parse_number() {
    const size_t start = pos_;
    uint64_t v = 0;
    while (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      v = v * 10 + uint64_t(text_[pos_] - '0');
      if (v > kMaxRepeat) fail(start, "repetition count above " + std::to_string(kMaxRepeat));
      ++pos_;
    }
    if (pos_ == start) fail(pos_, std::string("expected a number in {...}, found ") + describe(pos_));
    return static_cast<uint32_t>(v);
  }

  void parse_braces(uint32_t& lo, uint32_t& hi, bool& unbounded) {
    const size_t open = pos_ - 1;
    skip_space(false);
    lo = parse_number();
    skip_space(false);
    hi = lo;
    if (peek() == ',') {
      ++pos_;
      skip_space(false);
      if (peek() == '}') {
        unbounded = true;
      } else {
        hi = parse_number();
        skip_space(false);
      }
    }
    if (peek() != '}') fail(pos_, std::string("expected '}' to close the repetition opened at ") + where(open) + ", found " + describe(pos_));
    ++pos_;
    if (!unbounded && hi < lo) fail(open, "repetition {" + std::to_string(lo) + "," + std::to_string(hi) + "} has max < min");
  }

  // Replaces seq[from..] (one item) by lo copies of it followed by up to hi - lo optional ones
  // (or any number more when unbounded).
  void repeat(uint32_t rule, PSeq& seq, size_t from, uint32_t lo, uint32_t hi, bool unbounded, size_t at) {
    PSeq item(seq.begin() + ptrdiff_t(from), seq.end());
    seq.resize(from);
    if (item.empty()) return;  // "" repeated is still empty
    const uint64_t copies = uint64_t(lo) + (unbounded ? 1 : uint64_t(hi - lo));
    if (item.size() > 1 && copies > 1) {  // a long item is repeated by reference
      const uint32_t r = generated_rule(rule, at);
      count_symbols(1 + item.size());
      rules_[r].alts.push_back(std::move(item));
      item = {ref(r)};
    }
    count_symbols(size_t(lo) * item.size());
    for (uint32_t i = 0; i < lo; ++i) seq.insert(seq.end(), item.begin(), item.end());
    if (unbounded) {  // s ::= item s |
      const uint32_t s = generated_rule(rule, at);
      PSeq more = item;
      more.push_back(ref(s));
      count_symbols(more.size() + 2);
      rules_[s].alts = {std::move(more), {}};
      seq.push_back(ref(s));
    } else if (hi > lo) {  // o_1 ::= item |   o_k ::= item o_(k-1) |
      uint32_t prev = 0;
      for (uint32_t k = 1; k <= hi - lo; ++k) {
        const uint32_t o = generated_rule(rule, at);
        PSeq alt = item;
        if (k > 1) alt.push_back(ref(prev));
        count_symbols(alt.size() + 2);
        rules_[o].alts = {std::move(alt), {}};
        prev = o;
      }
      seq.push_back(ref(prev));
    }
  }

  // One code point from the text (UTF-8) or an escape; `quote` is the closing delimiter.
  uint32_t parse_char() {
    const size_t at = pos_;
    const auto b0 = static_cast<unsigned char>(text_[pos_]);
    if (b0 == '\\') {
      ++pos_;
      if (at_end()) fail(at, "escape at the end of the grammar");
      const char e = text_[pos_++];
      switch (e) {
        case 'x': return parse_hex(2, at);
        case 'u': return parse_hex(4, at);
        case 'U': return parse_hex(8, at);
        case 't': return '\t';
        case 'r': return '\r';
        case 'n': return '\n';
        case '\\': case '"': case '[': case ']': return uint32_t(e);
        default: fail(at, "unknown escape '\\" + std::string(1, e) + "'");
      }
    }
    // UTF-8: the grammar's own text must be valid.
    int n = b0 < 0x80 ? 1 : b0 >= 0xC2 && b0 <= 0xDF ? 2 : b0 >= 0xE0 && b0 <= 0xEF ? 3 : b0 >= 0xF0 && b0 <= 0xF4 ? 4 : 0;
    if (n == 0 || pos_ + size_t(n) > text_.size()) fail(at, "invalid UTF-8 in the grammar");
    uint32_t cp = n == 1 ? b0 : n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
    for (int k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(text_[pos_ + size_t(k)]);
      if ((b & 0xC0) != 0x80) fail(at, "invalid UTF-8 in the grammar");
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail(at, "invalid UTF-8 in the grammar");
    pos_ += size_t(n);
    return cp;
  }

  uint32_t parse_hex(int digits, size_t at) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      const char c = peek();
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) fail(at, "escape needs " + std::to_string(digits) + " hex digits");
      v = (v << 4) | uint32_t(d);
      ++pos_;
    }
    if (v > 0x10FFFF) fail(at, "escape above U+10FFFF");
    return v;
  }

  void parse_literal(PSeq& seq) {
    const size_t open = pos_ - 1;
    for (;;) {
      if (at_end() || peek() == '\n' || peek() == '\r') fail(open, "unterminated string literal");
      if (peek() == '"') {
        ++pos_;
        return;
      }
      const uint32_t cp = parse_char();
      seq.push_back(PSym{GrammarSymbol::Chars, false, {{cp, cp}}, 0});
      count_symbols(1);
    }
  }

  PSym parse_class() {
    const size_t open = pos_ - 1;
    PSym s;
    if (peek() == '^') {
      s.negate = true;
      ++pos_;
    }
    for (;;) {
      if (at_end()) fail(open, "unterminated character class");
      if (peek() == ']') {
        ++pos_;
        break;
      }
      const size_t at = pos_;
      const uint32_t lo = parse_char();
      uint32_t hi = lo;
      if (peek() == '-' && pos_ + 1 < text_.size() && text_[pos_ + 1] != ']') {
        ++pos_;
        if (at_end()) fail(open, "unterminated character class");
        hi = parse_char();
        if (hi < lo) fail(at, "character range with its end before its start");
      }
      s.ranges.push_back({lo, hi});
    }
    if (s.ranges.empty() && !s.negate) fail(open, "empty character class [] (matches nothing)");
    return s;
  }

  // Nullable rules (can match the empty string), to a fixed point.
  std::vector<bool> nullable() const {
    std::vector<bool> null(rules_.size(), false);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < rules_.size(); ++r) {
        if (null[r]) continue;
        for (const PSeq& alt : rules_[r].alts) {
          const bool all = std::all_of(alt.begin(), alt.end(),
                                       [&](const PSym& s) { return s.kind == GrammarSymbol::RuleRef && null[s.rule]; });
          if (all) {
            null[r] = true;
            changed = true;
            break;
          }
        }
      }
    }
    return null;
  }

  // A rule that can reach itself without consuming a character would make the matcher loop.
  void check_left_recursion() const {
    const std::vector<bool> null = nullable();
    std::vector<std::vector<uint32_t>> left(rules_.size());
    for (size_t r = 0; r < rules_.size(); ++r) {
      for (const PSeq& alt : rules_[r].alts) {
        for (const PSym& s : alt) {
          if (s.kind != GrammarSymbol::RuleRef) break;
          left[r].push_back(s.rule);
          if (!null[s.rule]) break;
        }
      }
    }
    // Iterative DFS (generated chains can be long): 0 new, 1 on the path, 2 done.
    std::vector<uint8_t> state(rules_.size(), 0);
    std::vector<std::pair<uint32_t, size_t>> path;
    for (uint32_t start = 0; start < rules_.size(); ++start) {
      if (state[start]) continue;
      path.push_back({start, 0});
      state[start] = 1;
      while (!path.empty()) {
        auto& [r, next] = path.back();
        if (next == left[r].size()) {
          state[r] = 2;
          path.pop_back();
          continue;
        }
        const uint32_t t = left[r][next++];
        if (state[t] == 1) {
          std::string cycle;
          bool on = false;
          for (const auto& [q, _] : path) {
            if (q == t) on = true;
            if (on) cycle += rules_[q].name + " -> ";
          }
          fail(rules_[t].def_at, "left recursion: " + cycle + rules_[t].name +
                                     " (a rule, or a repeated item that can be empty, reaches itself before any character)");
        }
        if (state[t] == 0) {
          state[t] = 1;
          path.push_back({t, 0});
        }
      }
    }
  }

  std::shared_ptr<const Grammar> flatten(uint32_t root) {
    auto g = std::make_shared<Grammar>();
    g->source_ = std::string(text_);
    g->root_ = root;
    for (const PRule& r : rules_) {
      g->rule_alts_.push_back({uint32_t(g->alt_starts_.size()), uint32_t(r.alts.size())});
      g->rule_names_.push_back(r.name);
      for (const PSeq& alt : r.alts) {
        g->alt_starts_.push_back(uint32_t(g->symbols_.size()));
        for (const PSym& s : alt) g->symbols_.push_back(compile(*g, s));
        g->symbols_.push_back(GrammarSymbol{});
      }
    }
    return g;
  }

  static GrammarSymbol compile(Grammar& g, const PSym& s) {
    GrammarSymbol out;
    out.kind = s.kind;
    if (s.kind == GrammarSymbol::RuleRef) {
      out.index = s.rule;
      return out;
    }
    std::vector<CharRange> rs = s.ranges;  // sorted and merged: matches_some relies on it
    std::sort(rs.begin(), rs.end(), [](const CharRange& a, const CharRange& b) { return a.lo < b.lo; });
    std::vector<CharRange> merged;
    for (const CharRange& r : rs) {
      if (!merged.empty() && r.lo <= merged.back().hi + 1) {
        merged.back().hi = std::max(merged.back().hi, r.hi);
      } else {
        merged.push_back(r);
      }
    }
    out.negate = s.negate;
    out.index = uint32_t(g.ranges_.size());
    out.count = uint32_t(merged.size());
    g.ranges_.insert(g.ranges_.end(), merged.begin(), merged.end());
    for (uint32_t cp = 0; cp < 128; ++cp) {
      bool in = false;
      for (const CharRange& r : merged) in = in || (cp >= r.lo && cp <= r.hi);
      if (in != s.negate) out.ascii[cp >> 6] |= uint64_t(1) << (cp & 63);
    }
    return out;
  }
};

std::shared_ptr<const Grammar> Grammar::parse(std::string_view text) { return GrammarBuilder(text).build(); }

bool Grammar::matches_some(uint32_t pos, uint32_t lo, uint32_t hi) const {
  const GrammarSymbol& s = symbols_[pos];
  if (!s.negate) {
    for (const CharRange& r : ranges(s)) {
      if (r.lo <= hi && lo <= r.hi) return true;
    }
    return false;
  }
  // Negated: some code point of [lo, hi] lies outside every range (they are sorted and merged).
  uint32_t next = lo;
  for (const CharRange& r : ranges(s)) {
    if (r.hi < next) continue;
    if (r.lo > next) return true;
    if (r.hi >= hi) return false;
    next = r.hi + 1;
  }
  return next <= hi;
}

}  // namespace lp
