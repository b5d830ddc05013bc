// GrammarMatcher: the stack-set automaton over code points, and UTF-8 decoding across tokens.
#include "sampling/grammar_matcher.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "llamaprof/error.h"

namespace lp {

namespace {

constexpr size_t kMaxExpandSteps = 1 << 20;  // per expansion: only a pathological grammar gets near
constexpr size_t kMaxStacks = 1 << 14;       // live parse stacks after a step
constexpr size_t kCompactAt = 1 << 20;       // arena nodes before the live stacks are copied out

size_t stack_hash(const StackNode* s) {
  size_t h = 0x9e3779b97f4a7c15ull;
  for (; s; s = s->parent) h = (h ^ s->pos) * 0x100000001b3ull;
  return h;
}

bool stack_equal(const StackNode* a, const StackNode* b) {
  while (a != b) {
    if (!a || !b || a->pos != b->pos) return false;
    a = a->parent;
    b = b->parent;
  }
  return true;
}

}  // namespace

const StackNode* StackArena::make(uint32_t pos, const StackNode* parent) {
  if (chunk_ == chunks_.size() || used_ == kChunk) {
    if (used_ == kChunk) ++chunk_, used_ = 0;
    if (chunk_ == chunks_.size()) chunks_.push_back(std::make_unique<StackNode[]>(kChunk));
  }
  StackNode* n = &chunks_[chunk_][used_++];
  ++live_;
  n->pos = pos;
  n->parent = parent;
  return n;
}

const StackNode* StackInterner::make(StackArena& arena, uint32_t pos, const StackNode* parent) {
  auto [it, inserted] = nodes_.try_emplace(Key{pos, parent}, nullptr);
  if (inserted) it->second = arena.make(pos, parent);
  return it->second;
}

void expand_stacks(const Grammar& g, StackArena& arena, uint32_t pos, const StackNode* parent,
                   std::vector<const StackNode*>& out, StackInterner* interner) {
  auto make = [&](uint32_t p, const StackNode* up) { return interner ? interner->make(arena, p, up) : arena.make(p, up); };
  struct Item {
    uint32_t pos;
    const StackNode* parent;
  };
  thread_local std::vector<Item> work;
  work.clear();
  work.push_back({pos, parent});
  size_t steps = 0;
  while (!work.empty()) {
    if (++steps > kMaxExpandSteps) {
      throw Error(ErrorKind::InvalidArgument, "grammar: too ambiguous to match (more than " +
                                                  std::to_string(kMaxExpandSteps) + " expansion steps for one character)");
    }
    const Item it = work.back();
    work.pop_back();
    const GrammarSymbol& s = g.symbol(it.pos);
    switch (s.kind) {
      case GrammarSymbol::End:
        if (!it.parent) {
          out.push_back(nullptr);
        } else {
          work.push_back({it.parent->pos, it.parent->parent});
        }
        break;
      case GrammarSymbol::RuleRef: {
        // Nothing after the reference: return straight to our parent (right recursion stays flat).
        const StackNode* cont = g.symbol(it.pos + 1).kind == GrammarSymbol::End ? it.parent : make(it.pos + 1, it.parent);
        const auto alts = g.alternatives(s.index);
        for (size_t i = alts.size(); i-- > 0;) work.push_back({alts[i], cont});
        break;
      }
      case GrammarSymbol::Chars:
        out.push_back(make(it.pos, it.parent));
        break;
    }
  }
}

void dedupe_stacks(std::vector<const StackNode*>& stacks) {
  if (stacks.size() < 2) return;
  if (stacks.size() <= 8) {  // the usual case: quadratic is cheapest
    size_t n = 0;
    for (size_t i = 0; i < stacks.size(); ++i) {
      bool dup = false;
      for (size_t j = 0; j < n && !dup; ++j) dup = stack_equal(stacks[i], stacks[j]);
      if (!dup) stacks[n++] = stacks[i];
    }
    stacks.resize(n);
    return;
  }
  struct Hash {
    size_t operator()(const StackNode* s) const { return stack_hash(s); }
  };
  struct Eq {
    bool operator()(const StackNode* a, const StackNode* b) const { return stack_equal(a, b); }
  };
  std::unordered_set<const StackNode*, Hash, Eq> seen;
  size_t n = 0;
  for (const StackNode* s : stacks) {
    if (seen.insert(s).second) stacks[n++] = s;
  }
  stacks.resize(n);
}

Utf8Partial::Step Utf8Partial::push(unsigned char b, uint32_t& cp) {
  if (need == 0) {
    if (b < 0x80) {
      cp = b;
      return Char;
    }
    // The lead byte fixes the length and the range of the first continuation byte.
    if (b >= 0xC2 && b <= 0xDF) {
      *this = {uint32_t(b & 0x1F), 1, 0x80, 0xBF};
    } else if (b >= 0xE0 && b <= 0xEF) {
      *this = {uint32_t(b & 0x0F), 2, uint8_t(b == 0xE0 ? 0xA0 : 0x80), uint8_t(b == 0xED ? 0x9F : 0xBF)};
    } else if (b >= 0xF0 && b <= 0xF4) {
      *this = {uint32_t(b & 0x07), 3, uint8_t(b == 0xF0 ? 0x90 : 0x80), uint8_t(b == 0xF4 ? 0x8F : 0xBF)};
    } else {
      return Invalid;
    }
    return More;
  }
  if (b < lo || b > hi) return Invalid;
  value = (value << 6) | (b & 0x3Fu);
  lo = 0x80, hi = 0xBF;
  if (--need) return More;
  cp = value;
  *this = {};
  return Char;
}

uint32_t Utf8Partial::min_cp() const {
  return ((value << 6) | (lo & 0x3Fu)) << (6 * (need - 1));
}

uint32_t Utf8Partial::max_cp() const {
  const uint32_t rest = need > 1 ? (1u << (6 * (need - 1))) - 1 : 0;
  return (((value << 6) | (hi & 0x3Fu)) << (6 * (need - 1))) | rest;
}

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar) : grammar_(std::move(grammar)) { reset(); }

void GrammarMatcher::reset() {
  arena_.reset();
  stacks_.clear();
  partial_ = {};
  const Grammar& g = *grammar_;
  for (uint32_t alt : g.alternatives(g.root())) expand_stacks(g, arena_, alt, nullptr, stacks_);
  dedupe_stacks(stacks_);
}

bool GrammarMatcher::is_complete() const {
  if (partial_.need) return false;
  return std::find(stacks_.begin(), stacks_.end(), nullptr) != stacks_.end();
}

bool GrammarMatcher::can_continue() const {
  if (partial_.need) return true;
  return std::any_of(stacks_.begin(), stacks_.end(), [](const StackNode* s) { return s != nullptr; });
}

bool GrammarMatcher::run(std::string_view bytes, std::vector<const StackNode*>& stacks, Utf8Partial& partial,
                         StackArena& arena) {
  const Grammar& g = *grammar_;
  for (const char ch : bytes) {
    uint32_t cp = 0;
    const Utf8Partial::Step step = partial.push(static_cast<unsigned char>(ch), cp);
    if (step == Utf8Partial::Invalid) return false;
    if (step == Utf8Partial::More) continue;
    tmp2_.clear();
    for (const StackNode* s : stacks) {
      if (s && g.matches(s->pos, cp)) expand_stacks(g, arena, s->pos + 1, s->parent, tmp2_);
    }
    if (tmp2_.empty()) return false;
    dedupe_stacks(tmp2_);
    if (tmp2_.size() > kMaxStacks) {
      throw Error(ErrorKind::InvalidArgument,
                  "grammar: too ambiguous to match (more than " + std::to_string(kMaxStacks) + " parse stacks)");
    }
    stacks.swap(tmp2_);
  }
  if (partial.need) {  // the sequence is unfinished: some stack must accept one of its completions
    const uint32_t lo = partial.min_cp(), hi = partial.max_cp();
    return std::any_of(stacks.begin(), stacks.end(), [&](const StackNode* s) { return s && g.matches_some(s->pos, lo, hi); });
  }
  return true;
}

bool GrammarMatcher::accept(std::string_view bytes) {
  tmp_ = stacks_;
  Utf8Partial partial = partial_;
  if (!run(bytes, tmp_, partial, arena_)) return false;
  stacks_.swap(tmp_);
  partial_ = partial;
  if (arena_.size() > kCompactAt) compact();
  return true;
}

bool GrammarMatcher::accepts(std::string_view bytes) {
  scratch_.reset();
  tmp_ = stacks_;
  Utf8Partial partial = partial_;
  return run(bytes, tmp_, partial, scratch_);
}

// Copies the live stacks into a fresh arena so that a long generation does not grow it forever.
void GrammarMatcher::compact() {
  StackArena fresh;
  std::unordered_map<const StackNode*, const StackNode*> moved;
  std::vector<const StackNode*> chain;
  for (const StackNode*& top : stacks_) {
    chain.clear();
    const StackNode* s = top;
    while (s && !moved.count(s)) chain.push_back(s), s = s->parent;
    const StackNode* below = s ? moved[s] : nullptr;
    for (size_t i = chain.size(); i-- > 0;) {
      below = fresh.make(chain[i]->pos, below);
      moved[chain[i]] = below;
    }
    if (top) top = moved[top];
  }
  arena_ = std::move(fresh);
}

}  // namespace lp
