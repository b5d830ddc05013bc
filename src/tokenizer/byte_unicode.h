// GPT-2's byte-level alphabet: every byte 0-255 stands for one printable Unicode character, so
// that a byte-level BPE vocabulary can spell any byte sequence in UTF-8 text. Printable Latin-1
// bytes ('!'-'~', U+00A1-U+00AC, U+00AE-U+00FF) stand for themselves; the other 68 bytes, in
// order, for U+0100, U+0101, ...
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lp::tokenizer_detail {

// The UTF-8 spelling (1 or 2 bytes) of the character that stands for `byte`.
std::string_view byte_to_unicode(uint8_t byte);

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s);

// A byte-level token text back to its bytes, appended to `out`. A character outside the alphabet
// (possible only in a broken vocabulary) is written as llama.cpp does: "[UNK_BYTE_0x<hex>" + text + "]".
void byte_level_decode(std::string_view text, std::string& out);

// Re-spells `text` as llama.cpp reads it before pre-tokenizing: each UTF-8 sequence whose lead and
// continuation bits are right becomes its code point (overlong forms and surrogates included, as
// llama.cpp's lenient decoder accepts them) and is written back in shortest form; every other byte
// becomes U+FFFD. Code points above U+10FFFF (F4 90.. to F7) also become one U+FFFD: llama.cpp
// throws on them. `regex_text` gets the same bytes except that surrogates are written as U+E000,
// the same length, so that PCRE2 (which rejects surrogates) sees valid UTF-8 with the same offsets.
// Returns false when `text` is already valid UTF-8 (then both outputs are left empty: use `text`).
bool sanitize_utf8(std::string_view text, std::string& clean, std::string& regex_text);

}  // namespace lp::tokenizer_detail
