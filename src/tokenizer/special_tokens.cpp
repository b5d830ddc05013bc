// llama.cpp's rules for special tokens that GGUF metadata does not spell out (llama-vocab.cpp,
// load): tokens found by their text, the end-of-generation set, and strip flags by model name.
// Texts are looked up like llama.cpp's token_to_id (a repeated text is its last id). Where
// llama.cpp takes "the first" of several candidate texts it walks that hash map (an order it does
// not define); here the first text of the list that the vocabulary has wins.
#include <algorithm>
#include <cctype>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace lp::tokenizer_detail {

namespace {

using Texts = std::vector<std::string_view>;

const Texts kEotTexts = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",         "<|endoftext|>",     "<|end_of_text|>",
    "<EOT>",      "_<EOT>",     "[EOT]",   "<｜end▁of▁sentence｜>", "<end_of_utterance>"};
const Texts kEomTexts = {"<|eom_id|>"};
const Texts kFimPreTexts = {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",    "<｜fim▁begin｜>",
                            "<PRE>",          "▁<PRE>",       "<|code_prefix|>", "<|prefix|>"};
const Texts kFimSufTexts = {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",    "<｜fim▁hole｜>",
                            "<SUF>",          "▁<SUF>",       "<|code_suffix|>", "<|suffix|>"};
const Texts kFimMidTexts = {"<|fim_middle|>", "<fim-middle>", "<fim_middle>",    "<｜fim▁end｜>",
                            "<MID>",          "▁<MID>",       "<|code_middle|>", "<|middle|>"};
const Texts kFimPadTexts = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"};
const Texts kFimRepTexts = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"};
const Texts kFimSepTexts = {"<|file_sep|>"};
// Tokens that end generation by their text alone.
const Texts kEogTexts = {"<|eot_id|>",
                         "<|im_end|>",
                         "<|end|>",
                         "<|return|>",
                         "<|call|>",
                         "<|flush|>",
                         "<|calls|>",
                         "<end_of_turn>",
                         "<|endoftext|>",
                         "</s>",
                         "<|eom_id|>",
                         "<EOT>",
                         "_<EOT>",
                         "[EOT]",
                         "[EOS]",
                         "<|end_of_text|>",
                         "<end_of_utterance>",
                         "<eos>",
                         "<turn|>",
                         "<|tool_response>",
                         "<｜end▁of▁sentence｜>",
                         "[e~["};
// gpt-oss: always rendered, so llama.cpp makes them user-defined.
const Texts kUserDefinedTexts = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"};

// llama.cpp marks a token it recognises by text as control when its type says otherwise.
void force_control(Vocab& v, TokenId id) {
  if (v.kinds[id] != TokenKind::Control) v.kinds[id] = TokenKind::Control;
}

// When `id` is unset: the first text of `list` in the vocabulary; that token becomes control.
void find_by_text(Vocab& v, TokenId& id, const Texts& list) {
  if (id >= 0) return;
  for (std::string_view text : list) {
    const TokenId found = v.find(text);
    if (found >= 0) {
      id = found;
      force_control(v, found);
      return;
    }
  }
}

void set_strip(Vocab& v, TokenId id, uint8_t flag, bool on) {
  if (id < 0) return;
  if (v.strip.empty()) v.strip.assign(v.texts.size(), 0);
  v.strip[id] = on ? (v.strip[id] | flag) : (v.strip[id] & ~flag);
}

}  // namespace

void apply_special_token_rules(Vocab& v) {
  const int n = v.size();
  auto valid = [n](TokenId id) { return id >= 0 && id < n ? id : -1; };
  v.eot = valid(v.eot);
  v.eom = valid(v.eom);
  v.fim_pad = valid(v.fim_pad);
  v.fim_rep = valid(v.fim_rep);
  v.fim_sep = valid(v.fim_sep);

  TokenId fim_pre = -1, fim_suf = -1, fim_mid = -1;  // only their control override matters here
  find_by_text(v, v.eot, kEotTexts);
  find_by_text(v, v.eom, kEomTexts);
  find_by_text(v, fim_pre, kFimPreTexts);
  find_by_text(v, fim_suf, kFimSufTexts);
  find_by_text(v, fim_mid, kFimMidTexts);
  find_by_text(v, v.fim_pad, kFimPadTexts);
  find_by_text(v, v.fim_rep, kFimRepTexts);
  find_by_text(v, v.fim_sep, kFimSepTexts);

  std::vector<TokenId> eog;
  for (TokenId id : {v.fim_pad, v.fim_rep, v.fim_sep}) {
    if (id >= 0) eog.push_back(id);
  }
  for (std::string_view text : kEogTexts) {
    const TokenId id = v.find(text);
    if (id < 0) continue;
    eog.push_back(id);
    force_control(v, id);
  }
  for (std::string_view text : kUserDefinedTexts) {
    const TokenId id = v.find(text);
    if (id >= 0) v.kinds[id] = TokenKind::UserDefined;
  }
  for (TokenId id : {v.eos, v.eot, v.eom}) {
    if (id >= 0 && id < n) eog.push_back(id);
  }
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());

  // o200k_harmony / solar-open: with <|return|> and <|call|> (or <|calls|> and <|flush|>), <|end|>
  // ends a message, not the generation. gemma4 / paddleocr: with <|tool_response>, </s> is text.
  auto eog_text = [&](std::string_view text) -> TokenId {
    for (TokenId id : eog) {
      if (v.texts[id] == text) return id;
    }
    return -1;
  };
  auto drop = [&](TokenId id, TokenKind kind) {
    eog.erase(std::find(eog.begin(), eog.end(), id));
    v.kinds[id] = kind;
  };
  const bool has_call = eog_text("<|call|>") >= 0 || eog_text("<|calls|>") >= 0;
  const TokenId end = eog_text("<|end|>");
  if (end >= 0 && has_call && (eog_text("<|return|>") >= 0 || eog_text("<|flush|>") >= 0)) {
    drop(end, TokenKind::UserDefined);
  }
  const TokenId s = eog_text("</s>");
  if (s >= 0 && eog_text("<|tool_response>") >= 0) drop(s, TokenKind::Normal);
  v.eog_ids = std::move(eog);

  // Phi-3: every special token eats the white space after it, except <unk>, <s>, <|endoftext|>.
  std::string name = v.model_name;
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  v.strip.clear();
  if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (TokenId i = 0; i < n; ++i) {
      const TokenKind k = v.kinds[i];
      if (k == TokenKind::Control || k == TokenKind::UserDefined || k == TokenKind::Unknown) {
        set_strip(v, i, kStripRight, true);
      }
    }
    set_strip(v, v.find("</s>"), kStripRight, true);
    for (std::string_view t : {"<unk>", "<s>", "<|endoftext|>"}) set_strip(v, v.find(t), kStripRight, false);
  }
}

}  // namespace lp::tokenizer_detail
