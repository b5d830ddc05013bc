// jinja2's built-in filters, tests and globals, Python's str/dict/list methods, and the
// attribute, item and operator rules of jinja2's sandbox, as the chat templates use them.
#pragma once

#include <optional>
#include <string>

#include "chat/value.h"

namespace lp::chat {

struct Scope;

bool has_filter(const std::string& name);
bool has_test(const std::string& name);
bool jinja2_has_filter(const std::string& name);  // a jinja2 filter that llamaprof lacks
bool jinja2_has_test(const std::string& name);

Value apply_filter(Interpreter& in, const std::string& name, const Value& input, Args& args, int line);
bool apply_test(Interpreter& in, const std::string& name, const Value& input, Args& args, int line);

// obj.name and obj[key] as jinja2's sandbox resolves them: methods first for attributes, items
// first for subscripts, undefined when neither exists; using an undefined value fails.
Value get_attr(const Value& obj, const std::string& name, int line);
Value get_item(const Value& obj, const Value& key, int line);
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step, int line);

std::vector<Value> iterate(const Value& v, int line);  // list items, dict keys, string characters
bool contains(const Value& container, const Value& item, int line);
Value binary_op(Interpreter& in, const std::string& op, const Value& a, const Value& b, int line);
int64_t length(const Value& v, int line);

[[noreturn]] void fail_undefined(const Value& v, int line);
// The result of py_upper & co., or Unsupported for text they cannot map (rather than mis-cased).
std::string cased(std::optional<std::string> mapped, int line);

void add_globals(Scope& scope);

}  // namespace lp::chat
