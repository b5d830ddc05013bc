// Python str semantics over UTF-8: code-point counting and slicing, whitespace, split, strip, case.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lp::chat {

// The code point at s[i] (advancing i); a malformed byte decodes as itself.
uint32_t decode_utf8(std::string_view s, size_t& i);
void append_utf8(std::string& out, uint32_t cp);
std::vector<std::string> code_points(std::string_view s);  // one string per code point
size_t code_point_count(std::string_view s);

bool is_py_space(uint32_t cp);  // str.isspace()
std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right);
std::vector<std::string> py_split(std::string_view s, const std::string* sep, int64_t maxsplit);
std::vector<std::string> py_rsplit(std::string_view s, const std::string* sep, int64_t maxsplit);
std::vector<std::string> py_splitlines(std::string_view s);  // str.splitlines(), ends dropped
std::string py_replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count);
// Case mapping knows ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic; for other cased letters
// and the few that map to several letters (ß, final sigma, ...) it returns nullopt.
std::optional<std::string> py_upper(std::string_view s);
std::optional<std::string> py_lower(std::string_view s);
std::optional<std::string> py_title(std::string_view s);       // str.title()
std::optional<std::string> py_capitalize(std::string_view s);  // str.capitalize()
std::optional<std::string> jinja_title(std::string_view s);    // jinja2's title filter
// A letter outside ASCII that Python's case mapping would change (Latin, Greek, Cyrillic, ...).
bool has_cased_non_ascii(std::string_view s);

}  // namespace lp::chat
