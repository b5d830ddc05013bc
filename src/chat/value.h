// The dynamic value a chat template computes with: Python's data model as jinja2 sees it (none,
// undefined, bool, int, float, str, list/tuple, dict in insertion order, callables, namespaces).
// Lists and dicts are shared and never mutated after construction (the sandbox is immutable);
// a namespace is the one mutable object.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace lp::chat {

class Value;
struct Args;
class Interpreter;

// list and tuple, and the lazy sequences jinja2's filters and dict methods return, which
// Python treats differently: an iterator ("generator" from map/select, reversed()) is always
// true, has no len(), cannot be printed or serialized and is used up by iterating it; a view
// ("dict_items" ...) has a len() but is not subscriptable or JSON serializable.
struct ListObj {
  std::vector<Value> items;
  bool tuple = false;            // prints as (a, b) instead of [a, b]
  const char* iterator = nullptr;  // Python type name of an iterator
  const char* view = nullptr;      // Python type name of a dict view
  mutable size_t consumed = 0;     // iterators: items already taken
  int depth = 1;                   // nesting of lists and dicts, bounded so printing cannot overflow the stack
  std::string broken;              // an iterator whose generator failed: iterating it raises this
  bool plain() const { return !iterator && !view; }
  bool is_range() const { return view && view[0] == 'r'; }  // range(): a sized, subscriptable view
};

// Keys may be any hashable value; dicts in templates are small, so lookup is a linear scan.
struct DictObj {
  std::vector<std::pair<Value, Value>> items;
  int depth = 1;  // set by Value::dict
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  const Value* find(const char* key) const { return find(std::string_view(key)); }
  const Value* find(const std::string& key) const { return find(std::string_view(key)); }
  void set(Value key, Value value);
};

struct FuncObj {
  std::string name;
  std::function<Value(Interpreter&, Args&)> fn;
};

struct NamespaceObj {
  DictObj attrs;
};

struct Undef {
  std::string hint;  // what was looked up, for the error when it is used
};

constexpr int kMaxValueDepth = 500;

class Value {
 public:
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Func, Namespace };

  Value() : v_(Undef{}) {}
  static Value undefined(std::string hint = {}) { Value r; r.v_ = Undef{std::move(hint)}; return r; }
  static Value none() { Value r; r.v_ = nullptr; return r; }
  Value(bool b) : v_(b) {}
  Value(int64_t i) : v_(i) {}
  Value(int i) : v_(int64_t{i}) {}
  Value(double d) : v_(d) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  static Value list(std::vector<Value> items, bool tuple = false);
  static Value iterator(std::vector<Value> items, const char* type = "generator");
  static Value view(std::vector<Value> items, const char* type);
  static Value broken_iterator(std::string error);  // a generator that raises `error` when iterated
  static Value dict(DictObj d);
  static Value func(std::string name, std::function<Value(Interpreter&, Args&)> fn);
  static Value ns(DictObj attrs);
  static Value from_json(const nlohmann::ordered_json& j);
  // markupsafe.Markup (the `safe` filter): adding a plain string to it HTML-escapes that string.
  static Value markup(std::string s) { Value r(std::move(s)); r.markup_ = true; return r; }
  bool is_markup() const { return markup_; }

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_undefined() const { return kind() == Kind::Undefined; }
  bool is_none() const { return kind() == Kind::None; }
  bool is_bool() const { return kind() == Kind::Bool; }
  bool is_int() const { return kind() == Kind::Int; }
  bool is_float() const { return kind() == Kind::Float; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind() == Kind::String; }
  bool is_list() const { return kind() == Kind::List; }
  bool is_plain_list() const { return is_list() && list().plain(); }  // list or tuple
  bool is_dict() const { return kind() == Kind::Dict; }
  bool is_func() const { return kind() == Kind::Func; }
  bool is_namespace() const { return kind() == Kind::Namespace; }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const;     // int or bool
  double as_double() const;   // any number
  const std::string& str() const { return std::get<std::string>(v_); }
  const ListObj& list() const { return *std::get<std::shared_ptr<ListObj>>(v_); }
  const DictObj& dict() const { return *std::get<std::shared_ptr<DictObj>>(v_); }
  const FuncObj& func() const { return *std::get<std::shared_ptr<FuncObj>>(v_); }
  NamespaceObj& ns() const { return *std::get<std::shared_ptr<NamespaceObj>>(v_); }
  const std::string& undefined_hint() const { return std::get<Undef>(v_).hint; }

  bool truthy() const;
  int depth() const;  // 0 for scalars, 1 + the deepest item for lists and dicts
  std::string to_str() const;   // Python str(); undefined is ""
  std::string repr() const;     // Python repr(), as str() of a container prints its items
  std::string type_name() const;  // Python's type name, for error messages

  // Python ==; ints, floats and bools compare by value.
  friend bool operator==(const Value& a, const Value& b);

 private:
  std::variant<Undef, std::nullptr_t, bool, int64_t, double, std::string, std::shared_ptr<ListObj>,
               std::shared_ptr<DictObj>, std::shared_ptr<FuncObj>, std::shared_ptr<NamespaceObj>>
      v_;
  bool markup_ = false;
};

// Positional and keyword arguments of a call.
struct Args {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
  int line = 0;
  // The argument named `name` or at position `index`, or undefined; marks keywords used.
  const Value& get(size_t index, std::string_view name) const;
  bool has(size_t index, std::string_view name) const;
};

// 'text' (built by appending: GCC 12 warns falsely about "'" + std::string temporaries).
inline std::string quote(std::string_view s) {
  std::string r;
  r.reserve(s.size() + 2);
  r += '\'';
  r += s;
  r += '\'';
  return r;
}

// markupsafe.escape: & < > " ' as HTML entities.
std::string html_escape(const std::string& s);

// Python's float repr: shortest round-trip digits, "1.0", "1e-05", "inf".
std::string float_repr(double d);
// Python's < for values of the same kind; throws for unorderable kinds.
bool less_than(const Value& a, const Value& b);

// json.dumps(x, ensure_ascii, indent, separators, sort_keys) exactly as Python prints it.
struct JsonOptions {
  bool ensure_ascii = false;
  int indent = -1;  // < 0: none
  std::string indent_str;
  bool has_separators = false;
  std::string item_sep, key_sep;
  bool sort_keys = false;
};
std::string to_json(const Value& v, const JsonOptions& opt);

}  // namespace lp::chat
