// GrammarVocab (the token trie) and GrammarStage (allows / filter / accept).
#include "sampling/grammar_stage.h"

#include <algorithm>
#include <cstring>

#include "llamaprof/error.h"

namespace lp {

GrammarVocab::GrammarVocab(std::vector<std::string> pieces, std::vector<bool> eog)
    : pieces_(std::move(pieces)), eog_(std::move(eog)) {
  if (eog_.size() != pieces_.size()) throw Error(ErrorKind::InvalidArgument, "grammar vocabulary: pieces and eog differ in size");
  // Decode every piece from a character boundary. Pieces that are not valid from there (empty,
  // or starting inside a character) stay out of the trie: only the slow path, after a token that
  // ended inside a character, can allow them.
  struct Entry {
    int32_t id;
    uint32_t begin, len;
    bool partial;
    uint32_t lo, hi;
  };
  std::vector<uint32_t> cps;
  std::vector<Entry> entries;
  for (size_t id = 0; id < pieces_.size(); ++id) {
    const std::string& p = pieces_[id];
    if (p.empty() || eog_[id]) continue;
    Entry e{int32_t(id), uint32_t(cps.size()), 0, false, 0, 0};
    Utf8Partial u;
    bool ok = true;
    for (char ch : p) {
      uint32_t cp = 0;
      const Utf8Partial::Step st = u.push(static_cast<unsigned char>(ch), cp);
      if (st == Utf8Partial::Invalid) {
        ok = false;
        break;
      }
      if (st == Utf8Partial::Char) cps.push_back(cp);
    }
    if (!ok) {
      cps.resize(e.begin);
      continue;
    }
    e.len = uint32_t(cps.size()) - e.begin;
    if (u.need) e.partial = true, e.lo = u.min_cp(), e.hi = u.max_cp();
    entries.push_back(e);
  }
  auto seq = [&](const Entry& e) { return std::span<const uint32_t>(cps).subspan(e.begin, e.len); };
  std::sort(entries.begin(), entries.end(), [&](const Entry& a, const Entry& b) {
    auto sa = seq(a), sb = seq(b);
    return std::lexicographical_compare(sa.begin(), sa.end(), sb.begin(), sb.end());
  });

  // Insert in sorted order: a new child always sorts after its siblings.
  struct Tmp {
    uint32_t cp = 0;
    std::vector<uint32_t> children;
    std::vector<int32_t> toks;
    std::vector<PartialTail> parts;
  };
  std::vector<Tmp> tmp(1);
  std::vector<uint32_t> path{0};
  std::span<const uint32_t> prev;
  for (const Entry& e : entries) {
    const auto s = seq(e);
    size_t lcp = 0;
    while (lcp < s.size() && lcp < prev.size() && s[lcp] == prev[lcp]) ++lcp;
    path.resize(lcp + 1);
    for (size_t d = lcp; d < s.size(); ++d) {
      const auto id = uint32_t(tmp.size());
      tmp.push_back(Tmp{s[d], {}, {}, {}});
      tmp[path.back()].children.push_back(id);
      path.push_back(id);
    }
    Tmp& end = tmp[path[s.size()]];
    if (e.partial) {
      end.parts.push_back({e.id, e.lo, e.hi});
    } else {
      end.toks.push_back(e.id);
    }
    prev = s;
  }

  // Breadth-first layout: every node's children become one contiguous, sorted run.
  std::vector<uint32_t> order{0};
  nodes_.resize(tmp.size());
  cp_.resize(tmp.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const Tmp& t = tmp[order[i]];
    Node& n = nodes_[i];
    cp_[i] = t.cp;
    n.child_begin = uint32_t(order.size());
    order.insert(order.end(), t.children.begin(), t.children.end());
    n.child_end = uint32_t(order.size());
    n.tok_begin = uint32_t(tokens_.size());
    tokens_.insert(tokens_.end(), t.toks.begin(), t.toks.end());
    n.tok_end = uint32_t(tokens_.size());
    n.part_begin = uint32_t(partials_.size());
    partials_.insert(partials_.end(), t.parts.begin(), t.parts.end());
    n.part_end = uint32_t(partials_.size());
  }
  for (const Entry& e : entries) max_depth_ = std::max(max_depth_, size_t(e.len));
}

GrammarStage::GrammarStage(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const GrammarVocab> vocab)
    : vocab_(std::move(vocab)), matcher_(std::move(grammar)) {}

bool GrammarStage::allows(int32_t id) {
  if (id < 0 || size_t(id) >= vocab_->size()) return false;
  if (vocab_->is_eog(id)) return matcher_.is_complete();
  const std::string& p = vocab_->piece(id);
  if (p.empty()) return false;
  // Inside a character only a continuation byte can come next (a cheap test: after a byte token,
  // filter() checks the whole vocabulary this way).
  const bool continuation = (static_cast<unsigned char>(p[0]) & 0xC0) == 0x80;
  if (matcher_.has_partial() != continuation) return false;
  return matcher_.accepts(p);
}

void GrammarStage::accept(int32_t id) {
  if (id >= 0 && size_t(id) < vocab_->size() && vocab_->is_eog(id) && matcher_.is_complete()) return;
  if (id < 0 || size_t(id) >= vocab_->size() || vocab_->piece(id).empty() || !matcher_.accept(vocab_->piece(id))) {
    throw Error(ErrorKind::InvalidArgument, "grammar: token " + std::to_string(id) + " is not allowed here");
  }
}

size_t GrammarStage::filter(std::span<Candidate> cands) {
  size_t n = 0;
  if (matcher_.has_partial()) {
    // Inside a character split across tokens: the trie starts at character boundaries, so check
    // the candidates one by one (rare: only after a token that ended mid-character).
    for (const Candidate& c : cands) {
      if (allows(c.id)) cands[n++] = c;
    }
    return n;
  }
  allowed_tokens(allowed_);
  for (const Candidate& c : cands) {
    if (c.id >= 0 && size_t(c.id) < allowed_.size() && allowed_[size_t(c.id)]) cands[n++] = c;
  }
  return n;
}

void GrammarStage::allowed_tokens(std::vector<uint8_t>& allowed) {
  allowed.assign(vocab_->size(), 0);
  if (matcher_.has_partial()) {
    for (size_t id = 0; id < allowed.size(); ++id) allowed[id] = allows(int32_t(id));
    return;
  }
  if (matcher_.is_complete()) {
    for (size_t id = 0; id < allowed.size(); ++id) allowed[id] = vocab_->is_eog(int32_t(id));
  }
  scratch_.reset();
  interner_.clear();
  memo_.clear();
  memo_stacks_.clear();
  allowed_ptr_ = allowed.data();
  for (const StackNode* s : matcher_.stacks()) {
    if (s) walk(0, s, 0);
  }
}

// Marks the tokens below trie node `node` that stack s (whose top is a character class) accepts.
void GrammarStage::walk(uint32_t node, const StackNode* s, size_t depth) {
  const Grammar& g = matcher_.grammar();
  const auto& nodes = vocab_->nodes();
  const auto& cps = vocab_->node_cp();
  const auto& toks = vocab_->node_tokens();
  const auto& parts = vocab_->node_partials();
  uint8_t* allowed = allowed_ptr_;
  const uint32_t pos = s->pos;
  const GrammarVocab::Node& n = nodes[node];
  for (uint32_t i = n.part_begin; i < n.part_end; ++i) {
    const GrammarVocab::PartialTail& p = parts[i];
    if (!allowed[p.id] && g.matches_some(pos, p.lo, p.hi)) allowed[p.id] = 1;
  }
  // What follows the character does not depend on which character it was: expand once per
  // (position, parent), lazily (only if some child matches).
  uint32_t next_begin = 0, next_end = 0;
  bool expanded = false;
  auto visit = [&](uint32_t child) {
    if (!expanded) {
      auto [it, inserted] = memo_.try_emplace(Key{pos, s->parent}, std::pair<uint32_t, uint32_t>{0, 0});
      if (inserted) {
        tmp_.clear();
        expand_stacks(g, scratch_, pos + 1, s->parent, tmp_, &interner_);
        std::sort(tmp_.begin(), tmp_.end());  // interned: equal stacks are mostly equal pointers
        tmp_.erase(std::unique(tmp_.begin(), tmp_.end()), tmp_.end());
        it->second = {uint32_t(memo_stacks_.size()), uint32_t(memo_stacks_.size() + tmp_.size())};
        memo_stacks_.insert(memo_stacks_.end(), tmp_.begin(), tmp_.end());
      }
      next_begin = it->second.first;
      next_end = it->second.second;
      expanded = true;
    }
    const GrammarVocab::Node& c = nodes[child];
    for (uint32_t i = c.tok_begin; i < c.tok_end; ++i) allowed[toks[i]] = 1;
    if (c.child_begin == c.child_end && c.part_begin == c.part_end) return;
    // By index: deeper walks append to memo_stacks_.
    for (uint32_t i = next_begin; i < next_end; ++i) {
      if (const StackNode* t = memo_stacks_[i]) walk(child, t, depth + 1);
    }
  };
  const GrammarSymbol& sym = g.symbol(pos);
  if (!sym.negate) {
    // A positive class: jump to its ranges among the sorted children.
    const uint32_t* first = cps.data() + n.child_begin;
    const uint32_t* last = cps.data() + n.child_end;
    for (const CharRange& r : g.ranges(sym)) {
      for (const uint32_t* it = std::lower_bound(first, last, r.lo); it != last && *it <= r.hi; ++it) {
        visit(uint32_t(it - cps.data()));
      }
    }
  } else {
    for (uint32_t c = n.child_begin; c < n.child_end; ++c) {
      if (g.matches(pos, cps[c])) visit(c);
    }
  }
}

}  // namespace lp
